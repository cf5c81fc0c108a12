#include "engine/tree_stream.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "util/binary.h"

namespace coffer {
std::vector<ChunkRef> write_tree(ChunkStore& store, const ChunkerParams& params,
                                 const std::vector<files::FileEntry>& entries) {
  std::string text;
  for (const auto& e : entries) {
    text += files::to_json(e).dump();
    text += '\n';
  }
  MemorySource source(text);
  return store.add_stream(source, BlobType::kTree, params);
}

std::vector<files::FileEntry> read_tree(Repository& repo, const std::vector<ChunkRef>& tree,
                                        const std::string& backup_id) {
  std::string text;
  for (const ChunkRef& ref : tree) {
    Bytes chunk = repo.read_blob(ref.id);
    text.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }
  std::vector<files::FileEntry> entries;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) fail(ErrorCategory::kDamaged, "file list of backup " + backup_id + " is truncated");
    try {
      entries.push_back(files::from_json(nlohmann::json::parse(text.begin() + pos, text.begin() + nl)));
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCategory::kDamaged, "file list of backup " + backup_id + " is damaged: " + e.what());
    } catch (const Error& e) {
      fail(ErrorCategory::kDamaged, "file list of backup " + backup_id + ": " + e.what());
    }
    pos = nl + 1;
  }
  return entries;
}

std::vector<ChunkRef> write_ref_list(ChunkStore& store, const ChunkerParams& params, const std::vector<ChunkRef>& refs,
                                     DeltaBaseSource* bases) {
  BinaryWriter w;
  for (const ChunkRef& r : refs) {
    w.raw(r.id);
    w.u32(r.size);
  }
  std::string text(w.bytes().begin(), w.bytes().end());
  MemorySource source(text);
  return store.add_stream(source, BlobType::kTree, params, {}, bases);
}

std::vector<ChunkRef> read_ref_list(Repository& repo, const std::vector<ChunkRef>& list, uint64_t expected_bytes,
                                    const std::string& what) {
  Bytes data;
  for (const ChunkRef& ref : list) {
    Bytes chunk = repo.read_blob(ref.id);
    data.insert(data.end(), chunk.begin(), chunk.end());
  }
  if (data.size() % 36 != 0) fail(ErrorCategory::kDamaged, what + " has a damaged chunk list");
  BinaryReader r(data, what);
  std::vector<ChunkRef> refs(data.size() / 36);
  uint64_t total = 0;
  for (ChunkRef& ref : refs) {
    r.copy_to(ref.id);
    ref.size = r.u32();
    total += ref.size;
  }
  if (total != expected_bytes) fail(ErrorCategory::kDamaged, what + " has a chunk list that does not add up");
  return refs;
}

}  // namespace coffer
