#include "engine/repair_index.h"

#include <algorithm>
#include <chrono>

#include "coffer/error.h"
#include "repo/live_chunks.h"

namespace coffer {

RepairIndexResult run_repair_index(Repository& repo, const RepairIndexOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  Storage& storage = repo.storage();
  RepairIndexResult result;
  result.dry_run = o.dry_run;
  auto warn = [&](const std::string& w) {
    result.warnings.push_back(w);
    if (o.on_warning) o.on_warning(w);
  };
  auto check_lock = [&] {
    if (o.check_lock) o.check_lock();
  };

  // What the old index files still say (damaged ones are skipped: that is why we are here).
  std::vector<std::pair<std::string, std::string>> index_problems;
  repo.load_index(&index_problems);
  result.chunks_before = repo.index().chunk_count();
  for (const auto& [key, why] : index_problems) warn("old index file " + key + " is unreadable: " + why);
  for (const ObjectInfo& f : storage.list("index/")) result.old_index_files.push_back(f.key);
  std::sort(result.old_index_files.begin(), result.old_index_files.end());

  // Every pack's header, read with two small ranged reads per pack.
  std::vector<ObjectInfo> objects = storage.list("data/");
  std::sort(objects.begin(), objects.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  Progress progress{"repair"};
  for (const ObjectInfo& obj : objects) progress.bytes_total += obj.size;
  std::vector<PackRecord> packs;
  for (const ObjectInfo& obj : objects) {
    std::string id = pack_id_from_key(obj.key);
    if (id.empty()) continue;
    ++result.packs_scanned;
    try {
      std::vector<PackEntry> entries = fetch_pack_header(storage, repo.sealer(), id, obj.size);
      for (const PackEntry& e : entries)
        if (!repo.index().contains(e.id)) ++result.chunks_recovered;
      result.blobs_indexed += entries.size();
      packs.push_back({id, std::move(entries)});
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged) throw;
      result.damaged_packs.push_back(obj.key + ": " + e.what());
      warn(std::string(e.what()) + " (left in place, not indexed)");
    }
    progress.bytes_done += obj.size;
    ++progress.files_done;
    if (o.on_progress) o.on_progress(progress);
  }
  result.packs_indexed = packs.size();

  if (!o.dry_run) {
    check_lock();
    std::string new_key;
    if (!packs.empty()) repo.write_index_file(packs, &new_key);
    result.new_index_file = new_key;
    check_lock();
    for (const std::string& key : result.old_index_files)
      if (key != new_key) storage.remove(key);  // unencrypted repositories name identical indexes alike
  }

  // Which backups are whole now: read each against the rebuilt index (what a dry run would give).
  Index rebuilt;
  for (const PackRecord& p : packs) rebuilt.add_pack(p.id, p.entries);
  repo.replace_index(std::move(rebuilt));
  for (const std::string& id : repo.list_backup_ids()) {
    try {
      Manifest m = repo.read_manifest(id);
      ChunkSet needed = referenced_chunks(repo, {m});
      size_t missing = std::count_if(needed.begin(), needed.end(), [&](const ChunkId& c) { return !repo.index().contains(c); });
      if (missing) {
        result.incomplete_backups.push_back(id);
        warn("backup " + id + " still misses " + std::to_string(missing) +
             " chunks (their packs are damaged or gone): `coffer verify` names the files");
      }
    } catch (const Error& e) {
      result.incomplete_backups.push_back(id);
      warn("backup " + id + " cannot be read: " + e.what());
    }
  }
  result.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace coffer
