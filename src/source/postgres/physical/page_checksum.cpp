#include "source/postgres/physical/page_checksum.h"

#include <algorithm>
#include <cstring>

namespace coffer::pg::physical {
namespace {

constexpr int kSums = 32;
constexpr uint32_t kFnvPrime = 16777619;
constexpr uint32_t kBaseOffsets[kSums] = {
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756};

inline void mix(uint32_t& sum, uint32_t value) {
  const uint32_t t = sum ^ value;
  sum = (t * kFnvPrime) ^ (t >> 17);
}

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }

}  // namespace

uint16_t page_checksum(ByteView page, uint32_t block) {
  uint32_t sums[kSums];
  std::memcpy(sums, kBaseOffsets, sizeof sums);
  // The page as 32-bit words, with pd_checksum (bytes 8-9) taken as zero.
  uint8_t copy[kPageBytes];
  std::memcpy(copy, page.data(), kPageBytes);
  copy[8] = copy[9] = 0;
  for (size_t i = 0; i < kPageBytes / (4 * kSums); ++i)
    for (int j = 0; j < kSums; ++j) mix(sums[j], le32(copy + 4 * (i * kSums + j)));
  for (int round = 0; round < 2; ++round)
    for (int j = 0; j < kSums; ++j) mix(sums[j], 0);
  uint32_t result = 0;
  for (int j = 0; j < kSums; ++j) result ^= sums[j];
  result ^= block;
  return static_cast<uint16_t>(result % 65535 + 1);
}

PageHeader page_header(ByteView page) {
  PageHeader h;
  // pd_lsn is {xlogid, xrecoff}: two 32-bit halves, high first.
  h.lsn = (uint64_t(le32(page.data())) << 32) | le32(page.data() + 4);
  h.checksum = le16(page.data() + 8);
  h.is_new = le16(page.data() + 14) == 0;  // pd_upper
  return h;
}

bool page_checksum_fails(ByteView page, uint32_t block, uint64_t backup_start_lsn) {
  const PageHeader h = page_header(page);
  if (h.is_new || h.lsn >= backup_start_lsn) return false;
  return page_checksum(page, block) != h.checksum;
}

}  // namespace coffer::pg::physical

namespace coffer::pg::physical {

size_t PageCheckingSource::read(uint8_t* buf, size_t n) {
  const size_t got = inner_.read(buf, n);
  size_t at = 0;
  if (!partial_.empty()) {  // finish the page begun in an earlier read
    const size_t take = std::min(kPageBytes - partial_.size(), got);
    partial_.insert(partial_.end(), buf, buf + take);
    at = take;
    if (partial_.size() == kPageBytes) {
      if (page_checksum_fails(partial_, block_, start_lsn_)) on_bad_page_(block_);
      ++block_;
      partial_.clear();
    }
  }
  for (; at + kPageBytes <= got; at += kPageBytes, ++block_)
    if (page_checksum_fails(ByteView(buf + at, kPageBytes), block_, start_lsn_)) on_bad_page_(block_);
  if (at < got) partial_.insert(partial_.end(), buf + at, buf + got);
  return got;
}

}  // namespace coffer::pg::physical
