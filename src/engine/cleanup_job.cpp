#include "engine/cleanup_job.h"

#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "coffer/error.h"
#include "repo/live_chunks.h"
#include "repo/pack_rewriter.h"
#include "repo/prune_plan.h"
#include "repo/pins.h"
#include "source/postgres/wal/wal_archive.h"
#include "source/postgres/wal/wal_retention.h"
#include "util/failpoint.h"

namespace coffer {
namespace {

std::map<std::string, uint64_t> sizes_under(Storage& storage, const std::string& prefix) {
  std::map<std::string, uint64_t> out;
  for (const ObjectInfo& o : storage.list(prefix)) out[o.key] = o.size;
  return out;
}

// Pack id -> size for the objects under data/ named like packs ("data/ab/ab12...").
std::unordered_map<std::string, uint64_t> present_packs(Storage& storage) {
  std::unordered_map<std::string, uint64_t> out;
  for (const ObjectInfo& o : storage.list("data/"))
    if (std::string id = pack_id_from_key(o.key); !id.empty()) out[id] = o.size;
  return out;
}

// Every pack the index files list, once (the first record wins, as in Index).
std::vector<PackRecord> indexed_packs(Repository& repo, const std::vector<std::string>& index_keys) {
  std::vector<PackRecord> out;
  std::set<std::string> seen;
  for (const std::string& key : index_keys)
    for (PackRecord& p : repo.read_index_file(key))
      if (seen.insert(p.id).second) out.push_back(std::move(p));
  return out;
}

// The WAL files that go with the backups that go, per cluster (docs/pitr.md, "Retention").
struct WalRemoval {
  std::string cluster;
  std::vector<std::string> names;
};

std::vector<WalRemoval> plan_wal_removal(Repository& repo, const std::vector<Manifest>& kept, uint64_t& files,
                                         uint64_t& bytes, const std::function<void(const std::string&)>& warn) {
  std::vector<WalRemoval> out;
  for (const std::string& cluster : pg::wal::WalArchive::clusters(repo.storage())) {
    pg::wal::WalArchive archive(repo, cluster);
    std::vector<pg::wal::WalArchive::File> stored = archive.files();
    std::vector<std::string> names, starts;
    for (const auto& f : stored) names.push_back(f.name);
    for (const Manifest& m : kept)
      if (m.physical && m.physical->info.cluster == cluster) starts.push_back(m.physical->info.start_wal);
    if (starts.empty()) {
      if (!stored.empty())
        warn("the WAL archive of cluster " + cluster + " (" + std::to_string(stored.size()) +
             " files) is kept whole: no physical backup of that cluster remains to say which WAL is still needed");
      continue;
    }
    pg::wal::WalRetentionPlan plan = pg::wal::plan_wal_retention(names, starts);
    if (plan.remove.empty()) continue;
    std::set<std::string> going(plan.remove.begin(), plan.remove.end());
    for (const auto& f : stored)
      if (going.count(f.name)) bytes += f.stored_bytes;
    files += plan.remove.size();
    out.push_back({cluster, std::move(plan.remove)});
  }
  return out;
}

}  // namespace

CleanupResult run_cleanup(Repository& repo, const CleanupJobOptions& o) {
  auto started = std::chrono::steady_clock::now();
  Storage& storage = repo.storage();
  CleanupResult result;
  result.dry_run = o.cleanup.dry_run;
  result.policy = describe_policy(o.policy);
  auto warn = [&](const std::string& w) {
    result.warnings.push_back(w);
    if (o.on_warning) o.on_warning(w);
  };
  auto check_lock = [&] {
    if (o.check_lock) o.check_lock();
  };

  // Read everything first; nothing changes until the plan is complete.
  repo.load_index();
  std::map<std::string, uint64_t> index_files = sizes_under(storage, "index/");
  std::vector<std::string> index_keys;
  for (const auto& [key, size] : index_files) index_keys.push_back(key);
  std::vector<PackRecord> indexed = indexed_packs(repo, index_keys);

  std::map<std::string, uint64_t> manifest_sizes = sizes_under(storage, "snapshots/");
  std::set<std::string> pins = read_pins(storage);
  std::vector<Manifest> manifests;
  std::vector<RetentionCandidate> candidates;
  for (const std::string& id : repo.list_backup_ids()) {
    Manifest m;
    try {
      m = repo.read_manifest(id);
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged) throw;
      fail(ErrorCategory::kDamaged, std::string(e.what()) +
                                        ". Cleanup cannot tell what that backup needs, so it changed nothing: "
                                        "run `coffer verify`, and remove the damaged manifest if it cannot be saved");
    }
    auto time = parse_iso8601_utc(m.info.timestamp);
    if (!time) fail(ErrorCategory::kDamaged, "backup " + id + " has an invalid timestamp '" + m.info.timestamp + "'");
    candidates.push_back({id, m.info.type, *time, pins.count(id) > 0, m.info.has_files, m.database.has_value()});
    manifests.push_back(std::move(m));
  }
  std::vector<RetentionDecision> decisions = apply_retention(candidates, o.policy, o.now);

  std::vector<size_t> by_age(manifests.size());
  for (size_t i = 0; i < by_age.size(); ++i) by_age[i] = i;
  std::sort(by_age.begin(), by_age.end(), [&](size_t a, size_t b) {
    return std::tie(manifests[a].info.timestamp, manifests[a].info.backup_id) <
           std::tie(manifests[b].info.timestamp, manifests[b].info.backup_id);
  });
  std::vector<Manifest> kept;
  bool policy_keeps_any = false;
  for (size_t i : by_age) {
    const Manifest& m = manifests[i];
    const RetentionDecision& d = decisions[i];
    result.backups.push_back(
        {m.info.backup_id, m.info.type, m.info.timestamp, candidates[i].pinned, d.keep, d.reasons});
    policy_keeps_any = policy_keeps_any || d.kept_by_policy;
    if (d.keep)
      kept.push_back(m);
    else
      result.removed.push_back(m.info.backup_id);
  }
  if (!result.removed.empty() && !policy_keeps_any && !o.cleanup.force)
    fail(ErrorCategory::kInput,
         "the retention policy (" + result.policy + ") keeps none of the " + std::to_string(manifests.size()) +
             " backups (the newest is from " + result.backups.back().timestamp.substr(0, 19) +
             "Z): only the newest full backup and pinned ones would survive. Check the clock and the "
             "settings, or run `coffer cleanup --force` to go ahead");

  ChunkSet live = referenced_chunks(repo, kept);
  std::unordered_map<std::string, uint64_t> present = present_packs(storage);
  PrunePlan plan = plan_prune(indexed, present, std::move(live), o.rewrite_threshold);
  // Chunks that kept backups need are in no indexed pack while some packs are in no index: the
  // index is incomplete (an index file lost or damaged), and those "leftover" packs may be the
  // very ones holding the chunks. Deleting them would turn a repairable index into lost data.
  if (plan.live_chunks_missing && !plan.unindexed.empty())
    fail(ErrorCategory::kDamaged,
         std::to_string(plan.live_chunks_missing) + " chunks that remaining backups need are in no index file, and " +
             std::to_string(plan.unindexed.size()) +
             " packs in storage are listed by none: the index is incomplete, so cleanup changed nothing. Run "
             "`coffer repair index` to rebuild it from the packs, then run cleanup again");
  if (plan.live_chunks_missing)
    warn(std::to_string(plan.live_chunks_missing) +
         " chunks that remaining backups need are in no pack: run `coffer verify` to see which files are damaged");
  for (const std::string& id : plan.drop) result.packs_deleted += present.count(id);
  result.packs_deleted += plan.unindexed.size();
  const std::vector<WalRemoval> wal_removals =
      plan_wal_removal(repo, kept, result.wal_files_removed, result.wal_bytes_freed, warn);

  if (o.cleanup.dry_run) {
    result.packs_rewritten = plan.rewrite.size();
    uint64_t estimate = plan.drop_bytes + plan.rewrite_garbage_bytes;
    for (const std::string& id : result.removed) estimate += manifest_sizes[manifest_key(id)];
    result.bytes_freed = estimate + result.wal_bytes_freed;
    result.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  }

  int64_t freed = 0;
  // (a) The backups that go.
  check_lock();
  if (o.before_removing && !result.removed.empty()) o.before_removing(result.removed);
  for (const std::string& id : result.removed) {
    storage.remove(manifest_key(id));
    freed += manifest_sizes[manifest_key(id)];
  }
  for (const std::string& id : pins)  // pins of backups that no longer exist
    if (!manifest_sizes.count(manifest_key(id))) remove_pin(storage, id);
  failpoint("cleanup-after-manifests-removed");

  // (b) Live data out of mostly-garbage packs.
  std::vector<PackRecord> staying = plan.keep;
  if (!plan.rewrite.empty()) {
    RewriteOutcome rw = rewrite_packs(repo, plan.rewrite);
    for (const std::string& w : rw.warnings) warn(w);
    staying.insert(staying.end(), rw.kept.begin(), rw.kept.end());
    staying.insert(staying.end(), rw.written.begin(), rw.written.end());
    result.packs_rewritten = rw.rewritten.size();
    result.packs_written = rw.written.size();
    freed -= static_cast<int64_t>(rw.bytes_written);
  }
  failpoint("cleanup-after-packs-written");

  // (c), (d) One index for what stays, then the old ones go.
  if (plan.changes_index() || index_keys.size() > 1) {
    check_lock();
    std::string new_key;
    if (!staying.empty()) freed -= static_cast<int64_t>(repo.write_index_file(staying, &new_key));
    failpoint("cleanup-after-index-written");
    for (const std::string& key : index_keys) {
      if (key == new_key) continue;  // unencrypted repositories name identical indexes alike
      storage.remove(key);
      freed += index_files[key];
    }
    failpoint("cleanup-after-old-indexes-removed");
  }

  // (e) Packs that no index lists any more.
  check_lock();
  std::set<std::string> listed;
  for (const PackRecord& p : staying) listed.insert(p.id);
  bool first = true;
  for (const auto& [id, size] : present) {
    if (listed.count(id)) continue;
    storage.remove(pack_key(id));
    freed += static_cast<int64_t>(size);
    if (first) failpoint("cleanup-during-pack-removal");
    first = false;
  }
  // (f) Half-written packs of killed backups (their temp files): no backup runs under this lock.
  if (uint64_t temp_bytes = storage.remove_temp_files("data/", std::chrono::seconds(0))) {
    spdlog::info("removed {} bytes of temp files left by interrupted backups", temp_bytes);
    freed += static_cast<int64_t>(temp_bytes);
  }
  // (g) WAL older than every kept physical backup's start (wal-push only adds newer files).
  check_lock();
  for (const WalRemoval& w : wal_removals) {
    pg::wal::WalArchive archive(repo, w.cluster);
    for (const std::string& name : w.names) archive.remove(name);
  }
  freed += static_cast<int64_t>(result.wal_bytes_freed);
  // (h) Temp files of wal-pushes killed mid-write. wal-push takes no lock, so only those an hour
  // old: a push in progress is never that slow, and it writes its temp file as it goes.
  if (uint64_t temp_bytes = storage.remove_temp_files("wal/", std::chrono::hours(1))) {
    spdlog::info("removed {} bytes of temp files left by interrupted wal-pushes", temp_bytes);
    freed += static_cast<int64_t>(temp_bytes);
  }
  result.bytes_freed = freed > 0 ? static_cast<uint64_t>(freed) : 0;
  result.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace coffer
