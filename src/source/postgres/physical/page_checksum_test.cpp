#include "source/postgres/physical/page_checksum.h"

#include <gtest/gtest.h>

#include <vector>

namespace coffer::pg::physical {
namespace {

// A heap-like page: header with LSN 0/1000028, pd_lower 28, pd_upper 8000, some tuple bytes.
Bytes sample_page() {
  Bytes p(kPageBytes, 0);
  const uint32_t lsn_lo = 0x01000028;
  p[4] = lsn_lo & 0xff;
  p[5] = (lsn_lo >> 8) & 0xff;
  p[6] = (lsn_lo >> 16) & 0xff;
  p[7] = lsn_lo >> 24;
  p[12] = 28;
  p[14] = 8000 & 0xff;
  p[15] = 8000 >> 8;
  for (size_t i = 8000; i < kPageBytes; ++i) p[i] = static_cast<uint8_t>(i * 31);
  return p;
}

void store_checksum(Bytes& p, uint16_t c) {
  p[8] = c & 0xff;
  p[9] = c >> 8;
}

TEST(PageChecksumTest, APageWithItsOwnChecksumPassesAndADamagedOneFails) {
  Bytes p = sample_page();
  store_checksum(p, page_checksum(p, 7));
  EXPECT_EQ(page_header(p).lsn, 0x01000028u);
  EXPECT_FALSE(page_checksum_fails(p, 7, 0x02000000));
  EXPECT_TRUE(page_checksum_fails(p, 8, 0x02000000));  // the block number is part of it: a moved page fails
  p[8100] ^= 0x01;
  EXPECT_TRUE(page_checksum_fails(p, 7, 0x02000000));
}

TEST(PageChecksumTest, TheStoredChecksumDoesNotFeedItself) {
  Bytes p = sample_page();
  const uint16_t c = page_checksum(p, 3);
  store_checksum(p, 0xBEEF);
  EXPECT_EQ(page_checksum(p, 3), c);
  EXPECT_GE(c, 1u);  // never 0: PostgreSQL's checksums are 1..65535
}

TEST(PageChecksumTest, PagesThatCannotBeJudgedPass) {
  Bytes fresh(kPageBytes, 0);  // never initialised
  EXPECT_TRUE(page_header(fresh).is_new);
  EXPECT_FALSE(page_checksum_fails(fresh, 0, 0x02000000));
  Bytes p = sample_page();
  store_checksum(p, 1);  // wrong, but written after the backup started: replay rewrites it
  EXPECT_FALSE(page_checksum_fails(p, 7, 0x01000028));
  EXPECT_TRUE(page_checksum_fails(p, 7, 0x01000029));
}

// Hands out at most `step` bytes per read, so pages arrive split across reads.
class Dribble : public ByteSource {
 public:
  Dribble(ByteView data, size_t step) : data_(data), step_(step) {}
  size_t read(uint8_t* buf, size_t n) override {
    n = std::min({n, step_, data_.size() - at_});
    std::copy(data_.begin() + at_, data_.begin() + at_ + n, buf);
    at_ += n;
    return n;
  }

 private:
  ByteView data_;
  size_t step_;
  size_t at_ = 0;
};

TEST(PageCheckingSourceTest, ReportsTheBadBlocksWhateverTheReadSizes) {
  // Blocks 131072..131074: the second 1 GiB segment of a relation, its middle page damaged.
  Bytes file;
  for (uint32_t b = 131072; b < 131075; ++b) {
    Bytes p = sample_page();
    store_checksum(p, page_checksum(p, b));
    if (b == 131073) p[8100] ^= 0xff;
    file.insert(file.end(), p.begin(), p.end());
  }
  file.resize(file.size() + 100, 0);  // a torn tail: not a whole page, not checked
  for (size_t step : {size_t(1000), size_t(8192), size_t(65536), size_t(3)}) {
    Dribble inner(file, step);
    std::vector<uint32_t> bad;
    PageCheckingSource src(inner, 131072, 0x02000000, [&](uint32_t b) { bad.push_back(b); });
    Bytes out(file.size() + 10);
    size_t total = 0;
    while (size_t n = src.read(out.data() + total, out.size() - total)) total += n;
    EXPECT_EQ(total, file.size()) << step;
    EXPECT_EQ(bad, std::vector<uint32_t>{131073}) << step;
    EXPECT_TRUE(std::equal(file.begin(), file.end(), out.begin())) << "the bytes pass through unchanged";
  }
}

}  // namespace
}  // namespace coffer::pg::physical
