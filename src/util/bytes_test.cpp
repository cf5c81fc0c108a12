#include "util/bytes.h"

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "coffer/human_bytes.h"

namespace coffer {

TEST(Bytes, HexRoundTrip) {
  Bytes b{0x00, 0x7f, 0x80, 0xff, 0x12};
  EXPECT_EQ(to_hex(b), "007f80ff12");
  EXPECT_EQ(from_hex("007F80ff12"), b);
}

TEST(Bytes, HexRejectsBadInput) {
  EXPECT_THROW(from_hex("abc"), Error);
  EXPECT_THROW(from_hex("zz"), Error);
}

TEST(Bytes, HumanBytesPicksTheLargestUnitBelow1024) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(480ull << 20), "480.0 MiB");
  EXPECT_EQ(human_bytes(3ull << 40), "3.0 TiB");
  EXPECT_EQ(human_bytes(5000ull << 40), "5000.0 TiB");
}

}  // namespace coffer
