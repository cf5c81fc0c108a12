// Content-defined chunking with FastCDC (Xia et al., 2016, with normalized chunking, level 2).
// Boundaries depend only on content and the gear table, so an insertion early in a stream
// shifts only the chunks around it. The gear table is derived from a secret seed so that chunk
// boundaries (and thus sizes) do not leak content fingerprints.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "util/bytes.h"

namespace coffer {

struct ChunkerParams {
  uint32_t min_size = 256 * 1024;
  uint32_t avg_size = 1024 * 1024;   // must be a power of two
  uint32_t max_size = 4 * 1024 * 1024;
};

// Returns true when min <= avg <= max, avg is a power of two, and 64 <= min, max <= 64 MiB.
bool valid_params(const ChunkerParams& p);

using GearTable = std::array<uint64_t, 256>;
// Deterministic gear table from a 32-byte seed (expanded with SHA-256 in counter mode).
GearTable make_gear_table(ByteView seed);

class Chunker {
 public:
  // `gear` must outlive the chunker.
  Chunker(const ChunkerParams& params, const GearTable& gear);

  // Length of the next chunk at the start of `data`. `at_eof` says no more data follows: then a
  // short tail is returned as the last chunk. When !at_eof and data.size() < max_size, it may
  // return 0, meaning "give me more data" (callers keep at least max_size bytes buffered).
  size_t next_boundary(ByteView data, bool at_eof) const;

  const ChunkerParams& params() const { return params_; }

 private:
  ChunkerParams params_;
  const GearTable& gear_;
  uint64_t mask_small_;  // harder to match: used before avg_size
  uint64_t mask_large_;  // easier to match: used after avg_size
};

}  // namespace coffer
