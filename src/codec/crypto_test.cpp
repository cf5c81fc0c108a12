#include "codec/crypto.h"

#include <gtest/gtest.h>

#include <cstring>

#include "coffer/error.h"

namespace coffer {

namespace {

Key key_from_hex(std::string_view hex) {
  Bytes b = from_hex(hex);
  Key k{};
  std::memcpy(k.data(), b.data(), std::min(b.size(), k.size()));
  return k;
}

Key key_of(uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}

void expect_open_fails(const Key& key, ByteView sealed, ByteView aad, const std::string& what) {
  try {
    open(key, sealed, aad);
    ADD_FAILURE() << what << ": expected Error(kDamaged), got success";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged) << what;
    EXPECT_NE(std::string(e.what()).find("authentication failed"), std::string::npos) << e.what();
  }
}

// Small Argon2id settings so the tests stay fast.
constexpr KdfParams kFastKdf{256, 1, 1};

}  // namespace

TEST(Crypto, RandomBytes) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  Bytes a = random_bytes(64), b = random_bytes(64);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_NE(random_key(), random_key());
}

TEST(Crypto, SealOpenRoundTrip) {
  const Key key = random_key();
  const ByteView aad = as_bytes("chunk");
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{1000}, size_t{1} << 20}) {
    Bytes plain(n);
    for (size_t i = 0; i < n; ++i) plain[i] = static_cast<uint8_t>(i * 31 + 7);
    Bytes sealed = seal(key, plain, aad);
    EXPECT_EQ(sealed.size(), n + kSealOverhead);
    EXPECT_EQ(open(key, sealed, aad), plain) << n;
  }
  Bytes sealed = seal(key, as_bytes("no aad"), {});
  EXPECT_EQ(to_string(open(key, sealed, {})), "no aad");
}

TEST(Crypto, SealUsesAFreshNonce) {
  const Key key = random_key();
  Bytes a = seal(key, as_bytes("same plaintext"), as_bytes("x"));
  Bytes b = seal(key, as_bytes("same plaintext"), as_bytes("x"));
  EXPECT_NE(a, b);
  EXPECT_FALSE(std::equal(a.begin(), a.begin() + kNonceSize, b.begin()));
}

// GCM spec test case 14: zero key, zero IV, 16 zero bytes. Pins the nonce||ciphertext||tag layout.
TEST(Crypto, OpenKnownAnswer) {
  Bytes sealed = from_hex("000000000000000000000000"
                          "cea7403d4d606b6e074ec5d3baf39d18"
                          "d0d1c8a799996bf0265b98b5d48ab919");
  EXPECT_EQ(open(Key{}, sealed, {}), Bytes(16, 0));
}

TEST(Crypto, TamperingIsDetected) {
  const Key key = random_key();
  const Bytes aad = from_hex("01");
  const Bytes sealed = seal(key, as_bytes("the secret payload"), aad);
  const size_t positions[] = {0, kNonceSize - 1, kNonceSize, kNonceSize + 5, sealed.size() - kTagSize,
                              sealed.size() - 1};
  for (size_t pos : positions) {
    Bytes bad = sealed;
    bad[pos] ^= 0x01;
    expect_open_fails(key, bad, aad, "flipped byte at " + std::to_string(pos));
  }
  expect_open_fails(key_of(1), sealed, aad, "wrong key");
  expect_open_fails(key, sealed, from_hex("02"), "wrong aad");
  expect_open_fails(key, sealed, {}, "missing aad");
  Bytes truncated(sealed.begin(), sealed.end() - 1);
  expect_open_fails(key, truncated, aad, "truncated");
  expect_open_fails(key, Bytes(kSealOverhead - 1, 0), aad, "shorter than overhead");
  expect_open_fails(key, {}, aad, "empty");
  expect_open_fails(key, Bytes(kSealOverhead, 0), aad, "zero-length forgery");
}

TEST(Crypto, ErrorMessagesCarryNoKeyBytes) {
  const Key key = key_of(0xab);
  try {
    open(key, Bytes(40, 0), {});
    FAIL() << "expected failure";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("abab"), std::string::npos);
  }
}

// RFC 4231 test case 2. HMAC zero-pads short keys, so "Jefe" in a 32-byte key is the same key.
TEST(Crypto, HmacSha256KnownAnswer) {
  Key key = key_from_hex("4a656665");
  EXPECT_EQ(to_hex(hmac_sha256(key, as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 1: 20 bytes of 0x0b.
  Key key1 = key_from_hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  EXPECT_EQ(to_hex(hmac_sha256(key1, as_bytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_NE(hmac_sha256(key_of(1), as_bytes("x")), hmac_sha256(key_of(2), as_bytes("x")));
}

// BLAKE3's official test-vector key and inputs (byte i is i % 251); expected values from the
// Rust implementation (b3sum --keyed), so the C code we build is checked against another one.
// The lengths cover one block, several chunks and the SIMD paths (16 chunks at once).
TEST(Crypto, KeyedBlake3KnownAnswer) {
  Key key;
  const std::string k = "whats the Elvish word for friend";
  std::copy(k.begin(), k.end(), key.begin());
  auto input = [](size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i % 251);
    return b;
  };
  EXPECT_EQ(to_hex(keyed_blake3(key, input(0))), "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26");
  EXPECT_EQ(to_hex(keyed_blake3(key, input(1))), "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b");
  EXPECT_EQ(to_hex(keyed_blake3(key, input(1025))), "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69");
  EXPECT_EQ(to_hex(keyed_blake3(key, input(31744))), "efa53b389ab67c593dba624d898d0f7353ab99e4ac9d42302ee64cbf9939a419");
  EXPECT_EQ(to_hex(keyed_blake3(key, input(102400))), "1c35d1a5811083fd7119f5d5d1ba027b4d01c0c6c49fb6ff2cf75393ea5db4a7");
  EXPECT_NE(keyed_blake3(key_of(1), as_bytes("x")), keyed_blake3(key_of(2), as_bytes("x")));
}

TEST(Crypto, Sha256KnownAnswer) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, EqualCt) {
  EXPECT_TRUE(equal_ct(from_hex("0102"), from_hex("0102")));
  EXPECT_FALSE(equal_ct(from_hex("0102"), from_hex("0103")));
  EXPECT_FALSE(equal_ct(from_hex("0102"), from_hex("010200")));
  EXPECT_TRUE(equal_ct({}, {}));
}

TEST(Crypto, Argon2idKnownAnswer) {
  // phc-winner-argon2 src/test.c (version 0x13), also reproduced with the argon2 CLI.
  KdfParams p{256, 2, 1};
  EXPECT_EQ(to_hex(derive_key("password", as_bytes("somesalt"), p)),
            "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe");
  p.parallelism = 2;
  EXPECT_EQ(to_hex(derive_key("password", as_bytes("somesalt"), p)),
            "6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037");
}

TEST(Crypto, Argon2idDeterministicAndSensitive) {
  const Bytes salt = from_hex("000102030405060708090a0b0c0d0e0f");
  const Key k = derive_key("correct horse", salt, kFastKdf);
  EXPECT_EQ(derive_key("correct horse", salt, kFastKdf), k);
  EXPECT_NE(derive_key("correct horsf", salt, kFastKdf), k);
  EXPECT_NE(derive_key("correct horse", from_hex("000102030405060708090a0b0c0d0e0e"), kFastKdf), k);
  EXPECT_NE(derive_key("correct horse", salt, KdfParams{512, 1, 1}), k);
  EXPECT_NE(derive_key("correct horse", salt, KdfParams{256, 2, 1}), k);
}

TEST(Crypto, Argon2idRejectsBadParameters) {
  try {
    derive_key("hunter2-secret", from_hex("0102"), kFastKdf);  // salt below the 8-byte minimum
    FAIL() << "expected failure";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  EXPECT_THROW(derive_key("pw", as_bytes("somesalt"), KdfParams{256, 0, 1}), Error);
}

}  // namespace coffer
