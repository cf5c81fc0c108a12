#include "engine/physical_backup.h"

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "coffer/error.h"
#include "engine/files_backup.h"
#include "repo/delta_base_picker.h"
#include "repo/tree_stream.h"
#include "source/postgres/physical/backup_session.h"
#include "source/postgres/physical/data_dir_rules.h"
#include "source/postgres/physical/page_checksum.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/wal/cluster_id.h"
#include "source/postgres/wal/wal_archive.h"
#include "source/postgres/wal/wal_names.h"
#include "coffer/clock.h"

namespace coffer {
namespace fs = std::filesystem;
namespace phys = pg::physical;

namespace {

constexpr size_t kMaxPageErrorsListed = 1000;
constexpr uint32_t kBlocksPerSegment = (1u << 30) / phys::kPageBytes;

// Maps a path on disk to its path in the data folder's terms ("base/5/16384",
// "pg_tblspc/16390/PG_15_.../5/16400"), as the rules take it.
class DataPaths {
 public:
  DataPaths(fs::path data_dir, const std::vector<phys::Tablespace>& tablespaces) : data_dir_(std::move(data_dir)) {
    for (const auto& t : tablespaces) tablespaces_.emplace_back(fs::path(t.location), "pg_tblspc/" + t.oid);
  }
  std::optional<std::string> of(const fs::path& source) const {
    if (auto rel = under(source, data_dir_)) return rel;
    for (const auto& [location, prefix] : tablespaces_)
      if (auto rel = under(source, location)) return rel->empty() ? prefix : prefix + "/" + *rel;
    return std::nullopt;
  }

 private:
  static std::optional<std::string> under(const fs::path& source, const fs::path& root) {
    const std::string s = source.native(), r = root.native();
    if (s == r) return std::string();
    if (s.size() > r.size() && s.compare(0, r.size(), r) == 0 && s[r.size()] == '/') return s.substr(r.size() + 1);
    return std::nullopt;
  }
  fs::path data_dir_;
  std::vector<std::pair<fs::path, std::string>> tablespaces_;
};

// Relations with an _init fork (unlogged): only that fork of them goes into the backup.
std::set<std::string> unlogged_relations(const DataPaths& paths, const std::vector<fs::path>& db_folders_roots) {
  std::set<std::string> out;
  std::error_code ec;
  for (const fs::path& root : db_folders_roots) {
    for (fs::directory_iterator db(root, ec), end; !ec && db != end; db.increment(ec)) {
      if (!db->is_directory(ec)) continue;
      std::error_code ec2;
      for (fs::directory_iterator f(db->path(), ec2), e2; !ec2 && f != e2; f.increment(ec2)) {
        const std::string name = f->path().filename().native();
        if (name.size() > 5 && name.compare(name.size() - 5, 5, "_init") == 0)
          if (auto rel = paths.of(f->path()))
            if (auto r = phys::relation_file(*rel)) out.insert(r->relation);
      }
    }
  }
  return out;
}

// Waits until WAL file `name` is in the repository's archive for `cluster`.
void wait_for_archived(Repository& repo, const std::string& cluster, const std::string& name, int timeout_seconds,
                       phys::BackupSession& session, const std::function<void(const Progress&)>& on_progress) {
  const std::string key = pg::wal::WalArchive::key_of(cluster, name);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  bool switched = false;
  while (!repo.storage().head(key)) {
    if (std::chrono::steady_clock::now() > deadline)
      fail(ErrorCategory::kDatabase,
           "the WAL segment " + name + " that makes this backup consistent did not reach the archive within " +
               std::to_string(timeout_seconds) + " s (ARCHIVE_TIMEOUT), so the backup was not committed. Check that "
               "archive_command = 'coffer wal-push %p' with this repository's settings, and the server log; "
               "pg_stat_archiver shows the last failure (last archived: '" + session.last_archived_wal() + "')");
    if (!switched) {
      session.switch_wal();  // a quiet server would otherwise keep the segment open
      switched = true;
    }
    if (on_progress) on_progress(Progress{"database: waiting for WAL " + name + " to be archived"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

PhysicalPart backup_physical(Repository& repo, ChunkStore& store, const BackupConfig& config,
                             const PhysicalBackupHooks& hooks, const Manifest* last) {
  BackupConfig server = config;  // the whole cluster is backed up: any database reaches it
  if (server.db_name.empty()) server.db_name = "postgres";
  pg::Connection conn(server);
  phys::BackupSession session(conn, config.db_data_dir.empty());
  PhysicalPart part;
  PhysicalInfo& info = part.info;
  phys::BackupStart start = session.start("coffer " + format_iso8601_utc(job_now()), true);
  fs::path data_dir = (config.db_data_dir.empty() ? fs::path(start.data_directory) : config.db_data_dir).lexically_normal();
  if (data_dir.filename().empty()) data_dir = data_dir.parent_path();  // "/srv/pg/" -> "/srv/pg"
  const pg::wal::ClusterId cluster = pg::wal::read_cluster_id(data_dir);
  if (cluster.system_identifier != start.system_identifier)
    fail(ErrorCategory::kConfig, "DB_DATA_DIR " + data_dir.string() + " holds the cluster with system identifier " +
                                     std::to_string(cluster.system_identifier) + ", not the one DB_HOST:DB_PORT serves (" +
                                     std::to_string(start.system_identifier) +
                                     "): point DB_DATA_DIR at that server's data folder (SHOW data_directory)");
  info.cluster = cluster.name();
  info.server_version_num = session.server_version_num();
  info.timeline = start.timeline;
  info.start_lsn = pg::wal::format_lsn(start.lsn);
  info.start_wal = start.wal_file;
  info.start_time = start.time;
  info.wal_segment_bytes = start.wal_segment_bytes;
  info.data_checksums = start.data_checksums;
  for (const auto& t : start.tablespaces) part.tablespaces.push_back({t.oid, t.location});

  std::vector<files::WalkRoot> roots = {{data_dir, "pgdata"}};
  std::vector<fs::path> db_roots = {data_dir / "base"};
  for (const auto& t : start.tablespaces) {
    roots.push_back({t.location, "tblspc-" + t.oid});
    std::error_code ec;
    for (fs::directory_iterator v(t.location, ec), end; !ec && v != end; v.increment(ec)) db_roots.push_back(v->path());
  }
  const DataPaths paths(data_dir, start.tablespaces);
  const std::set<std::string> unlogged = unlogged_relations(paths, db_roots);
  std::mutex errors_mu;
  FileRules rules;
  rules.reuse_unchanged = false;  // data files' mtimes are not to be trusted for this
  rules.quiet_changes = true;     // a live cluster's files change; WAL replay makes them consistent
  rules.exclude = [&](const fs::path& source, const struct ::stat&) {
    std::optional<std::string> rel = paths.of(source);
    return rel && !rel->empty() && phys::excluded(*rel, unlogged);
  };
  // Entries' paths are "<root>/<rest>"; the rules want data-folder paths.
  auto data_path = [&](const files::FileEntry& e) -> std::optional<std::string> {
    const size_t slash = e.path.find('/');
    if (slash == std::string::npos) return std::nullopt;
    const std::string root = e.path.substr(0, slash), rest = e.path.substr(slash + 1);
    if (root == "pgdata") return rest;
    return "pg_tblspc/" + root.substr(std::string("tblspc-").size()) + "/" + rest;
  };
  rules.chunker = [&](const files::FileEntry& e) -> const ChunkerParams* {
    std::optional<std::string> rel = data_path(e);
    return rel && phys::relation_file(*rel) ? &kRelationChunker : nullptr;
  };
  if (start.data_checksums) {
    rules.check = [&](ByteSource& file, const files::FileEntry& e) -> std::unique_ptr<ByteSource> {
      std::optional<std::string> rel = data_path(e);
      std::optional<phys::RelationFile> r = rel ? phys::relation_file(*rel) : std::nullopt;
      if (!r) return nullptr;
      const std::string where = *rel;
      return std::make_unique<phys::PageCheckingSource>(file, r->segment * kBlocksPerSegment, start.lsn,
                                                        [&, where](uint32_t block) {
                                                          std::lock_guard lock(errors_mu);
                                                          if (info.page_errors.size() < kMaxPageErrorsListed)
                                                            info.page_errors.push_back(where + " block " +
                                                                                       std::to_string(block));
                                                        });
    };
  }
  // The last backup's relation files by path: a page changed in a few bytes (a row's xmax, the
  // page LSN) is then stored as a delta of a few dozen bytes against the page as it was.
  std::unordered_map<std::string, std::vector<ChunkRef>> last_files;
  if (last && last->physical && last->physical->info.cluster == info.cluster) {
    for_each_tree_entry(repo, last->physical->tree, last->info.backup_id, [&](files::FileEntry& e) {
      if (e.type == files::EntryType::kFile && rules.chunker(e)) last_files.emplace(e.path, std::move(e.chunks));
    });
    rules.delta_bases = [&](const files::FileEntry& e) -> std::unique_ptr<DeltaBaseSource> {
      auto it = last_files.find(e.path);
      if (it == last_files.end()) return nullptr;
      return std::make_unique<DeltaBasePicker>(it->second);
    };
  }
  BackupInfo counts;
  std::vector<files::FileEntry> entries =
      backup_files(repo, store, roots, nullptr, counts, hooks.warn, hooks.unreadable, config.backup_dir,
                   hooks.on_progress, rules);
  info.files = counts.file_count;
  info.data_bytes = counts.size_bytes;

  phys::BackupStop stop = session.stop();
  info.stop_lsn = pg::wal::format_lsn(stop.lsn);
  info.stop_wal = stop.wal_file;
  info.stop_time = stop.time;
  part.backup_label = stop.backup_label;
  part.tablespace_map = stop.tablespace_map;
  info.server_version = session.server_version();
  for (const std::string& e : info.page_errors)
    if (hooks.warn) hooks.warn("page checksum failure in " + e + " (the page was backed up as it is)");
  part.tree = write_tree(store, repo.tree_chunker(), entries);
  wait_for_archived(repo, info.cluster, stop.wal_file, config.archive_timeout_seconds, session, hooks.on_progress);
  return part;
}

}  // namespace coffer
