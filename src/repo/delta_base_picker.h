// Pairs each chunk of a new database dump with the chunk of the previous dump at the same place,
// as the base to store it as a delta against (chunk_store.h).
//
// A day's changes to a table touch rows all over it, so most of its chunks change a little while
// their content-defined boundaries stay put: chunk k of today's dump is then most like chunk k of
// yesterday's. Chunks found unchanged anchor the position (after yesterday's chunk j comes
// yesterday's j+1); each changed chunk takes the next one from the anchor on. Rows appended to a
// table land after its last old chunk, where that rule pairs them with the next table's first
// chunk: the anchor itself (the table's old tail, rows of the same shape) is the second choice.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "repo/chunk_store.h"

namespace coffer {

class DeltaBasePicker : public DeltaBaseSource {
 public:
  explicit DeltaBasePicker(std::vector<ChunkRef> previous);
  // Called for every chunk of the new stream, in order: nothing for a chunk the previous dump
  // has (it is stored already), else the previous dump's chunk at this place (if any is left)
  // and the last anchor (if any).
  std::vector<ChunkId> next(const ChunkId& id) override;

 private:
  std::vector<ChunkRef> previous_;
  std::unordered_map<ChunkId, size_t, ChunkIdHash> position_;  // first place of each chunk
  size_t cursor_ = 0;
  std::optional<size_t> anchor_;  // place of the last chunk found in the previous dump
};

}  // namespace coffer
