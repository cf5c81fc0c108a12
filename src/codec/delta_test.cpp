#include "codec/delta.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "codec/compression.h"
#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {

// Rows of a table dump: similar lines with distinct ids, like pg_dump's COPY data.
Bytes rows(int from, int to, int skip_every = 0) { return test_support::table_rows(from, to, skip_every); }

Bytes random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TEST(DeltaPayload, RoundTripsAgainstItsBase) {
  Bytes base = rows(0, 3000);
  Bytes changed = rows(0, 3000, 100);  // 1% of the rows gone
  Bytes payload = encode_delta_payload(3, base, changed);
  EXPECT_TRUE(is_delta_payload(payload));
  EXPECT_EQ(decode_delta_payload(payload, base, changed.size()), changed);
}

TEST(DeltaPayload, IsMuchSmallerThanPlainCompressionForASimilarChunk) {
  Bytes base = rows(0, 3000);
  Bytes changed = rows(0, 3000, 100);
  size_t plain = encode_payload({Codec::kZstd, 3}, changed).size();
  size_t delta = encode_delta_payload(3, base, changed).size();
  EXPECT_LT(delta * 20, plain) << "delta " << delta << " plain " << plain;
}

TEST(DeltaPayload, WorksForIncompressibleDataAndLargeChunks) {
  Bytes base = random_bytes(3 << 20, 1);
  Bytes changed = base;
  changed[12345] ^= 0xff;
  Bytes payload = encode_delta_payload(3, base, changed);
  EXPECT_LT(payload.size(), 4096u);  // one changed byte in 3 MiB of noise: the base carries it all
  EXPECT_EQ(decode_delta_payload(payload, base, changed.size()), changed);
}

TEST(DeltaPayload, EmptyBaseAndEmptyData) {
  Bytes data = rows(0, 10);
  EXPECT_EQ(decode_delta_payload(encode_delta_payload(3, {}, data), {}, data.size()), data);
  Bytes base = rows(0, 10);
  EXPECT_TRUE(decode_delta_payload(encode_delta_payload(3, base, {}), base, 0).empty());
}

TEST(DeltaPayload, AnotherBaseGivesOtherBytesNotTheOriginal) {
  Bytes base = rows(0, 3000);
  Bytes changed = rows(0, 3000, 100);
  Bytes payload = encode_delta_payload(3, base, changed);
  Bytes other = rows(1, 3001);
  Bytes out;
  try {
    out = decode_delta_payload(payload, other, changed.size());
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    return;
  }
  EXPECT_NE(out, changed);
}

TEST(DeltaPayload, DamageAndLimitsAreReportedAsDamage) {
  Bytes base = rows(0, 500);
  Bytes changed = rows(0, 500, 50);
  Bytes payload = encode_delta_payload(3, base, changed);
  auto expect_damaged = [&](ByteView p, size_t max) {
    try {
      decode_delta_payload(p, base, max);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kDamaged) << e.what();
    }
  };
  expect_damaged(ByteView(payload).first(payload.size() - 3), changed.size());  // truncated
  Bytes longer = payload;
  longer.push_back(0);
  expect_damaged(longer, changed.size());              // trailing bytes
  expect_damaged(payload, changed.size() - 1);         // over the limit
  Bytes plain = encode_payload({Codec::kZstd, 3}, changed);
  expect_damaged(plain, changed.size());               // not a delta
  expect_damaged(Bytes{}, changed.size());             // empty
}

TEST(DeltaPayload, PlainDecoderRefusesADeltaByName) {
  Bytes base = rows(0, 100);
  Bytes payload = encode_delta_payload(3, base, rows(0, 100, 7));
  try {
    decode_payload(payload, 1 << 20);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("without its base"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace coffer
