#include "chunk/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "coffer/error.h"

namespace coffer {
namespace {

Bytes random_data(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return out;
}

Bytes seed_of(uint8_t first) {
  Bytes s(32);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(first + i);
  return s;
}

std::vector<size_t> chunk_sizes(const Chunker& c, ByteView data) {
  std::vector<size_t> sizes;
  for (size_t off = 0; off < data.size();) {
    const size_t n = c.next_boundary(data.subspan(off), true);
    EXPECT_GT(n, 0u);
    if (n == 0) break;
    sizes.push_back(n);
    off += n;
  }
  return sizes;
}

// Straightforward byte-at-a-time FastCDC with the same masks as chunker.cpp. It pins the
// boundary format (changing it would break dedup against existing repositories) and checks the
// unrolled scan in chunker.cpp against the obvious loop.
uint64_t reference_mask(unsigned bits) {
  uint64_t mask = 0;
  for (unsigned k = 0; k < bits; ++k) mask |= uint64_t{1} << (60 - k * 48 / bits);
  return mask;
}

size_t reference_boundary(ByteView d, bool at_eof, const ChunkerParams& p, const GearTable& gear) {
  const size_t end = std::min<size_t>(d.size(), p.max_size);
  const unsigned bits = static_cast<unsigned>(std::countr_zero(p.avg_size));
  uint64_t h = 0;
  for (size_t i = p.min_size; i < end; ++i) {
    h = (h << 1) + gear[d[i]];
    const uint64_t mask = i < p.avg_size ? reference_mask(bits + 2) : reference_mask(bits - 2);
    if ((h & mask) == 0) return i + 1;
  }
  if (at_eof || d.size() >= p.max_size) return end;
  return 0;
}

TEST(Chunker, ValidParams) {
  EXPECT_TRUE(valid_params(ChunkerParams{}));
  EXPECT_TRUE(valid_params({64, 64, 64}));
  EXPECT_TRUE(valid_params({16 << 10, 64 << 10, 256 << 10}));
  EXPECT_TRUE(valid_params({1 << 20, 1 << 20, 64 << 20}));
  EXPECT_FALSE(valid_params({63, 64, 64}));                    // min too small
  EXPECT_FALSE(valid_params({1 << 20, 1 << 20, (64 << 20) + 1}));  // max too large
  EXPECT_FALSE(valid_params({256 << 10, 1000 * 1000, 4 << 20}));  // avg not a power of two
  EXPECT_FALSE(valid_params({2 << 20, 1 << 20, 4 << 20}));     // min > avg
  EXPECT_FALSE(valid_params({256 << 10, 8 << 20, 4 << 20}));   // avg > max
  EXPECT_FALSE(valid_params({0, 0, 0}));

  const GearTable gear = make_gear_table(seed_of(0));
  EXPECT_THROW(Chunker({256 << 10, 3 << 20, 4 << 20}, gear), Error);
  EXPECT_NO_THROW(Chunker({64, 64, 64}, gear));
}

TEST(Chunker, GearTableIsSha256CounterMode) {
  const GearTable a = make_gear_table(seed_of(0));
  // SHA-256(seed || be32(counter)), 4 little-endian words per digest (computed with Python).
  EXPECT_EQ(a[0], 0x03ebb6523d00f470ULL);
  EXPECT_EQ(a[1], 0x86596b25932e85daULL);
  EXPECT_EQ(a[255], 0x8b5714c798cd563dULL);
  EXPECT_EQ(make_gear_table(seed_of(0)), a);
  EXPECT_NE(make_gear_table(seed_of(1)), a);
  EXPECT_THROW(make_gear_table(Bytes(31)), Error);
  EXPECT_THROW(make_gear_table(Bytes(33)), Error);
}

TEST(Chunker, MatchesReferenceImplementation) {
  const GearTable gear = make_gear_table(seed_of(3));
  const ChunkerParams cases[] = {{64, 64, 64},     {64, 128, 1024},  {100, 256, 700},
                                 {64, 64, 4096},   {1001, 1024, 4096}, {4096, 16384, 65536}};
  const Bytes data = random_data(1 << 20, 11);
  for (const ChunkerParams& p : cases) {
    const Chunker c(p, gear);
    size_t content_cuts = 0;
    for (size_t off = 0; off < data.size();) {
      const ByteView rest = ByteView(data).subspan(off);
      const size_t got = c.next_boundary(rest, true);
      ASSERT_EQ(got, reference_boundary(rest, true, p, gear)) << "min " << p.min_size << " off " << off;
      off += got;
      content_cuts += got < p.max_size;
    }
    if (p.min_size < p.max_size) {
      EXPECT_GT(content_cuts, 20u) << "min " << p.min_size;
    }
  }
}

TEST(Chunker, SizesStayWithinBounds) {
  const GearTable gear = make_gear_table(seed_of(5));
  const ChunkerParams p{16 << 10, 64 << 10, 256 << 10};
  const Bytes data = random_data(16 << 20, 1);
  const std::vector<size_t> sizes = chunk_sizes(Chunker(p, gear), data);
  size_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    total += sizes[i];
    if (i + 1 < sizes.size()) {
      EXPECT_GE(sizes[i], p.min_size);
      EXPECT_LE(sizes[i], p.max_size);
    }
  }
  EXPECT_EQ(total, data.size());
  // Normalized chunking keeps the mean near avg_size (measured ~1.15x on random data).
  const double mean = double(data.size()) / double(sizes.size());
  EXPECT_GT(mean, 0.9 * p.avg_size);
  EXPECT_LT(mean, 1.5 * p.avg_size);
}

TEST(Chunker, CutsAtMaxSizeWhenNoCutPointAppears) {
  // avg == max: only the hard 9-bit mask applies, so ~88% of chunks end at max_size.
  const GearTable gear = make_gear_table(seed_of(5));
  const ChunkerParams p{64, 128, 128};
  const Bytes data = random_data(1 << 20, 2);
  const std::vector<size_t> sizes = chunk_sizes(Chunker(p, gear), data);
  size_t at_max = 0;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    EXPECT_GT(sizes[i], 64u);
    EXPECT_LE(sizes[i], 128u);
    at_max += sizes[i] == 128;
  }
  EXPECT_GT(at_max, sizes.size() * 3 / 4);
  EXPECT_LT(at_max, sizes.size());
}

TEST(Chunker, DeterministicAndSeedDependent) {
  const ChunkerParams p{4 << 10, 16 << 10, 64 << 10};
  const Bytes data = random_data(4 << 20, 3);
  const GearTable g1 = make_gear_table(seed_of(1));
  const GearTable g1_again = make_gear_table(seed_of(1));
  const GearTable g2 = make_gear_table(seed_of(2));
  const std::vector<size_t> a = chunk_sizes(Chunker(p, g1), data);
  EXPECT_EQ(chunk_sizes(Chunker(p, g1_again), data), a);
  EXPECT_NE(chunk_sizes(Chunker(p, g2), data), a);
}

TEST(Chunker, InsertionShiftsOnlyNearbyChunks) {
  const GearTable gear = make_gear_table(seed_of(9));
  const Bytes before = random_data(32 << 20, 4);
  Bytes after = before;
  const uint8_t inserted[] = {1, 2, 3, 4, 5, 6, 7};
  after.insert(after.begin() + 5000, std::begin(inserted), std::end(inserted));

  for (const ChunkerParams& p : {ChunkerParams{}, ChunkerParams{64 << 10, 256 << 10, 1 << 20}}) {
    const Chunker c(p, gear);
    auto chunk_views = [&](const Bytes& d) {
      std::vector<std::string_view> views;
      size_t off = 0;
      for (size_t n : chunk_sizes(c, d)) {
        views.emplace_back(reinterpret_cast<const char*>(d.data()) + off, n);
        off += n;
      }
      return views;
    };
    std::unordered_set<std::string_view> old_chunks;
    for (std::string_view v : chunk_views(before)) old_chunks.insert(v);
    size_t kept = 0;
    for (std::string_view v : chunk_views(after)) kept += old_chunks.count(v) ? v.size() : 0;
    EXPECT_GT(double(kept), 0.9 * double(after.size())) << "avg " << p.avg_size;
    EXPECT_LT(kept, after.size());  // the edited chunk itself is new
  }
}

TEST(Chunker, EmptyAndShortInput) {
  const GearTable gear = make_gear_table(seed_of(6));
  const Chunker c({64, 128, 1024}, gear);
  EXPECT_EQ(c.next_boundary({}, true), 0u);
  EXPECT_EQ(c.next_boundary({}, false), 0u);
  const Bytes data = random_data(2048, 5);
  for (size_t n = 1; n <= data.size(); ++n) {
    const ByteView head = ByteView(data).first(n);
    const size_t at_eof = c.next_boundary(head, true);
    EXPECT_GE(at_eof, std::min<size_t>(n, 65));
    EXPECT_LE(at_eof, std::min<size_t>(n, 1024));
    const size_t more = c.next_boundary(head, false);
    if (n <= 64) {
      EXPECT_EQ(more, 0u) << n;  // no cut is possible before min_size
    }
    if (n >= 1024) {
      EXPECT_NE(more, 0u) << n;  // max_size bytes are always enough
    }
    if (more != 0) {
      EXPECT_EQ(more, at_eof) << n;  // a cut found early is final
    }
  }
}

TEST(Chunker, NeedMoreDataUntilTheCutPoint) {
  const GearTable gear = make_gear_table(seed_of(7));
  const ChunkerParams p{1 << 10, 4 << 10, 16 << 10};
  const Chunker c(p, gear);
  const Bytes data = random_data(64 << 10, 6);
  const size_t cut = c.next_boundary(data, false);
  ASSERT_GT(cut, p.min_size);
  ASSERT_LT(cut, p.max_size);  // a content cut, not the max_size fallback
  EXPECT_EQ(c.next_boundary(ByteView(data).first(cut - 1), false), 0u);
  EXPECT_EQ(c.next_boundary(ByteView(data).first(cut - 1), true), cut - 1);
  EXPECT_EQ(c.next_boundary(ByteView(data).first(cut), false), cut);
}

TEST(Chunker, StreamingMatchesWholeBuffer) {
  // A caller that feeds data in odd-sized pieces and asks again on 0 gets the same chunks.
  const GearTable gear = make_gear_table(seed_of(8));
  const ChunkerParams p{1 << 10, 4 << 10, 16 << 10};
  const Chunker c(p, gear);
  const Bytes data = random_data(1 << 20, 7);
  std::mt19937 rng(1);
  std::vector<size_t> streamed;
  size_t start = 0, available = 0;
  while (start < data.size()) {
    const bool eof = available == data.size();
    const size_t n = c.next_boundary(ByteView(data).subspan(start, available - start), eof);
    if (n == 0) {
      ASSERT_FALSE(eof);
      ASSERT_LT(available - start, p.max_size);
      available = std::min(data.size(), available + 1 + rng() % 5000);
      continue;
    }
    streamed.push_back(n);
    start += n;
  }
  EXPECT_EQ(streamed, chunk_sizes(c, data));
}

}  // namespace
}  // namespace coffer
