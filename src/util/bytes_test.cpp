#include "util/bytes.h"

#include <gtest/gtest.h>

#include "coffer/error.h"

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

}  // namespace coffer
