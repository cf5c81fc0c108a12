#include "engine/drill_job.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "coffer/error.h"
#include "coffer/human_bytes.h"
#include "engine/database_restore.h"
#include "engine/restore_job.h"
#include "repo/tree_stream.h"
#include "source/files/restored_tree_check.h"
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

class Drill {
 public:
  Drill(Repository& repo, const BackupConfig& config, const DrillOptions& options,
        const std::function<void(const std::string&)>& warn, const std::function<void(const Progress&)>& on_progress,
        DrillResult& result)
      : repo_(repo), config_(config), options_(options), warn_(warn), on_progress_(on_progress), r_(result) {}

  void database(const Manifest& manifest, const std::vector<pg::Probe>& probes) {
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
      restored = restore_database(repo_, manifest, config_, ro, warn_, on_progress_, {}, &scratch);
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
    std::vector<std::string> differ;
    for (const RowCountMismatch& m : restored.row_count_mismatches)
      differ.push_back(m.table + ": " + std::to_string(m.actual) + " rows, " + std::to_string(m.expected) +
                       " at backup time");
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
  void add(const std::string& part, const std::string& name, const std::string& status, const std::string& detail) {
    r_.checks.push_back({part, name, status, detail});
  }

  // The checks inside the scratch database, run before the restore's own result is known: they
  // wait in checks_ and go into the record after it (take_checks).
  void inspect(const pg::Connection& conn, const std::string& db, const std::vector<pg::Probe>& probes) {
    failpoint("drill-database-restored");  // tests: a drill killed with its scratch database in place
    pg::Session session(conn, db);
    report("database: reading every row of " + db);
    std::vector<std::string> unreadable;
    uint64_t bytes = 0;
    for (const pg::TableRead& t : pg::read_every_row(session)) {
      ++r_.tables;
      r_.rows += t.table.rows;
      bytes += t.bytes;
      if (!t.error.empty()) unreadable.push_back(t.table.schema + "." + t.table.name + ": " + t.error);
    }
    checks_.push_back(unreadable.empty()
                          ? DrillCheck{"database", "read through", "passed",
                                       std::to_string(r_.tables) + " tables, " + std::to_string(r_.rows) + " rows, " +
                                           human_bytes(bytes) + " read to the end (every row, every column)"}
                          : DrillCheck{"database", "read through", "failed", listed(unreadable)});
    report("database: checking btree indexes (amcheck)");
    pg::IndexCheck indexes = pg::check_btree_indexes(session);
    r_.indexes = indexes.checked;
    if (!indexes.available)
      checks_.push_back({"database", "btree indexes", "skipped",
                         "amcheck (PostgreSQL's contrib) cannot be created in the scratch database: " +
                             indexes.why_unavailable});
    else if (indexes.failures.empty())
      checks_.push_back({"database", "btree indexes", "passed",
                         std::to_string(indexes.checked) + " btree indexes consistent with their tables "
                                                           "(amcheck's bt_index_check, heapallindexed)"});
    else
      checks_.push_back({"database", "btree indexes", "failed", listed(indexes.failures)});
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
};

}  // namespace

DrillResult run_drill(Repository& repo, const std::string& backup_id, const BackupConfig& config,
                      const DrillOptions& options, const std::function<void(const std::string&)>& warn,
                      const std::function<void(const Progress&)>& on_progress) {
  const Clock::time_point started = Clock::now();
  DrillResult r;
  r.backup_id = backup_id;
  std::vector<pg::Probe> probes = load_probes(config.drill_sql);  // a bad file fails before anything is restored
  // What killed drills (and restores) left in TMPDIR goes first; their scratch databases go when
  // the database part starts (RestoreTarget).
  if (SweepResult swept = remove_abandoned_temps(); swept.removed > 0) {
    r.warnings.push_back("removed " + std::to_string(swept.removed) + " scratch item(s) (" + human_bytes(swept.bytes) +
                         ") that a killed drill or restore left in " + std::filesystem::temp_directory_path().string());
    if (warn) warn(r.warnings.back());
  }
  Manifest manifest = repo.read_manifest(backup_id);
  Drill drill(repo, config, options, warn, on_progress, r);
  if (manifest.database) {
    drill.database(manifest, probes);
  } else if (manifest.physical) {
    r.checks.push_back({"database", "restore", "skipped",
                        "a physical backup (DB_BACKUP_MODE=physical): drills restore logical backups only so far; "
                        "prove it with `coffer restore " + backup_id + " --to-time ...` into a scratch data folder"});
  }
  if (manifest.info.has_files && !manifest.roots.empty()) drill.files(manifest);
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
