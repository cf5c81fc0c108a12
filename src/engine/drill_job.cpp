#include "engine/drill_job.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <future>
#include <mutex>
#include <map>
#include <optional>
#include <thread>
#include <unistd.h>
#include <sstream>

#include "coffer/error.h"
#include "coffer/human_bytes.h"
#include "engine/database_restore.h"
#include "engine/physical_restore.h"
#include "engine/restore_job.h"
#include "repo/tree_stream.h"
#include "source/files/restored_tree_check.h"
#include "source/postgres/physical/scratch_server.h"
#include "source/postgres/pg_tools.h"
#include "source/postgres/restored_checks.h"
#include "util/disk_space.h"
#include "util/failpoint.h"
#include "util/held_temp.h"

namespace coffer {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string seconds_text(double s) {
  std::ostringstream out;
  out.precision(s < 10 ? 2 : 1);
  out << std::fixed << s << " s";
  return out.str();
}

// At most `max` items, then how many more.
std::string listed(const std::vector<std::string>& items, size_t max = 5) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) out += (i ? "; " : "") + items[i];
  if (items.size() > max) out += "; and " + std::to_string(items.size() - max) + " more";
  return out;
}

std::vector<pg::Probe> load_probes(const std::filesystem::path& file) {
  if (file.empty()) return {};
  std::ifstream in(file, std::ios::binary);
  if (!in.is_open())
    fail(ErrorCategory::kConfig, "DRILL_SQL file " + file.string() + " does not exist or cannot be opened: set "
                                 "DRILL_SQL to a readable file of queries that must each return true, or unset it");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    fail(ErrorCategory::kConfig, "DRILL_SQL file " + file.string() + " cannot be read: set DRILL_SQL to a readable "
                                 "file of queries that must each return true, or unset it");
  return pg::parse_probes(text, file.string());
}

// The scratch server's socket folder (0700): in the scratch folder when the socket's path fits
// the kernel's 107 bytes, else a short one in /tmp, named in the scratch folder's "socket_dir"
// file so that the sweep of a killed drill's folder removes it too.
class SocketDir {
 public:
  explicit SocketDir(const std::string& scratch) {
    namespace fs = std::filesystem;
    path_ = scratch + "/socket";
    if (path_.size() + std::string("/.s.PGSQL.65535").size() > 107) {
      std::string made = "/tmp/coffer-sock-XXXXXX";
      if (::mkdtemp(made.data()) == nullptr)
        fail(ErrorCategory::kStorage, "cannot create a socket folder for the drill's server in /tmp: " +
                                          std::string(std::strerror(errno)));
      path_ = made;
      short_ = true;
      std::ofstream(scratch + "/socket_dir") << path_;
    } else {
      fs::create_directory(path_);
    }
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::replace);
  }
  ~SocketDir() {
    std::error_code ec;
    if (short_) std::filesystem::remove_all(path_, ec);
  }
  SocketDir(const SocketDir&) = delete;
  SocketDir& operator=(const SocketDir&) = delete;
  const std::string& path() const { return path_; }

  // Removes the short socket folder a killed drill's scratch folder names, if any.
  static void remove_named_in(const std::string& scratch) {
    std::ifstream in(scratch + "/socket_dir");
    std::string named;
    std::getline(in, named);
    std::error_code ec;
    if (named.rfind("/tmp/coffer-sock-", 0) == 0 && named.find("..") == std::string::npos)
      std::filesystem::remove_all(named, ec);
  }

 private:
  std::string path_;
  bool short_ = false;
};

class Drill {
 public:
  Drill(Repository& repo, const BackupConfig& config, const DrillOptions& options,
        const std::function<void(const std::string&)>& warn, const std::function<void(const Progress&)>& on_progress,
        DrillResult& result)
      : repo_(repo), config_(config), options_(options), warn_(warn), on_progress_(on_progress), r_(result) {}

  // The physical part: restored into a scratch data folder, recovered to its consistent point by
  // a throwaway server, checked database by database, then stopped and removed.
  void physical(const Manifest& manifest, const std::vector<pg::Probe>& probes, const std::string& wal_fetch) {
    const PhysicalPart& part = *manifest.physical;
    if (::geteuid() == 0) {
      add("database", "restore", "failed",
          "a drill of a physical backup starts PostgreSQL on the restored folder, which PostgreSQL refuses to do "
          "as root: run `coffer drill` as the cluster's owner (e.g. sudo -u postgres)");
      return;
    }
    const Clock::time_point started = Clock::now();
    const std::string bin = pg::physical::server_bin_dir(pg::major_of(part.info.server_version_num));
    require_free_space(std::filesystem::temp_directory_path(), part.info.data_bytes + (256u << 20),
                       "a drill of a physical backup (it restores the data folder there)",
                       "set TMPDIR to a folder with room");
    HeldTempDir scratch;  // the data folder, tablespaces, socket and log; removed on return
    r_.scratch_dir = scratch.path();
    const std::string pgdata = scratch.path() + "/pgdata";
    PhysicalRestoreRequest request;
    request.backup_id = manifest.info.backup_id;
    request.options.pgdata = pgdata;
    request.options.immediate = true;  // the backup itself, as it was when it ended
    request.options.target_action = "promote";
    for (const PhysicalPart::Tablespace& t : part.tablespaces)
      request.options.tablespaces.emplace_back(t.oid, scratch.path() + "/tblspc-" + t.oid);
    request.target = recovery_target_of(request.options);
    request.restore_command = wal_fetch;
    try {
      restore_physical(repo_, request, on_progress_, warn_);
    } catch (const Error& e) {
      r_.database_restore_seconds = seconds_since(started);
      add("database", "restore", "failed", e.what());
      return;
    }
    SocketDir sockets(scratch.path());
    const std::string& socket_dir = sockets.path();
    std::optional<pg::physical::ScratchServer> server;
    try {
      report("database: starting the restored cluster and recovering to the backup's end");
      server.emplace(pg::physical::ScratchServerOptions{bin, pgdata, socket_dir, scratch.path() + "/server.log",
                                                        pg::physical::free_local_port()});
      failpoint("drill-server-started");  // tests: a drill killed with its server running
      BackupConfig local = config_;
      local.db_host = socket_dir;
      local.db_port = server->options().port;
      local.db_password.reset();  // the scratch server trusts its private socket
      if (local.db_user.empty()) local.db_user = "postgres";
      local.db_name = "postgres";
      pg::Connection conn(local);
      wait_promoted(conn, *server);
      r_.database_restore_seconds = seconds_since(started);
      add("database", "restore", "passed",
          "data folder written and recovered to the backup's end (" + part.info.stop_lsn + ") by PostgreSQL " +
              part.info.server_version + " on a scratch server in " + seconds_text(r_.database_restore_seconds));
      const Clock::time_point checks_started = Clock::now();
      inspect_cluster(conn, probes);
      r_.database_check_seconds = seconds_since(checks_started);
    } catch (const Error& e) {
      if (r_.database_restore_seconds == 0) r_.database_restore_seconds = seconds_since(started);
      add("database", "restore", "failed",
          e.what() + (server ? "; the server's log ends: " + server->log_tail() : std::string()));
    }
  }


  // `target_accepted` runs once the scratch database is created (bad input is refused before).
  void database(const Manifest& manifest, const std::vector<pg::Probe>& probes,
                const std::function<void()>& target_accepted) {
    const Clock::time_point started = Clock::now();
    std::optional<Clock::time_point> checks_started;  // set once the restore is done
    ScratchRestore scratch{options_.scratch_db, [&](const pg::Connection& conn, const std::string& db) {
                             r_.database_restore_seconds = seconds_since(started);
                             checks_started = Clock::now();
                             r_.scratch_db = db;
                             inspect(conn, db, probes);
                           }};
    RestoreOptions ro;
    ro.scope = BackupScope::kDatabase;
    ro.jobs = options_.jobs;
    DatabaseRestoreResult restored;
    try {
      restored = restore_database(repo_, manifest, config_, ro, warn_, on_progress_, target_accepted, &scratch);
    } catch (const Error& e) {
      if (e.category() == ErrorCategory::kInput || e.category() == ErrorCategory::kConfig) throw;  // bad input: no drill
      if (!checks_started) {
        r_.database_restore_seconds = seconds_since(started);
        add("database", "restore", "failed", e.what());
        return;
      }
      r_.database_check_seconds = seconds_since(*checks_started);
      add("database", "restore", "passed", "restored into " + r_.scratch_db + " in " + seconds_text(r_.database_restore_seconds));
      take_checks();
      add("database", "checks", "failed", std::string("the checks in the scratch database broke off: ") + e.what());
      return;
    }
    r_.database_check_seconds = checks_started ? seconds_since(*checks_started) : 0;
    r_.warnings.insert(r_.warnings.end(), restored.warnings.begin(), restored.warnings.end());
    add("database", "restore", "passed",
        std::to_string(restored.tables_restored) + " tables restored into " + restored.dbname + " in " +
            seconds_text(r_.database_restore_seconds));
    // The rows the read through counted, against those counted in the dump's snapshot.
    std::vector<std::string> differ;
    for (const TableRows& t : manifest.database->info.tables) {
      const std::string name = t.schema + "." + t.name;
      auto read = rows_read_.find(name);
      if (read == rows_read_.end())
        differ.push_back(name + ": missing from the restored database");
      else if (!read->second)
        differ.push_back(name + ": not counted, it could not be read (see read through)");
      else if (*read->second != t.rows)
        differ.push_back(name + ": " + std::to_string(*read->second) + " rows, " + std::to_string(t.rows) +
                         " at backup time");
    }
    if (differ.empty())
      add("database", "row counts", "passed", std::to_string(restored.tables_restored) + " tables as recorded at backup time");
    else
      add("database", "row counts", "failed", listed(differ));
    take_checks();
  }

  void files(const Manifest& manifest) {
    const std::string& id = manifest.info.backup_id;
    const Clock::time_point started = Clock::now();
    require_free_space(std::filesystem::temp_directory_path(), manifest.info.size_bytes + (64u << 20),
                       "a drill (it restores the backup's files into a scratch folder there)",
                       "set TMPDIR to a folder with room");
    HeldTempDir scratch;  // removed on return, or by the next drill's sweep when this one is killed
    r_.scratch_dir = scratch.path();
    RestoreJobOptions ro;
    ro.restore.scope = BackupScope::kFiles;
    ro.restore.target = scratch.path();
    ro.on_progress = on_progress_;
    RestoreResult restored;
    try {
      restored = run_restore(repo_, id, ro);
    } catch (const Error& e) {
      r_.files_restore_seconds = seconds_since(started);
      add("files", "restore", "failed", e.what());
      return;
    }
    r_.files_restore_seconds = seconds_since(started);
    add("files", "restore", "passed",
        std::to_string(restored.files_restored) + " files (" + human_bytes(restored.bytes_restored) +
            ") restored into " + scratch.path() + " in " + seconds_text(r_.files_restore_seconds));
    failpoint("drill-files-restored");  // tests: a drill killed with its scratch folder in place
    const Clock::time_point check_started = Clock::now();
    if (on_progress_) on_progress_(Progress{"files: reading back " + std::to_string(restored.files_restored) + " files", 0, 0, 0, 0});
    std::vector<files::FileEntry> tree = read_tree(repo_, manifest.tree, id);
    files::TreeCheck check = files::check_restored_tree(
        scratch.path(), tree, [this](ByteView data) { return repo_.sealer().chunk_id(data); });
    r_.files = check.files;
    r_.bytes = check.bytes;
    if (check.problems.empty()) {
      add("files", "file contents", "passed",
          std::to_string(check.files) + " files (" + human_bytes(check.bytes) + ") read back equal to the backup's "
          "record, chunk by chunk; " + std::to_string(check.entries - check.files) + " folders and links as recorded");
    } else {
      std::string detail = listed(check.problems);
      if (check.more_problems > 0) detail += "; and " + std::to_string(check.more_problems) + " more";
      add("files", "file contents", "failed", detail);
    }
    r_.files_check_seconds = seconds_since(check_started);
  }

 private:
  // Waits until the scratch server has left recovery (promoted at the backup's consistent point).
  void wait_promoted(const pg::Connection& conn, const pg::physical::ScratchServer& server) {
    for (int i = 0; i < 36000; ++i) {  // an hour at most, as the start
      {
        pg::Session s(conn, "postgres");
        if (s.query_value("SELECT pg_is_in_recovery()") == "f") return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fail(ErrorCategory::kDatabase, "the drill's server did not finish recovery within an hour; its log ends: " +
                                       server.log_tail());
  }

  // Every database of a restored cluster read through and index-checked; the probes in DB_NAME
  // (postgres when unset or absent). A physical backup records no row counts: read through counts.
  void inspect_cluster(const pg::Connection& conn, const std::vector<pg::Probe>& probes) {
    std::vector<std::string> databases;
    {
      pg::Session admin(conn, "postgres");
      for (const auto& row : admin.query_rows("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn "
                                               "AND NOT datistemplate ORDER BY datname"))
        databases.push_back(row[0]);
    }
    Findings found;
    for (const std::string& db : databases) check_one_database(conn, db, true, found);
    finding_checks(found, databases.size());
    if (!probes.empty()) {
      const bool has_db = std::find(databases.begin(), databases.end(), config_.db_name) != databases.end();
      pg::Session session(conn, has_db ? config_.db_name : "postgres");
      probe_checks(session, probes);
    }
    take_checks();
  }

  // What the read-through and index checks of one or more databases found.
  struct Findings {
    bool heapallindexed = true;
    std::vector<std::string> unreadable, index_failures, no_amcheck;
    uint64_t bytes = 0;
  };

  // Reads every row of `db` and checks its btree indexes, over `jobs` sessions; problems are
  // prefixed with the database's name when `label`.
  // heapallindexed: a physical backup's indexes are pages from the backup, checked against their
  // tables (a collation that changed under them shows here); a logical restore's were just built
  // by CREATE INDEX from the rows the read through reads, so their structure is checked only
  // (measured at school scale 1: 0.29 s against 1.88 s).
  void check_one_database(const pg::Connection& conn, const std::string& db, bool label, Findings& found) {
    report("database: reading every row and checking the btree indexes of " + db);
    const pg::DatabaseCheck c = pg::check_database(conn, db, options_.jobs, found.heapallindexed);
    const std::string prefix = label ? db + ": " : "";
    for (const pg::TableRead& t : c.tables) {
      ++r_.tables;
      r_.rows += t.table.rows;
      found.bytes += t.bytes;
      rows_read_[prefix + t.table.schema + "." + t.table.name] = t.error.empty() ? std::optional<uint64_t>(t.table.rows) : std::nullopt;
      if (!t.error.empty()) found.unreadable.push_back(prefix + t.table.schema + "." + t.table.name + ": " + t.error);
    }
    r_.indexes += c.indexes.checked;
    if (!c.indexes.available) found.no_amcheck.push_back(prefix + c.indexes.why_unavailable);
    for (const std::string& f : c.indexes.failures) found.index_failures.push_back(prefix + f);
  }

  // The read-through and index checks, into checks_.
  void finding_checks(const Findings& found, size_t databases) {
    const std::string where = databases == 1 ? "" : std::to_string(databases) + " databases, ";
    checks_.push_back(found.unreadable.empty()
                          ? DrillCheck{"database", "read through", "passed",
                                       where + std::to_string(r_.tables) + " tables, " + std::to_string(r_.rows) +
                                           " rows, " + human_bytes(found.bytes) +
                                           " read to the end (every row, every column)"}
                          : DrillCheck{"database", "read through", "failed", listed(found.unreadable)});
    if (!found.index_failures.empty())
      checks_.push_back({"database", "btree indexes", "failed", listed(found.index_failures)});
    else if (!found.no_amcheck.empty())
      checks_.push_back({"database", "btree indexes", "skipped",
                         "amcheck (PostgreSQL's contrib) cannot be created in the scratch database: " +
                             listed(found.no_amcheck)});
    else
      checks_.push_back({"database", "btree indexes", "passed",
                         found.heapallindexed
                             ? std::to_string(r_.indexes) + " btree indexes consistent with their tables (amcheck's "
                                                            "bt_index_check, heapallindexed)"
                             : std::to_string(r_.indexes) + " btree indexes built by the restore structurally sound "
                                                            "(amcheck's bt_index_check)"});
  }

  // Each probe as a check, into checks_.
  void probe_checks(pg::Session& session, const std::vector<pg::Probe>& probes) {
    for (size_t i = 0; i < probes.size(); ++i) {
      const pg::Probe& p = probes[i];
      report("database: probe " + std::to_string(i + 1) + " of " + std::to_string(probes.size()));
      std::string why = pg::run_probe(session, p);
      ++r_.probes;
      const std::string where = config_.drill_sql.string() + " line " + std::to_string(p.line) + ": " + p.sql;
      checks_.push_back({"database", "probe " + std::to_string(i + 1), why.empty() ? "passed" : "failed",
                         why.empty() ? where : where + ": " + why});
    }
  }

  void add(const std::string& part, const std::string& name, const std::string& status, const std::string& detail) {
    r_.checks.push_back({part, name, status, detail});
  }

  // The checks inside the scratch database, run before the restore's own result is known: they
  // wait in checks_ and go into the record after it (take_checks).
  void inspect(const pg::Connection& conn, const std::string& db, const std::vector<pg::Probe>& probes) {
    failpoint("drill-database-restored");  // tests: a drill killed with its scratch database in place
    Findings found;
    found.heapallindexed = false;  // indexes just built from the rows (check_one_database)
    check_one_database(conn, db, false, found);
    finding_checks(found, 1);
    if (probes.empty()) return;
    pg::Session session(conn, db);
    probe_checks(session, probes);
  }

  void take_checks() {
    r_.checks.insert(r_.checks.end(), checks_.begin(), checks_.end());
    checks_.clear();
  }

  void report(const std::string& phase) {
    if (on_progress_) on_progress_(Progress{phase, 0, 0, 0, 0});
  }

  Repository& repo_;
  const BackupConfig& config_;
  const DrillOptions& options_;
  const std::function<void(const std::string&)>& warn_;
  const std::function<void(const Progress&)>& on_progress_;
  DrillResult& r_;
  std::vector<DrillCheck> checks_;
  // "schema.table" (a physical drill's: "db: schema.table") -> rows read; nullopt: unreadable
  std::map<std::string, std::optional<uint64_t>> rows_read_;
};

}  // namespace

DrillResult run_drill(Repository& repo, const std::string& backup_id, const BackupConfig& config,
                      const DrillOptions& options, const std::string& wal_fetch,
                      const std::function<void(const std::string&)>& warn,
                      const std::function<void(const Progress&)>& on_progress) {
  const Clock::time_point started = Clock::now();
  DrillResult r;
  r.backup_id = backup_id;
  std::vector<pg::Probe> probes = load_probes(config.drill_sql);  // a bad file fails before anything is restored
  // What killed drills (and restores) left in TMPDIR goes first (a server still running on a
  // physical drill's folder is stopped before its folder goes); their scratch databases go when
  // the database part starts (RestoreTarget).
  for (const std::string& folder : abandoned_temps()) {
    if (std::filesystem::exists(folder + "/pgdata/postmaster.pid") && pg::physical::stop_abandoned_server(folder + "/pgdata")) {
      r.warnings.push_back("stopped the server that a killed drill left running on " + folder + "/pgdata");
      if (warn) warn(r.warnings.back());
    }
    SocketDir::remove_named_in(folder);
  }
  if (SweepResult swept = remove_abandoned_temps(); swept.removed > 0) {
    r.warnings.push_back("removed " + std::to_string(swept.removed) + " scratch item(s) (" + human_bytes(swept.bytes) +
                         ") that a killed drill or restore left in " + std::filesystem::temp_directory_path().string());
    if (warn) warn(r.warnings.back());
  }
  Manifest manifest = repo.read_manifest(backup_id);
  // The files part runs beside the database part, as `restore --type full` does (the recovery
  // time of a real failure), from when the database's scratch target is accepted; each part keeps
  // its own record, and the callbacks are called one at a time.
  std::mutex mu;
  const std::function<void(const std::string&)> warn_one = [&](const std::string& w) {
    std::lock_guard<std::mutex> lock(mu);
    if (warn) warn(w);
  };
  std::function<void(const Progress&)> progress_one;
  if (on_progress)
    progress_one = [&](const Progress& p) {
      std::lock_guard<std::mutex> lock(mu);
      on_progress(p);
    };
  DrillResult files_part;
  Drill drill(repo, config, options, warn_one, progress_one, r);
  Drill files_drill(repo, config, options, warn_one, progress_one, files_part);
  std::future<void> files;
  auto start_files = [&] {
    if (manifest.info.has_files && !manifest.roots.empty() && !files.valid())
      files = std::async(std::launch::async, [&] { files_drill.files(manifest); });
  };
  try {
    if (manifest.database) {
      drill.database(manifest, probes, start_files);
    } else {
      start_files();
      if (manifest.physical) drill.physical(manifest, probes, wal_fetch);
    }
    start_files();  // the database part gave up before its target was accepted
  } catch (...) {
    if (files.valid()) files.wait();  // a refusal of the database part: the files part ends first
    throw;
  }
  if (files.valid()) files.get();
  r.checks.insert(r.checks.end(), files_part.checks.begin(), files_part.checks.end());
  r.warnings.insert(r.warnings.end(), files_part.warnings.begin(), files_part.warnings.end());
  if (!files_part.scratch_dir.empty()) r.scratch_dir = files_part.scratch_dir;
  r.files_restore_seconds = files_part.files_restore_seconds;
  r.files_check_seconds = files_part.files_check_seconds;
  r.files = files_part.files;
  r.bytes = files_part.bytes;
  bool restored = false, failed = false;
  for (const DrillCheck& c : r.checks) {
    failed = failed || c.status == "failed";
    restored = restored || (c.name == "restore" && c.status == "passed");
  }
  r.passed = restored && !failed;
  if (r.checks.empty())
    r.checks.push_back({"", "restore", "failed", "backup " + backup_id + " holds neither a logical database nor files"});
  r.duration_seconds = seconds_since(started);
  return r;
}

}  // namespace coffer
