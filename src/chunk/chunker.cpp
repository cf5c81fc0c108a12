#include "chunk/chunker.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <string>

#include "coffer/error.h"

namespace coffer {
namespace {

constexpr uint32_t kMinAllowed = 64;
constexpr uint32_t kMaxAllowed = 64u * 1024 * 1024;

// `bits` one-bits spread evenly over bit positions 60 down to 13. A gear hash bit at position p
// depends on the last p+1 bytes, so a high, spread mask lets every cut depend on a window of
// ~60 bytes (the FastCDC spread-mask idea) rather than on the last few bytes. Bits 61..63 stay
// clear because find_cut tests hashes shifted left by up to 3.
uint64_t spread_mask(unsigned bits) {
  constexpr unsigned kTop = 60;
  constexpr unsigned kSpan = 48;
  uint64_t mask = 0;
  for (unsigned k = 0; k < bits; ++k) mask |= uint64_t{1} << (kTop - k * kSpan / bits);
  return mask;
}

// Scans bytes i..end-1 with the gear hash h = (h << 1) + gear[byte]; returns the first index whose
// hash has (h & mask) == 0, or `end` (then `h` holds the hash after end-1, to continue from).
// Four bytes per step: with H = h_i << 4, h_{i+k} << (3-k) = H + sum_{j<=k} gear[b_j] << (3-j),
// so all four tests depend on h_i only and the serial chain is one shift and one add per four
// bytes instead of one per byte (~1.5x faster). Testing h << s against mask << s is exact since
// the mask has no bits above 60.
inline size_t find_cut(const uint8_t* p, size_t i, size_t end, uint64_t& h, uint64_t mask,
                       const uint64_t* gear) {
  const uint64_t mask1 = mask << 1, mask2 = mask << 2, mask3 = mask << 3;
  uint64_t hash = h;
  for (; i + 4 <= end; i += 4) {
    const uint64_t a = gear[p[i]] << 3;
    const uint64_t b = a + (gear[p[i + 1]] << 2);
    const uint64_t c = b + (gear[p[i + 2]] << 1);
    const uint64_t d = c + gear[p[i + 3]];
    const uint64_t base = hash << 4;
    if (((base + a) & mask3) == 0) return i;
    if (((base + b) & mask2) == 0) return i + 1;
    if (((base + c) & mask1) == 0) return i + 2;
    hash = base + d;
    if ((hash & mask) == 0) return i + 3;
  }
  for (; i < end; ++i) {
    hash = (hash << 1) + gear[p[i]];
    if ((hash & mask) == 0) return i;
  }
  h = hash;
  return end;
}

}  // namespace

bool valid_params(const ChunkerParams& p) {
  return p.min_size >= kMinAllowed && p.max_size <= kMaxAllowed && p.min_size <= p.avg_size &&
         p.avg_size <= p.max_size && std::has_single_bit(p.avg_size);
}

GearTable make_gear_table(ByteView seed) {
  if (seed.size() != 32)
    fail(ErrorCategory::kInternal,
         "chunker seed must be 32 bytes, got " + std::to_string(seed.size()) +
             " (derive it from the repository key)");
  GearTable table{};
  // SHA-256(seed || counter_be32) yields 4 little-endian uint64 entries per counter value.
  for (uint32_t counter = 0; counter < table.size() / 4; ++counter) {
    uint8_t input[36];
    std::copy(seed.begin(), seed.end(), input);
    input[32] = static_cast<uint8_t>(counter >> 24);
    input[33] = static_cast<uint8_t>(counter >> 16);
    input[34] = static_cast<uint8_t>(counter >> 8);
    input[35] = static_cast<uint8_t>(counter);
    uint8_t digest[32];
    unsigned int len = 0;
    if (EVP_Digest(input, sizeof input, digest, &len, EVP_sha256(), nullptr) != 1 || len != 32)
      fail(ErrorCategory::kInternal, "SHA-256 failed while deriving the chunker gear table");
    for (size_t w = 0; w < 4; ++w) {
      uint64_t v = 0;
      for (size_t b = 0; b < 8; ++b) v |= uint64_t{digest[w * 8 + b]} << (8 * b);
      table[counter * 4 + w] = v;
    }
  }
  return table;
}

Chunker::Chunker(const ChunkerParams& params, const GearTable& gear) : params_(params), gear_(gear) {
  if (!valid_params(params))
    fail(ErrorCategory::kConfig,
         "invalid chunk sizes (min " + std::to_string(params.min_size) + ", avg " +
             std::to_string(params.avg_size) + ", max " + std::to_string(params.max_size) +
             "): need 64 <= min <= avg <= max <= 64 MiB with avg a power of two");
  // Normalized chunking level 2: two extra bits before avg_size, two fewer after it.
  const unsigned bits = static_cast<unsigned>(std::countr_zero(params.avg_size));
  mask_small_ = spread_mask(bits + 2);
  mask_large_ = spread_mask(bits - 2);  // bits >= 6 since avg >= 64
}

size_t Chunker::next_boundary(ByteView data, bool at_eof) const {
  const size_t n = data.size();
  const size_t end = n < params_.max_size ? n : params_.max_size;
  // Without a cut point, the chunk is final only at EOF or when max_size bytes are at hand.
  const bool final_without_cut = at_eof || n >= params_.max_size;
  if (end <= params_.min_size) return final_without_cut ? end : 0;

  const uint8_t* p = data.data();
  const uint64_t* gear = gear_.data();
  uint64_t h = 0;
  const size_t normal_end = end < params_.avg_size ? end : params_.avg_size;
  size_t i = find_cut(p, params_.min_size, normal_end, h, mask_small_, gear);
  if (i < normal_end) return i + 1;
  i = find_cut(p, normal_end, end, h, mask_large_, gear);
  if (i < end) return i + 1;
  return final_without_cut ? end : 0;
}

}  // namespace coffer
