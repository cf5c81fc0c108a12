#include "engine/verify_job.h"

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "coffer/error.h"
#include "engine/wal_check.h"
#include "repo/tree_stream.h"

namespace coffer {
using files::EntryType;

namespace {

struct BadChunks {
  std::unordered_map<ChunkId, std::string, ChunkIdHash> why;  // chunk -> problem text
};

// Reads each indexed pack once and checks every chunk in it.
void check_pack_data(Repository& repo, const std::string& pack_id, const std::vector<std::pair<ChunkId, ChunkLocation>>& chunks,
                     VerifyResult& result, BadChunks& bad, const std::function<void()>& tick) {
  std::string key = pack_key(pack_id);
  Bytes pack;
  try {
    pack = repo.storage().get(key);
  } catch (const Error& e) {
    for (const auto& [id, loc] : chunks) bad.why[id] = std::string("pack unreadable: ") + e.what();
    return;
  }
  if (pack_id_of(pack) != pack_id)
    result.problems.push_back({"", "", key, "pack header does not match the pack's name (damaged or replaced header)"});
  for (const auto& [id, loc] : chunks) {
    ++result.chunks_checked;
    tick();
    if (uint64_t(loc.offset) + loc.length > pack.size()) {
      bad.why[id] = "chunk lies outside pack " + key + " (truncated pack)";
      continue;
    }
    try {
      // A delta is checked with its base, read on its own (and so checked too).
      std::optional<Bytes> base;
      if (loc.type == BlobType::kDelta) {
        const ChunkId* base_id = repo.index().base_of(id);
        if (!base_id) fail(ErrorCategory::kDamaged, "chunk in pack " + key + " is a delta without a base");
        try {
          base = repo.read_blob(*base_id);
        } catch (const Error& e) {
          fail(ErrorCategory::kDamaged, "chunk in pack " + key + " is a delta whose base cannot be read: " + e.what());
        }
      }
      open_blob(repo.sealer(), id, ByteView(pack).subspan(loc.offset, loc.length), loc.raw_length,
                "chunk in pack " + key, base ? &*base : nullptr);
    } catch (const Error& e) {
      bad.why[id] = e.what();
    }
  }
}

}  // namespace

VerifyResult run_verify(Repository& repo, const VerifyOptions& options,
                        const std::function<void(const Progress&)>& on_progress) {
  VerifyResult result;
  std::vector<std::pair<std::string, std::string>> index_problems;
  repo.load_index(&index_problems);
  for (auto& [key, msg] : index_problems) result.problems.push_back({"", "", key, msg});

  // Structure: packs the index names must exist and be long enough.
  std::unordered_map<std::string, uint64_t> pack_sizes;
  for (const ObjectInfo& o : repo.storage().list("data/")) pack_sizes[o.key] = o.size;
  const Index& index = repo.index();
  std::map<std::string, std::vector<std::pair<ChunkId, ChunkLocation>>> by_pack;
  for (const auto& [id, loc] : index.chunks()) by_pack[index.pack_id(loc.pack)].emplace_back(id, loc);

  BadChunks bad;
  std::set<std::string> reported_packs;
  for (auto& [pack_id, chunks] : by_pack) {
    std::string key = pack_key(pack_id);
    auto it = pack_sizes.find(key);
    if (it == pack_sizes.end()) {
      result.problems.push_back({"", "", key, "pack is missing"});
      for (const auto& [id, loc] : chunks) bad.why[id] = "pack " + key + " is missing";
      continue;
    }
    for (const auto& [id, loc] : chunks)
      if (uint64_t(loc.offset) + loc.length > it->second) {
        bad.why[id] = "pack " + key + " is truncated";
        if (reported_packs.insert(key).second) result.problems.push_back({"", "", key, "pack is truncated"});
      }
  }
  // A delta is only as readable as its base.
  for (const auto& [id, loc] : index.chunks()) {
    if (loc.type != BlobType::kDelta || bad.why.count(id)) continue;
    const ChunkId* base = index.base_of(id);
    if (!base || !index.contains(*base))
      bad.why[id] = "chunk " + to_hex(id).substr(0, 16) + " is a delta whose base is missing from the index";
    else if (auto it = bad.why.find(*base); it != bad.why.end())
      bad.why[id] = "chunk " + to_hex(id).substr(0, 16) + " is a delta whose base is unreadable: " + it->second;
  }

  Progress progress{"verify"};
  progress.bytes_total = index.chunk_count();
  if (options.read_data) {
    for (auto& [pack_id, chunks] : by_pack) {
      if (!pack_sizes.count(pack_key(pack_id))) continue;
      std::sort(chunks.begin(), chunks.end(), [](auto& a, auto& b) { return a.second.offset < b.second.offset; });
      check_pack_data(repo, pack_id, chunks, result, bad, [&] {
        ++progress.bytes_done;
        if (on_progress && progress.bytes_done % 256 == 0) on_progress(progress);
      });
    }
    for (const auto& [id, why] : bad.why)
      if (why.find("missing") == std::string::npos && why.find("truncated") == std::string::npos)
        result.problems.push_back({"", "", "", why});
  }

  // Backups: every referenced chunk must be indexed (and, with read_data, intact).
  std::vector<std::string> ids;
  if (options.backup_id) {
    ids.push_back(*options.backup_id);
    repo.read_manifest(*options.backup_id);  // unknown id: kNotFound/kInput to the caller
  } else {
    ids = repo.list_backup_ids();
  }
  std::vector<Manifest> physical;  // their WAL is checked last
  for (const std::string& id : ids) {
    ++result.backups_checked;
    Manifest m;
    try {
      m = repo.read_manifest(id);
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged) throw;
      result.problems.push_back({id, "", manifest_key(id), e.what()});
      continue;
    }
    if (m.database) {
      try {
        m.database->dump = read_ref_list(repo, m.database->dump_list, m.database->info.dump_bytes,
                                         "database dump of backup " + id);
      } catch (const Error& e) {
        result.problems.push_back({id, "database " + m.database->info.name, "", std::string("dump unreadable: ") + e.what()});
      }
      for (const auto* stream : {&m.database->dump, &m.database->globals}) {
        for (const ChunkRef& c : *stream) {
          std::string problem;
          if (!index.contains(c.id)) problem = "chunk " + to_hex(c.id).substr(0, 16) + " is not in the index";
          else if (auto it = bad.why.find(c.id); it != bad.why.end()) problem = it->second;
          if (problem.empty()) continue;
          std::string part = stream == &m.database->dump ? "dump" : "globals";
          result.problems.push_back({id, "database " + m.database->info.name + " (" + part + ")", "", problem});
          break;
        }
      }
    }
    // The files part, and the physical database part (a tree of the data folder): every file's
    // chunks indexed and, with read_data, intact.
    auto check_tree = [&](const std::vector<ChunkRef>& tree, const std::string& what) {
      std::vector<files::FileEntry> entries;
      try {
        entries = read_tree(repo, tree, id);
      } catch (const Error& e) {
        result.problems.push_back({id, "", "", what + " unreadable: " + e.what()});
        return;
      }
      for (const files::FileEntry& e : entries) {
        if (e.type != EntryType::kFile) continue;
        for (const ChunkRef& c : e.chunks) {
          if (!index.contains(c.id)) {
            result.problems.push_back({id, e.path, "", "chunk " + to_hex(c.id).substr(0, 16) + " is not in the index"});
            break;
          }
          if (auto it = bad.why.find(c.id); it != bad.why.end()) {
            result.problems.push_back({id, e.path, "", it->second});
            break;
          }
        }
      }
    };
    if (m.physical) check_tree(m.physical->tree, "physical backup's file list");
    check_tree(m.tree, "file list");
    if (m.physical) physical.push_back(std::move(m));
  }
  check_wal(repo, physical, options.read_data, result);
  result.ok = result.problems.empty();
  return result;
}

}  // namespace coffer
