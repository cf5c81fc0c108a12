#include "codec/compression.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <random>
#include <string>
#include <vector>

#include "coffer/error.h"

namespace coffer {

namespace {

const Codec kCompressing[] = {Codec::kZstd, Codec::kGzip, Codec::kLz4};

Bytes text_like(size_t n) {
  static const std::string words[] = {"backup ", "chunk ", "repository ", "postgres ", "wal ",
                                      "snapshot ", "\n", "coffer ", "0123 ", "index "};
  std::mt19937 rng(42);
  Bytes out;
  while (out.size() < n) {
    const std::string& w = words[rng() % std::size(words)];
    out.insert(out.end(), w.begin(), w.end());
  }
  out.resize(n);
  return out;
}

Bytes random_data(size_t n) {
  std::mt19937_64 rng(7);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

void expect_damaged(ByteView encoded, size_t max_size, const std::string& what) {
  try {
    decode_payload(encoded, max_size);
    ADD_FAILURE() << what << ": expected Error(kDamaged), got success";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged) << what << ": " << e.what();
  }
}

// A zstd frame without a content size in its header, as streaming compressors write it.
Bytes zstd_frame_without_size(ByteView data) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  Bytes out(ZSTD_compressBound(data.size()) + 64);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t rc = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
  EXPECT_EQ(rc, 0u);
  out.resize(o.pos);
  EXPECT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  out.insert(out.begin(), static_cast<uint8_t>(Codec::kZstd));
  return out;
}

}  // namespace

TEST(Compression, NamesAndLevels) {
  std::vector<std::string> names;
  for (Codec c : kAllCodecs) names.push_back(codec_name(c));
  EXPECT_EQ(names, (std::vector<std::string>{"zstd", "gzip", "lz4", "none"}));
  for (Codec c : kAllCodecs) {
    EXPECT_EQ(codec_from_name(codec_name(c)), c);
    auto [lo, hi] = level_range(c);
    EXPECT_LE(lo, default_level(c));
    EXPECT_GE(hi, default_level(c));
  }
  EXPECT_EQ(codec_from_name("zstd"), Codec::kZstd);
  EXPECT_FALSE(codec_from_name("ZSTD").has_value());
  EXPECT_FALSE(codec_from_name("brotli").has_value());
  EXPECT_FALSE(codec_from_name("").has_value());
  EXPECT_EQ(level_range(Codec::kZstd), std::make_pair(1, 19));
  EXPECT_EQ(level_range(Codec::kGzip), std::make_pair(1, 9));
  EXPECT_EQ(level_range(Codec::kLz4), std::make_pair(0, 0));
  EXPECT_EQ(level_range(Codec::kNone), std::make_pair(0, 0));
  EXPECT_EQ(default_level(Codec::kZstd), 3);
  EXPECT_EQ(default_level(Codec::kGzip), 6);
}

TEST(Compression, RoundTripEveryCodecAndLevel) {
  const Bytes data = text_like(300 * 1024);
  const std::pair<Codec, std::vector<int>> cases[] = {
      {Codec::kZstd, {1, 3, 9, 19, 0, 100}},  // out-of-range levels are clamped
      {Codec::kGzip, {1, 6, 9, -5}},
      {Codec::kLz4, {0}},
  };
  for (const auto& [codec, levels] : cases) {
    for (int level : levels) {
      Bytes enc = encode_payload({codec, level}, data);
      ASSERT_FALSE(enc.empty());
      EXPECT_EQ(enc[0], static_cast<uint8_t>(codec)) << codec_name(codec) << " level " << level;
      EXPECT_LT(enc.size(), data.size() / 2) << codec_name(codec) << " level " << level;
      EXPECT_EQ(decode_payload(enc, data.size()), data) << codec_name(codec) << " level " << level;
    }
  }
  Bytes plain = encode_payload({Codec::kNone, 0}, data);
  EXPECT_EQ(plain.size(), data.size() + 1);
  EXPECT_EQ(plain[0], 0);
  EXPECT_EQ(decode_payload(plain, data.size()), data);
}

TEST(Compression, NoiseIsToldFromTextAndSmallData) {
  EXPECT_TRUE(looks_like_noise(random_data(64 << 10)));
  EXPECT_FALSE(looks_like_noise(text_like(64 << 10)));
  EXPECT_FALSE(looks_like_noise(Bytes(64 << 10, 0x41)));
  // Text after random bytes: the samples spread over the chunk see the text.
  Bytes mixed = random_data(32 << 10);
  Bytes text = text_like(32 << 10);
  mixed.insert(mixed.end(), text.begin(), text.end());
  EXPECT_FALSE(looks_like_noise(mixed));
  EXPECT_FALSE(looks_like_noise(random_data(4 << 10)));  // too small to judge: compressed as asked
}

TEST(Compression, NoiseWithRepeatsStillShrinksAtAHighLevel) {
  // Noise-like bytes are compressed at level 1, which still finds long repeats (a photo uploaded
  // twice inside one chunk) and entropy-codes the rest.
  Bytes once = random_data(40 << 10);
  Bytes twice = once;
  twice.insert(twice.end(), once.begin(), once.end());
  ASSERT_TRUE(looks_like_noise(twice));
  Bytes packed = encode_payload({Codec::kZstd, 19}, twice);
  EXPECT_EQ(packed[0], static_cast<uint8_t>(Codec::kZstd));
  EXPECT_LT(packed.size(), once.size() + once.size() / 10);
  EXPECT_EQ(decode_payload(packed, twice.size()), twice);
}

TEST(Compression, EmptyInput) {
  for (Codec c : {Codec::kNone, Codec::kZstd, Codec::kGzip, Codec::kLz4}) {
    Bytes enc = encode_payload({c, default_level(c)}, {});
    EXPECT_EQ(enc, Bytes{0}) << codec_name(c);
    EXPECT_TRUE(decode_payload(enc, 0).empty());
  }
}

TEST(Compression, IncompressibleFallsBackToNone) {
  const Bytes data = random_data(64 * 1024);
  for (Codec c : kCompressing) {
    Bytes enc = encode_payload({c, default_level(c)}, data);
    EXPECT_EQ(enc.size(), data.size() + 1) << codec_name(c);
    EXPECT_EQ(enc[0], static_cast<uint8_t>(Codec::kNone)) << codec_name(c);
    EXPECT_EQ(decode_payload(enc, data.size()), data);
  }
}

TEST(Compression, MaxSizeIsInclusive) {
  const Bytes data = text_like(100 * 1000);
  std::vector<Bytes> encodings;
  for (Codec c : {Codec::kNone, Codec::kZstd, Codec::kGzip, Codec::kLz4}) {
    encodings.push_back(encode_payload({c, default_level(c)}, data));
  }
  encodings.push_back(zstd_frame_without_size(data));
  for (const Bytes& enc : encodings) {
    std::string name = "codec " + std::to_string(enc[0]);
    EXPECT_EQ(decode_payload(enc, data.size()), data) << name;
    expect_damaged(enc, data.size() - 1, name + " one byte over max_size");
  }
}

TEST(Compression, ZstdFrameWithoutContentSize) {
  const Bytes data = text_like(1 << 20);  // several streaming output blocks
  Bytes enc = zstd_frame_without_size(data);
  EXPECT_EQ(decode_payload(enc, data.size() + 10), data);
  expect_damaged(enc, 4096, "unsized zstd frame over max_size");
  Bytes truncated(enc.begin(), enc.end() - 3);
  expect_damaged(truncated, data.size(), "unsized zstd frame truncated");
}

TEST(Compression, BombIsRejected) {
  const Bytes zeros(100u << 20, 0);
  for (Codec c : kCompressing) {
    Bytes enc = encode_payload({c, 1}, zeros);
    ASSERT_NE(enc[0], static_cast<uint8_t>(Codec::kNone));
    EXPECT_LT(enc.size(), 1u << 20) << codec_name(c);
    expect_damaged(enc, 4u << 20, std::string(codec_name(c)) + " bomb");
  }
  expect_damaged(zstd_frame_without_size(zeros), 4u << 20, "unsized zstd bomb");
}

TEST(Compression, MalformedInputThrowsDamaged) {
  expect_damaged({}, 100, "empty input");
  expect_damaged(Bytes{4, 1, 2, 3}, 100, "unknown codec 4");
  expect_damaged(Bytes{0xff}, 100, "unknown codec 255");
  for (Codec c : kCompressing) {
    expect_damaged(Bytes{static_cast<uint8_t>(c)}, 100, std::string(codec_name(c)) + " no payload");
  }
  expect_damaged(Bytes{static_cast<uint8_t>(Codec::kLz4), 5, 0, 0}, 100, "lz4 short prefix");

  const Bytes data = text_like(50 * 1000);
  for (Codec c : kCompressing) {
    const Bytes enc = encode_payload({c, default_level(c)}, data);
    const std::string name = codec_name(c);
    for (size_t cut : {size_t{1}, size_t{7}, enc.size() / 2, enc.size() - 2}) {
      Bytes truncated(enc.begin(), enc.end() - static_cast<std::ptrdiff_t>(cut));
      expect_damaged(truncated, data.size(), name + " truncated by " + std::to_string(cut));
    }
    Bytes trailing = enc;
    trailing.push_back(0x42);
    expect_damaged(trailing, data.size(), name + " trailing byte");
    Bytes bad_header = enc;
    bad_header[1] ^= 0xff;  // zstd/gzip magic, lz4 length prefix
    expect_damaged(bad_header, data.size(), name + " damaged header");
  }
  // gzip carries a CRC-32: a flipped byte anywhere in the stream is caught.
  Bytes gz = encode_payload({Codec::kGzip, 6}, data);
  gz[gz.size() / 2] ^= 0x01;
  expect_damaged(gz, data.size(), "gzip flipped byte");
  // lz4 stores the length separately: a prefix that disagrees with the block is caught.
  Bytes lz = encode_payload({Codec::kLz4, 0}, data);
  lz[1] ^= 0x01;
  expect_damaged(lz, data.size() + 10, "lz4 wrong length prefix");
}

}  // namespace coffer
