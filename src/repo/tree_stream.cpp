#include "repo/tree_stream.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "util/binary.h"

namespace coffer {

namespace {

// The tree stream's bytes, made one entry's line at a time as the chunker asks for them.
class EntryLines : public ByteSource {
 public:
  explicit EntryLines(const std::vector<files::FileEntry>& entries) : entries_(entries) {}
  size_t read(uint8_t* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (pos_ == line_.size()) {
        if (next_ == entries_.size()) break;
        line_ = files::to_json(entries_[next_++]).dump();
        line_ += '\n';
        pos_ = 0;
      }
      const size_t k = std::min(n - done, line_.size() - pos_);
      std::memcpy(buf + done, line_.data() + pos_, k);
      pos_ += k;
      done += k;
    }
    return done;
  }

 private:
  const std::vector<files::FileEntry>& entries_;
  size_t next_ = 0;
  std::string line_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<ChunkRef> write_tree(ChunkStore& store, const ChunkerParams& params,
                                 const std::vector<files::FileEntry>& entries) {
  EntryLines source(entries);
  return store.add_stream(source, BlobType::kTree, params);
}

void for_each_tree_entry(Repository& repo, const std::vector<ChunkRef>& tree, const std::string& backup_id,
                         const std::function<void(files::FileEntry&)>& on_entry) {
  std::string text;  // the current chunk, after the previous chunks' unfinished last line
  for (const ChunkRef& ref : tree) {
    Bytes chunk = repo.read_blob(ref.id);
    text.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    size_t pos = 0;
    for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      files::FileEntry entry;
      try {
        entry = files::from_json(nlohmann::json::parse(text.begin() + pos, text.begin() + nl));
      } catch (const nlohmann::json::exception& e) {
        fail(ErrorCategory::kDamaged, "file list of backup " + backup_id + " is damaged: " + e.what());
      } catch (const Error& e) {
        fail(ErrorCategory::kDamaged, "file list of backup " + backup_id + ": " + e.what());
      }
      on_entry(entry);
    }
    text.erase(0, pos);
  }
  if (!text.empty()) fail(ErrorCategory::kDamaged, "file list of backup " + backup_id + " is truncated");
}

std::vector<files::FileEntry> read_tree(Repository& repo, const std::vector<ChunkRef>& tree,
                                        const std::string& backup_id) {
  std::vector<files::FileEntry> entries;
  for_each_tree_entry(repo, tree, backup_id, [&](files::FileEntry& e) { entries.push_back(std::move(e)); });
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
