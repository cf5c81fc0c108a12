#include "engine/database_restore.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "coffer/error.h"
#include "engine/restore_target.h"
#include "engine/row_count_check.h"
#include "repo/tree_stream.h"
#include "source/postgres/dump_directory.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_restore_runner.h"
#include "source/postgres/pg_tools.h"
#include "source/postgres/staged_dump.h"
#include "util/disk_space.h"
#include "util/held_temp.h"
#include "util/progress_ticker.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

// Seconds since `start`, for the phase timings logged at -v.
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string qualified(const std::string& schema, const std::string& name) { return schema + "." + name; }

// "t" matches public.t (or a unique t in another schema); "s.t" matches exactly.
std::vector<TableRows> select_tables(const std::vector<TableRows>& recorded, const std::vector<std::string>& wanted,
                                     const std::string& backup_id) {
  if (wanted.empty()) return recorded;
  std::vector<TableRows> out;
  for (const std::string& w : wanted) {
    std::vector<TableRows> hits;
    for (const TableRows& t : recorded) {
      if (w == qualified(t.schema, t.name) || (w == t.name && w.find('.') == std::string::npos)) hits.push_back(t);
    }
    if (hits.size() > 1) {
      auto pub = std::find_if(hits.begin(), hits.end(), [](const TableRows& t) { return t.schema == "public"; });
      if (pub == hits.end())
        fail(ErrorCategory::kInput, "--table " + w + " is ambiguous in backup " + backup_id + ": name the schema (schema." + w + ")");
      hits = {*pub};
    }
    if (hits.empty()) fail(ErrorCategory::kNotFound, "backup " + backup_id + " has no table '" + w + "' (see `coffer list --json`)");
    out.push_back(hits.front());
  }
  return out;
}

// Checks the restored row counts against the counts taken in the dump's snapshot. The server
// counted what each COPY inserted; where that is the dump's count the table needs no scan
// (count(*) on every table would read the whole database again). Anything else (statistics
// off, not yet flushed by pg_restore's sessions, a real shortfall) is decided by count(*). The
// session ends on return: a scratch database can be renamed only when nobody is connected.
RowCountCheck check_restored_rows(const pg::Connection& conn, const std::string& db,
                                  const std::vector<TableRows>& tables) {
  pg::Session check(conn, db);
  std::map<std::string, uint64_t> inserted;
  for (const pg::TableInfo& t : check.tables_with_inserted_rows()) inserted[qualified(t.schema, t.name)] = t.rows;
  std::map<std::string, pg::TableInfo> present;
  for (const pg::TableInfo& t : check.user_tables()) present[qualified(t.schema, t.name)] = t;
  return check_row_counts(tables, inserted, [&](const TableRows& t) -> std::optional<uint64_t> {
    auto it = present.find(qualified(t.schema, t.name));
    if (it == present.end()) return std::nullopt;
    return check.count_rows(it->second);
  });
}

// "-j2", or "--single-transaction" (one job).
std::string jobs_label(const pg::RestoreRequest& r) {
  return r.single_transaction ? "--single-transaction" : "-j" + std::to_string(r.jobs);
}

// pg_restore -j reads a directory archive served from the repository as it goes; older backups
// (or a dump that cannot be served so) are staged whole in TMPDIR first: null then. What goes
// to TMPDIR has its room checked before anything is created, not found missing halfway through
// (64 MiB to spare).
std::unique_ptr<pg::DumpDirectory> plan_served_dump(Repository& repo, const DatabasePart& part,
                                                    const std::vector<ChunkRef>& dump) {
  std::string why_staged;
  std::unique_ptr<pg::DumpDirectory> served;
  if (const char* v = std::getenv("COFFER_RESTORE_STAGED"); v && *v && std::string(v) != "0")
    why_staged = "COFFER_RESTORE_STAGED is set";
  else
    served = pg::DumpDirectory::plan(repo, part, dump, &why_staged);
  if (!served) spdlog::debug("database restore: the whole dump is staged: {}", why_staged);
  if (!served)
    require_free_space(fs::temp_directory_path(), part.info.dump_bytes + (64u << 20),
                       "restoring the database (pg_restore -j reads a staged copy of the dump)",
                       "set TMPDIR to a folder with room");
  else if (served->staged_bytes() > 0)
    require_free_space(fs::temp_directory_path(), served->staged_bytes() + (64u << 20),
                       "restoring the database (its large objects are written out for pg_restore)",
                       "set TMPDIR to a folder with room");
  return served;
}

using Report = std::function<void(const std::string& phase, uint64_t done, uint64_t total)>;

// Runs pg_restore on the served dump (in this thread), showing how much of the dump it has read
// meanwhile: all of it in a `whole` restore; --table reads part, so no total then.
void restore_served(pg::DumpDirectory& served, const pg::Tools& tools, const pg::Connection& conn,
                    pg::RestoreRequest request, const std::string& dbname, bool whole, const Report& report,
                    bool show_progress) {
  const auto phase = std::chrono::steady_clock::now();
  // A pipe that cannot be filled stops pg_restore (pg::DumpDirectory::guard_reader); the pipe's
  // error, not pg_restore's, is then reported.
  request.on_start = [&](pid_t pid) { served.guard_reader(pid); };
  served.open([&](uint64_t done, uint64_t total) { report("database: writing out large objects", done, total); });
  spdlog::debug("database restore: {} tables served through pipes, {} bytes staged in {:.2f} s", served.pipes(),
                served.staged_bytes(), seconds_since(phase));
  request.archive_path = served.path();
  const std::string what = "database: pg_restore " + jobs_label(request) + " into " + dbname;
  report(what, 0, 0);
  const uint64_t total = whole ? served.data_bytes() : 0;
  auto tick = [&] {
    const uint64_t read = served.bytes_read();
    if (total > 0 && read >= total)
      report(what + ": data loaded, building indexes and constraints", 0, 0);  // the rest of pg_restore's work
    else
      report(what, read, total);
  };
  ProgressTicker ticker(show_progress ? std::function<void()>(tick) : std::function<void()>());
  try {
    pg::run_pg_restore(tools, conn, request);
  } catch (const Error&) {
    ticker.stop();
    served.finish();  // a pipe that failed is the cause: its error, not pg_restore's
    throw;
  }
  ticker.stop();
  served.finish();
}

}  // namespace

DatabaseRestoreResult restore_database(Repository& repo, const Manifest& manifest, const BackupConfig& config,
                                       const RestoreOptions& asked,
                                       const std::function<void(const std::string&)>& warn,
                                       const std::function<void(const Progress&)>& on_progress,
                                       const std::function<void()>& on_checked, const ScratchRestore* scratch) {
  RestoreOptions options = asked;
  if (scratch) {  // a drill restores the whole database into its scratch one
    options.tables.clear();
    options.clean = false;
    options.target_db.reset();
  }
  auto report = [&](const std::string& phase, uint64_t done = 0, uint64_t total = 0) {
    if (on_progress) on_progress(Progress{phase, 0, 0, done, total});
  };
  const std::string& backup_id = manifest.info.backup_id;
  if (!manifest.database) fail(ErrorCategory::kNotFound, "backup " + backup_id + " holds no database");
  const DatabasePart& part = *manifest.database;
  std::vector<TableRows> tables = select_tables(part.info.tables, options.tables, backup_id);
  std::vector<ChunkRef> dump =
      read_ref_list(repo, part.dump_list, part.info.dump_bytes, "database dump of backup " + backup_id);
  // What killed restores left in TMPDIR goes first (it may be a whole dump, and room is checked
  // below).
  std::string swept;
  if (SweepResult r = remove_abandoned_temps(); r.removed > 0)
    swept = "removed " + std::to_string(r.removed) + " temporary item(s) (" + std::to_string(r.bytes >> 20) +
            " MiB) that a killed restore left in " + fs::temp_directory_path().string();
  std::unique_ptr<pg::DumpDirectory> served = plan_served_dump(repo, part, dump);
  BackupConfig target_config = config;
  if (target_config.db_name.empty()) target_config.db_name = part.info.name;  // restore where it came from
  pg::Connection conn(target_config);
  std::string dbname = options.target_db.value_or(conn.db_name());

  DatabaseRestoreResult result;
  result.dbname = dbname;
  if (!swept.empty()) {
    result.warnings.push_back(swept);
    if (warn) warn(swept);
  }
  const auto started = std::chrono::steady_clock::now();
  int server_num;
  {
    pg::Session admin(conn, "postgres");
    server_num = admin.server_version_num();
  }
  auto warn_and_record = [&](const std::string& w) {
    result.warnings.push_back(w);
    if (warn) warn(w);
  };
  // Checks the target (refusals come here, before anything is written) and prepares where the
  // restore goes: a scratch database that takes the target's place only once it is checked.
  RestoreTarget::Request where{dbname, options.clean, !options.tables.empty(), backup_id};
  if (scratch) where = {dbname, false, false, backup_id, true, scratch->name};
  RestoreTarget target(conn, where, warn_and_record);
  result.method = target.method();
  if (scratch) result.dbname = target.restore_into();  // what the messages name
  // pg_restore -t takes the table alone (PostgreSQL's docs say so); say it rather than let a
  // restored table go without its keys, or an app's inserts fail on a dropped sequence.
  if (!options.tables.empty())
    warn_and_record(std::string("--table restores each table's definition and rows only (pg_restore -t): its "
                                "indexes, constraints, triggers, column defaults and owned sequences are not "
                                "restored") +
                    (options.clean && target.single_transaction()
                         ? "; --clean drops them with the table: to get them back, restore the whole backup into "
                           "another database (--target-db) and take them from there"
                         : ""));
  spdlog::debug("database restore into {}: {}", dbname, result.method);
  if (pg::major_of(server_num) < pg::major_of(part.info.server_version_num)) {
    std::string w = "restoring a dump of PostgreSQL " + part.info.server_version + " into an older server (" +
                    std::to_string(pg::major_of(server_num)) + "): this may fail or lose features";
    result.warnings.push_back(w);
    if (warn) warn(w);
  }
  pg::Tools tools = pg::find_tools(std::max(server_num, part.info.server_version_num));
  spdlog::debug("database restore: target database and tools ready in {:.2f} s", seconds_since(started));
  if (on_checked) on_checked();

  auto phase = std::chrono::steady_clock::now();
  RowCountCheck counts;
  try {
    pg::RestoreRequest request;
    request.dbname = target.restore_into();
    for (const TableRows& t : tables)
      if (!options.tables.empty()) request.tables.push_back(qualified(t.schema, t.name));
    request.clean = options.clean && target.single_transaction();  // a scratch database starts empty
    request.single_transaction = target.single_transaction();
    request.jobs = std::max(1, options.jobs);
    std::unique_ptr<HeldTempFile> archive;
    if (served) {
      restore_served(*served, tools, conn, request, result.dbname, options.tables.empty(), report, bool(on_progress));
    } else {
      archive = pg::stage_whole_dump(repo, dump, part.info.dump_bytes, report);
      spdlog::debug("database restore: dump of {} bytes staged in {:.2f} s", part.info.dump_bytes, seconds_since(phase));
      request.archive_path = archive->path();
      report("database: pg_restore " + jobs_label(request) + " into " + result.dbname);
      pg::run_pg_restore(tools, conn, request);
    }
    spdlog::debug("database restore: pg_restore took {:.2f} s", seconds_since(phase));
    phase = std::chrono::steady_clock::now();

    result.tables_restored = tables.size();
    if (scratch) {  // a drill reads every row anyway: it counts them there
      if (scratch->inspect) scratch->inspect(conn, target.restore_into());
      return result;  // the scratch database goes with `target`
    }
    report("database: checking the row counts of " + std::to_string(tables.size()) + " tables");
    counts = check_restored_rows(conn, target.restore_into(), tables);
    result.row_count_mismatches = counts.mismatches;
  } catch (const Error& e) {
    fail(e.category(), std::string(e.what()) + "; " + target.state_after_failure());
  }
  if (result.row_count_mismatches.empty()) {
    target.commit();
  } else if (std::string kept = target.keep_for_inspection(std::to_string(result.row_count_mismatches.size()) +
                                                           " table(s) have other row counts than at backup time");
             !kept.empty()) {
    result.kept_as = kept;
    warn_and_record("database " + dbname + " was left as it was: the restored copy's row counts differ from the "
                    "backup's, so it did not replace it; it is kept as database " + kept +
                    " for inspection (drop it when done)");
  }
  spdlog::debug("database restore: row counts of {} tables checked in {:.2f} s ({} by count(*))", tables.size(),
                seconds_since(phase), counts.scanned);
  return result;
}

}  // namespace coffer
