#include "source/postgres/physical/backup_session.h"

#include "coffer/error.h"
#include "source/postgres/physical/backup_privileges.h"
#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::physical {
namespace {

uint64_t lsn_of(const std::string& text, const char* what) {
  std::optional<uint64_t> lsn = wal::parse_lsn(text);
  if (!lsn) fail(ErrorCategory::kDatabase, std::string("the server gave an unreadable ") + what + " '" + text + "'");
  return *lsn;
}

constexpr const char* kUtcNow = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

}  // namespace

BackupSession::BackupSession(const Connection& conn, bool needs_data_directory) : session_(conn, "postgres") {
  version_ = session_.server_version_num();
  if (version_ < 130000)
    fail(ErrorCategory::kDatabase, "physical backups need PostgreSQL 13 or newer; this server is " +
                                       session_.server_version() + " (use DB_BACKUP_MODE=logical)");
  const std::string wal_level = session_.query_value("SHOW wal_level");
  if (wal_level != "replica" && wal_level != "logical")
    fail(ErrorCategory::kConfig, "the server has wal_level = " + wal_level +
                                     ": a physical backup needs wal_level = replica (postgresql.conf), then a restart");
  const std::string archive_mode = session_.query_value("SHOW archive_mode");
  if (archive_mode != "on" && archive_mode != "always")
    fail(ErrorCategory::kConfig, "the server has archive_mode = " + archive_mode +
                                     ": a physical backup needs the WAL archived. Set archive_mode = on and "
                                     "archive_command = 'coffer wal-push %p' in postgresql.conf, then restart");
  std::string checks;
  const std::vector<Privilege> needed = backup_privileges(version_, needs_data_directory);
  for (const Privilege& p : needed) checks += (checks.empty() ? "" : ", ") + p.check + "::text";
  const std::vector<std::string> has = session_.query_rows("SELECT current_user::text, " + checks)[0];
  std::vector<Privilege> missing;
  for (size_t i = 0; i < needed.size(); ++i)
    if (has[i + 1] != "true") missing.push_back(needed[i]);
  if (!missing.empty()) fail(ErrorCategory::kConfig, missing_privileges_message(has[0], missing));
}

BackupStart BackupSession::start(const std::string& label, bool fast) {
  BackupStart s;
  auto settings = session_.query_rows(
      "SELECT CASE WHEN pg_has_role('pg_read_all_settings', 'USAGE') THEN current_setting('data_directory') ELSE '' END, "
      "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), "
      "current_setting('data_checksums'), (SELECT system_identifier::text FROM pg_control_system())");
  s.data_directory = settings[0][0];
  s.wal_segment_bytes = std::stoull(settings[0][1]);
  s.data_checksums = settings[0][2] == "on";
  s.system_identifier = std::stoull(settings[0][3]);
  for (const auto& row : session_.query_rows("SELECT oid::text, pg_tablespace_location(oid) FROM pg_tablespace "
                                             "WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid"))
    s.tablespaces.push_back({row[0], row[1]});
  const std::string call = version_ >= 150000 ? "pg_backup_start($1, $2::boolean)" : "pg_start_backup($1, $2::boolean, false)";
  auto rows = session_.query_rows("SELECT lsn::text, pg_walfile_name(lsn), " + std::string(kUtcNow) +
                                      " FROM " + call + " AS lsn",
                                  {label, fast ? "true" : "false"});
  started_ = true;
  s.lsn = lsn_of(rows[0][0], "backup start LSN");
  s.wal_file = rows[0][1];
  s.time = rows[0][2];
  std::optional<wal::FileName> f = wal::parse_file_name(s.wal_file);
  if (!f) fail(ErrorCategory::kDatabase, "the server named an unreadable WAL file '" + s.wal_file + "'");
  s.timeline = f->timeline;
  return s;
}

BackupStop BackupSession::stop() {
  if (!started_) fail(ErrorCategory::kInternal, "pg_backup_stop without pg_backup_start");
  const std::string call = version_ >= 150000 ? "pg_backup_stop(false)" : "pg_stop_backup(false, false)";
  auto rows = session_.query_rows("SELECT s.lsn::text, pg_walfile_name(s.lsn), s.labelfile, coalesce(s.spcmapfile, ''), " +
                                  std::string(kUtcNow) + " FROM " + call + " AS s");
  started_ = false;
  BackupStop b;
  b.lsn = lsn_of(rows[0][0], "backup stop LSN");
  b.wal_file = rows[0][1];
  b.backup_label = rows[0][2];
  b.tablespace_map = rows[0][3];
  b.time = rows[0][4];
  return b;
}

void BackupSession::switch_wal() { session_.execute("SELECT pg_switch_wal()"); }

std::string BackupSession::last_archived_wal() {
  return session_.query_value("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
}

}  // namespace coffer::pg::physical
