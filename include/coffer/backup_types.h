// Public value types of the coffer library API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace coffer {

enum class BackupType { kFull, kIncremental, kDifferential };

const char* backup_type_name(BackupType t);  // "full", "incremental", "differential"
std::optional<BackupType> backup_type_from_name(const std::string& name);

// Which parts a backup (or a restore) covers.
enum class BackupScope { kAll, kDatabase, kFiles };

struct TableRows {
  std::string schema;
  std::string name;
  uint64_t rows = 0;
};

// The database part of a backup.
struct DatabaseInfo {
  std::string name;               // DB_NAME at backup time
  std::string server_version;     // e.g. "15.18"
  int server_version_num = 0;     // e.g. 150018
  std::string pg_dump_version;    // e.g. "15.18"
  uint64_t size_bytes = 0;        // pg_database_size on the server
  uint64_t dump_bytes = 0;        // bytes of the pg_dump stream
  std::vector<TableRows> tables;  // exact row counts, from the dump's own snapshot
  double duration_seconds = 0;
  bool globals = false;           // roles and tablespaces (pg_dumpall --globals-only) included
};

// The physical database part of a backup (DB_BACKUP_MODE=physical): a base backup of the whole
// cluster, restorable to any moment from its stop on with the archived WAL (docs/pitr.md).
struct PhysicalInfo {
  std::string cluster;            // "<system identifier>-<major>": the WAL archive it needs
  std::string server_version;     // e.g. "15.18"
  int server_version_num = 0;
  uint32_t timeline = 0;
  std::string start_lsn, stop_lsn;  // e.g. "0/3000028"
  std::string start_wal, stop_wal;  // the segments holding them
  std::string start_time, stop_time;  // the server's clock, ISO 8601 UTC
  uint64_t wal_segment_bytes = 16u << 20;  // the cluster's wal_segment_size
  uint64_t data_bytes = 0;        // bytes of the data folder and tablespaces read
  uint64_t files = 0;
  bool data_checksums = false;    // whether pages were checked
  // Pages whose checksum failed, as "<path> block <n>" (at most 1000 listed).
  std::vector<std::string> page_errors;
  // list_backups(): the moments this backup restores to, from the WAL archive as it is now.
  // From stop_time (consistent) to the end of the newest segment that follows it without a gap
  // on the latest timeline descending from this one (docs/pitr.md, "The restore window").
  struct Window {
    std::string earliest;          // stop_time
    std::string latest_wal;        // the last segment recovery can read; "" when it cannot reach
                                   // stop_wal (the backup is not restorable)
    std::string latest_time;       // when latest_wal was archived, if this host pushed it; else ""
    std::string first_missing;     // the segment where the archive has a gap; "" when none
  };
  std::optional<Window> window;
};

// What one backup holds and cost; returned by create and by list.
struct BackupInfo {
  std::string backup_id;         // e.g. "full_20241201_020000"
  BackupType type = BackupType::kFull;
  std::string parent;            // backup compared against for change detection ("" for full)
  std::string timestamp;         // start time, ISO 8601 UTC
  std::string status;            // "success" (committed) or "failed" (log only)
  uint64_t file_count = 0;       // regular files in the backup
  uint64_t size_bytes = 0;       // logical bytes of all files
  uint64_t bytes_added = 0;      // bytes this backup added to the repository (after dedup,
                                 // compression and encryption)
  uint64_t files_read = 0;       // files whose content was read (changed or new)
  double duration_seconds = 0;
  std::vector<std::string> warnings;  // files that vanished, changed while read, were skipped
  // Paths on disk that exist but could not be read (permissions, I/O errors): left out, so the
  // backup is incomplete. It is committed all the same; `coffer create` exits 9 (kExitIncomplete).
  std::vector<std::string> unreadable;
  bool incomplete() const { return !unreadable.empty(); }
  std::string hostname;
  std::optional<DatabaseInfo> database;  // nullopt: the backup holds no database dump
  std::optional<PhysicalInfo> physical;  // nullopt: no physical database backup
  bool has_files = true;                 // false for --only database backups
  bool pinned = false;                   // kept by every cleanup (create --keep, `coffer pin`)
  // S3_MODE=copy. create: how this run's off-site copy went. list: whether the backup's
  // manifest is on S3 (nullopt when not in copy mode or S3 could not be asked).
  struct OffsiteCopy {
    bool copied = false;
    std::string error;
    uint64_t objects = 0;
    uint64_t bytes = 0;
  };
  std::optional<OffsiteCopy> offsite_copy;
  std::optional<bool> offsite;
};

// What a files restore does where a restored file, symlink or hard link finds something already
// in its place. Every place is checked before anything is written.
enum class ExistingFiles {
  kFail,         // refuse, naming how many and the first few, before writing anything (default)
  kSkip,         // keep what is there; restore only what is missing
  kIfDifferent,  // replace what differs from the backup (content compared by chunk hash)
  kOverwrite,    // replace everything
};

struct RestoreOptions {
  BackupScope scope = BackupScope::kFiles;  // kAll: database and files
  std::optional<std::string> target;   // restore under this folder instead of original paths
  std::vector<std::string> include;    // paths inside the backup; empty = everything
  ExistingFiles existing = ExistingFiles::kFail;
  bool overwrite = false;              // the same as existing = kOverwrite
  bool partial = false;                // skip damaged files instead of failing
  // Database restore:
  std::optional<std::string> target_db;  // create (if missing) and restore into this database
  std::vector<std::string> tables;       // only these tables ("t" or "schema.t")
  bool clean = false;                    // restore into a database that has tables (drops them)
  int jobs = 2;                          // pg_restore -j
};

// `coffer export`: a backup's part as plain files other tools read without coffer.
struct ExportOptions {
  BackupScope scope = BackupScope::kDatabase;  // kDatabase or kFiles (one part per export)
  // Database: "custom" (pg_restore reads it), "directory" (pg_restore -j), "sql.gz" (plain SQL
  // that psql runs, gzip-compressed). Files: "tar" or "tar.zst" (GNU tar extracts them).
  std::string format;
  // A file (custom, sql.gz, tar, tar.zst) or a folder to create (directory); "-": standard
  // output (not for directory). Written under a temporary name and renamed when complete.
  std::string output;
  std::vector<std::string> include;  // files: paths inside the backup; empty = everything
};

struct ExportResult {
  std::string backup_id;
  std::string format;
  std::string output;
  uint64_t entries = 0;        // files: entries written; database: data files / tables
  uint64_t bytes_read = 0;     // content bytes read from the repository
  uint64_t bytes_written = 0;  // what the output holds (0 for standard output: unknown)
  double duration_seconds = 0;
};

// `coffer drill`: restores a backup into scratch places (a database and a folder of its own,
// always removed afterwards) and checks what came back.
struct DrillOptions {
  std::string scratch_db;  // the scratch database, which must not exist; "" = coffer_drill_<random>
  int jobs = 2;            // pg_restore -j
  // A physical backup's drill starts a server whose restore_command runs this program's
  // wal-fetch (the CLI passes its own absolute path).
  std::string program = "coffer";
};

// One check of a drill and its outcome.
struct DrillCheck {
  std::string part;    // "database" or "files"
  std::string name;    // "restore", "row counts", "read through", "btree indexes", "probe N", "file contents"
  std::string status;  // "passed", "failed" or "skipped"
  std::string detail;  // what was checked, what failed (naming the table, index, file or probe), or why skipped
};

struct DrillResult {
  std::string backup_id;
  bool passed = false;      // no check failed, and at least one part was restored and checked
  std::string scratch_db;   // "" when the backup holds no logical database
  std::string scratch_dir;  // the files' scratch folder; else a physical drill's (its data folder is under it)
  // The recovery time a real failure would cost, per part, and the checks' own time.
  double database_restore_seconds = 0;  // pg_restore and the row counts; physical: the folder written and recovered
  double database_check_seconds = 0;    // read through, indexes, probes
  double files_restore_seconds = 0;
  double files_check_seconds = 0;
  double duration_seconds = 0;          // everything, the clean-up included
  uint64_t tables = 0, rows = 0, indexes = 0, probes = 0;
  uint64_t files = 0, bytes = 0;  // files restored and read back, and their bytes
  std::vector<DrillCheck> checks;
  std::vector<std::string> warnings;
};

// "" when the drill passed; else its failed checks in one line ("1 check failed: database probe 2
// (...)"), as backup_log.json's error holds them.
std::string drill_failure_summary(const DrillResult& result);

// What `coffer wal-push` did with one WAL file (BackupManager::wal_push).
struct WalPushResult {
  std::string name;              // e.g. "000000010000000000000003"
  std::string cluster;           // "<system identifier>-<major>": the archive it went to
  bool already_archived = false; // the same content was stored already (a repeated push)
  uint64_t bytes = 0;
  double duration_seconds = 0;
};

// A point-in-time restore of a physical backup into a new data folder (docs/pitr.md). At most
// one target; none replays all the archived WAL.
struct PointInTimeOptions {
  std::string pgdata;                     // the data folder to write: absent or empty
  std::optional<std::string> to_time;     // with its UTC offset: "2026-12-05 10:42:17+01"
  std::optional<std::string> to_lsn;      // "0/3000028"
  std::optional<std::string> to_xid;
  std::optional<std::string> to_name;     // a restore point (pg_create_restore_point)
  bool immediate = false;                 // stop as soon as the backup is consistent
  std::string target_action = "pause";   // pause, promote or shutdown
  std::string target_timeline = "latest"; // latest, current or a timeline number
  std::vector<std::pair<std::string, std::string>> tablespaces;  // old location -> new one
  // The restore_command the restored server runs to fetch WAL; empty: `program` with this
  // configuration's repository flags (--backup-dir, --passphrase-file, --source s3).
  std::string restore_command;
  std::string program = "coffer";  // the CLI passes its own absolute path
};

struct PointInTimeResult {
  std::string backup_id;
  std::string pgdata;
  std::string target;         // what recovery stops at, in words
  uint64_t files_restored = 0;
  uint64_t bytes_restored = 0;
  std::string wal_from, wal_to;  // the archived WAL checked to be there (from the backup's start)
  std::string start_hint;     // how to start the server on pgdata
  std::vector<std::string> warnings;
};

struct RowCountMismatch {
  std::string table;  // "schema.name"
  uint64_t expected = 0;
  uint64_t actual = 0;
};

struct DatabaseRestoreResult {
  std::string dbname;
  // How the restore reached dbname: "into a scratch database, then swapped into place" (the
  // target is replaced only after the checks passed), "... then renamed" (a new database), or
  // "in place, in one transaction" (--table into a database that stays, or a user who may not
  // create and rename databases).
  std::string method;
  // Row counts differed: dbname was left as it was and the restored copy is kept under this name
  // for inspection ("" otherwise).
  std::string kept_as;
  uint64_t tables_restored = 0;
  std::vector<RowCountMismatch> row_count_mismatches;
  std::vector<std::string> warnings;
};

struct RestoreResult {
  std::string backup_id;
  uint64_t files_restored = 0;
  uint64_t bytes_restored = 0;
  uint64_t files_kept = 0;             // existing files left as they were (kSkip, kIfDifferent)
  // Temporary files (.coffer-tmp-*) a killed restore had left where this one writes, removed.
  std::vector<std::string> removed_temps;
  std::vector<std::string> errors;     // damaged files skipped (only with partial)
  std::optional<DatabaseRestoreResult> database;
};

struct VerifyOptions {
  std::optional<std::string> backup_id;  // nullopt = every backup
  bool read_data = false;                // also decrypt and re-hash every chunk
};

struct VerifyProblem {
  std::string backup_id;  // "" when not tied to one backup
  std::string path;       // file inside the backup, "" when not tied to one
  std::string object;     // repository object (pack, index, manifest), "" when none
  std::string problem;
};

struct VerifyResult {
  bool ok = true;
  uint64_t backups_checked = 0;
  uint64_t chunks_checked = 0;
  uint64_t wal_files_checked = 0;  // archived WAL files found in the physical backups' chains
                                   // (read and opened with read_data)
  std::vector<VerifyProblem> problems;
};

struct CleanupOptions {
  bool dry_run = false;  // report what would go and the bytes it would free; change nothing
  bool force = false;    // go ahead even when the policy's rules keep none of the backups
};

// What the retention policy decided for one backup.
struct CleanupDecision {
  std::string backup_id;
  BackupType type = BackupType::kFull;
  std::string timestamp;
  bool pinned = false;
  bool keep = true;
  // Kept: every rule that keeps it ("within 30 days", "daily 2024-12-01", "pinned",
  // "newest full backup"). Removed: why it goes.
  std::vector<std::string> reasons;
};

struct CleanupResult {
  bool dry_run = false;
  std::string policy;                    // e.g. "RETENTION_DAYS=30, KEEP_DAILY=7"
  std::vector<CleanupDecision> backups;  // every backup that existed, oldest first
  std::vector<std::string> removed;      // backup ids removed (dry run: that would be)
  uint64_t packs_deleted = 0;            // packs with nothing live, and leftovers no index lists
  uint64_t packs_rewritten = 0;          // packs mostly garbage whose live data was copied
  uint64_t packs_written = 0;            // new packs holding that copied data
  uint64_t bytes_freed = 0;              // storage bytes released (dry run: an estimate)
  // The WAL archive (docs/pitr.md, "Retention"): files older than the oldest kept physical
  // backup's start segment go, per cluster; a cluster with no kept physical backup keeps all.
  uint64_t wal_files_removed = 0;        // dry run: that would be
  uint64_t wal_bytes_freed = 0;          // included in bytes_freed
  std::vector<std::string> warnings;
  double duration_seconds = 0;
};

// The WAL archive of one cluster, for `status` (BackupManager::wal_status).
struct WalArchiveStatus {
  std::string cluster;          // "<system identifier>-<major>"
  uint64_t files = 0;           // every archived file (segments, partial, history, backup)
  uint64_t bytes = 0;           // as stored
  std::string newest_segment;   // the newest segment in the archive ("" when none)
  // From this host's record of its pushes (BACKUP_DIR/wal_push_state.json), when present:
  std::string last_archived;    // the last file a push stored
  std::string last_archived_time;
  std::string last_failed;      // the last file a push failed on, since the last success ("" when none)
  std::string last_failed_time;
  std::string last_error;
  uint64_t failed_pushes = 0;   // failures since the last success
};

// What `coffer repair index` found and did.
struct RepairIndexResult {
  bool dry_run = false;
  uint64_t packs_scanned = 0;
  uint64_t packs_indexed = 0;               // packs the new index lists
  uint64_t blobs_indexed = 0;
  std::vector<std::string> damaged_packs;   // "data/ab/ab12...: why" (not indexed, left in place)
  uint64_t chunks_before = 0;               // in the old index files that could be read
  uint64_t chunks_recovered = 0;            // in the new index but in no readable old index file
  std::vector<std::string> old_index_files; // removed (dry run: would be)
  std::string new_index_file;               // "" on a dry run or when no pack was readable
  // Backups that still miss chunks after the repair (their data is gone, not just unindexed).
  std::vector<std::string> incomplete_backups;
  std::vector<std::string> warnings;
  double duration_seconds = 0;
};

// A lock `coffer unlock` removed.
struct LockInfo {
  std::string key;  // "locks/<id>"
  std::string host;
  int64_t pid = 0;
  std::string command;
  std::string started;
  bool exclusive = false;
  std::string stale_reason;  // "" when it was live (unlock --all)
};

// Progress of a long operation, reported on the caller's thread, at most a few times a second.
struct Progress {
  std::string phase;         // "scan", "backup", "restore", "verify"
  uint64_t files_done = 0;
  uint64_t files_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
};

}  // namespace coffer
