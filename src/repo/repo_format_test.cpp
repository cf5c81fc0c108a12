// Pack, index, sealing and key-file formats: round trips and damage detection.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "codec/compression.h"
#include "coffer/error.h"
#include "repo/index.h"
#include "repo/keys.h"
#include "repo/object_sealer.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "storage/local/local_storage.h"
#include "storage/storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {

ChunkId id_of(const MasterKeys& k, std::string_view s) { return keyed_blake3(k.id, as_bytes(s)); }

Bytes sealed_blob(const ObjectSealer& sealer, std::string_view s) {
  Bytes payload{0};  // codec none
  payload.insert(payload.end(), s.begin(), s.end());
  return sealer.seal("blob", payload);
}

}  // namespace

class RepoFormat : public ::testing::TestWithParam<bool> {};

TEST_P(RepoFormat, PackRoundTripAndDamage) {
  MasterKeys keys = generate_master_keys();
  ObjectSealer sealer(keys, GetParam(), ChunkIdFunction::kKeyedBlake3);
  PackBuilder b;
  b.add(BlobType::kData, id_of(keys, "alpha"), 5, sealed_blob(sealer, "alpha"));
  b.add(BlobType::kTree, id_of(keys, "beta!"), 5, sealed_blob(sealer, "beta!"));
  std::vector<PackEntry> entries;
  Bytes pack = b.finish(sealer, &entries);
  EXPECT_TRUE(b.empty());
  auto header = read_pack_header(sealer, pack, "pack p");
  ASSERT_EQ(header.size(), 2u);
  EXPECT_EQ(header[1].type, BlobType::kTree);
  EXPECT_EQ(header[1].id, entries[1].id);
  Bytes plain = open_blob(sealer, header[0].id, ByteView(pack).subspan(header[0].offset, header[0].length), 5, "b");
  EXPECT_EQ(to_string(plain), "alpha");

  // A flipped byte inside a blob is caught by the AEAD tag or, unencrypted, by the id check.
  Bytes damaged = pack;
  damaged[header[0].offset + header[0].length - 20] ^= 1;
  EXPECT_THROW(open_blob(sealer, header[0].id, ByteView(damaged).subspan(header[0].offset, header[0].length), 5, "b"),
               Error);
  // A blob presented under another id is refused.
  EXPECT_THROW(open_blob(sealer, header[1].id, ByteView(pack).subspan(header[0].offset, header[0].length), 5, "b"),
               Error);
  // A damaged header or trailer is refused.
  damaged = pack;
  damaged[damaged.size() - 12] ^= 0x40;
  EXPECT_THROW(read_pack_header(sealer, damaged, "pack p"), Error);
  damaged = pack;
  damaged.back() = 'X';
  EXPECT_THROW(read_pack_header(sealer, damaged, "pack p"), Error);
  EXPECT_THROW(read_pack_header(sealer, Bytes(3, 0), "pack p"), Error);
}

// The chunk store writes packs with PackWriter (straight to storage); what it stores is a pack
// as PackBuilder makes it: the same blobs in the same places, named by its header and trailer.
TEST_P(RepoFormat, PackWriterStoresWhatPackBuilderBuilds) {
  MasterKeys keys = generate_master_keys();
  ObjectSealer sealer(keys, GetParam(), ChunkIdFunction::kKeyedBlake3);
  const std::string dir = test_support::make_temp_dir("coffer-packwriter").string();
  LocalStorage storage(dir);
  const std::vector<std::string> texts = {"alpha", "beta!", std::string(100000, 'g')};
  PackBuilder builder;
  PackWriter writer(storage);
  for (size_t i = 0; i < texts.size(); ++i) {
    Bytes blob = sealed_blob(sealer, texts[i]);
    const BlobType type = i == 1 ? BlobType::kTree : BlobType::kData;
    builder.add(type, id_of(keys, texts[i]), static_cast<uint32_t>(texts[i].size()), blob);
    writer.add(type, id_of(keys, texts[i]), static_cast<uint32_t>(texts[i].size()), blob);
  }
  std::vector<PackEntry> built_entries, written_entries;
  Bytes built = builder.finish(sealer, &built_entries);
  uint64_t size = 0;
  std::string id = writer.finish(sealer, &written_entries, &size);
  EXPECT_TRUE(writer.empty());
  Bytes stored = storage.get(pack_key(id), 0, Storage::kWhole);
  EXPECT_EQ(stored.size(), size);
  EXPECT_EQ(pack_id_of(stored), id);
  ASSERT_EQ(written_entries.size(), built_entries.size());
  auto header = read_pack_header(sealer, stored, "pack w");
  ASSERT_EQ(header.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(header[i].offset, built_entries[i].offset);
    EXPECT_EQ(header[i].length, built_entries[i].length);
    EXPECT_EQ(header[i].id, written_entries[i].id);
    EXPECT_EQ(to_string(open_blob(sealer, header[i].id, ByteView(stored).subspan(header[i].offset, header[i].length),
                                  texts[i].size(), "b")),
              texts[i]);
  }
  // The blobs are byte for byte PackBuilder's; unencrypted, so is the whole pack (encrypted
  // headers differ in their random nonce).
  const size_t blobs = header.back().offset + header.back().length;
  EXPECT_TRUE(std::equal(stored.begin(), stored.begin() + blobs, built.begin()));
  if (!GetParam()) {
    EXPECT_EQ(stored, built);
  }
  std::filesystem::remove_all(dir);
}

// Formats 1 and 2 name chunks by HMAC-SHA-256, format 3 by keyed BLAKE3: a blob opens only under
// the id its repository's hash gives, so a repository is never read with the other hash.
TEST_P(RepoFormat, ChunkIdsFollowTheRepositoryFormatsHash) {
  MasterKeys keys = generate_master_keys();
  ObjectSealer hmac(keys, GetParam(), ChunkIdFunction::kHmacSha256), blake3(keys, GetParam(), ChunkIdFunction::kKeyedBlake3);
  const ByteView plain = as_bytes(std::string_view("gamma"));
  EXPECT_EQ(hmac.chunk_id(plain), hmac_sha256(keys.id, plain));
  EXPECT_EQ(blake3.chunk_id(plain), keyed_blake3(keys.id, plain));
  EXPECT_NE(hmac.chunk_id(plain), blake3.chunk_id(plain));
  for (const ObjectSealer* s : {&hmac, &blake3}) {
    const ObjectSealer* other = s == &hmac ? &blake3 : &hmac;
    Bytes sealed = sealed_blob(*s, "gamma");
    EXPECT_EQ(to_string(open_blob(*s, s->chunk_id(plain), sealed, 5, "b")), "gamma");
    EXPECT_THROW(open_blob(*s, other->chunk_id(plain), sealed, 5, "b"), Error);
  }
  EXPECT_EQ(chunk_id_function_of(1), ChunkIdFunction::kHmacSha256);
  EXPECT_EQ(chunk_id_function_of(2), ChunkIdFunction::kHmacSha256);
  EXPECT_EQ(chunk_id_function_of(3), ChunkIdFunction::kKeyedBlake3);
}

// Unencrypted format 3 tags objects under a key of their own: the id of a chunk that happens to
// hold len(kind) || kind || P (ids are listed in the index) is no tag for an object P.
TEST(RepoFormatTags, AChunkIdIsNeverAValidTag) {
  MasterKeys keys = generate_master_keys();
  ObjectSealer sealer(keys, false, ChunkIdFunction::kKeyedBlake3);
  const std::string p = "forged object";
  Bytes chunk{4, 'b', 'l', 'o', 'b'};
  chunk.insert(chunk.end(), p.begin(), p.end());
  const ChunkId id = sealer.chunk_id(chunk);
  Bytes forged(p.begin(), p.end());
  forged.insert(forged.end(), id.begin(), id.end());
  EXPECT_THROW(sealer.open("blob", forged, "blob b"), Error);
  // The genuine tag still opens, and is not the chunk id.
  Bytes genuine = sealer.seal("blob", as_bytes(p));
  EXPECT_EQ(to_string(sealer.open("blob", genuine, "blob b")), p);
  EXPECT_FALSE(std::equal(id.begin(), id.end(), genuine.end() - 32));
}

// Found by fuzz/fuzz_pack: the plaintext length from the index bounded decompression, so a
// 10-byte lz4 blob claiming 858 MB made open_blob allocate it. No chunk exceeds 64 MiB.
TEST_P(RepoFormat, OpenBlobRefusesLengthsAboveTheChunkLimit) {
  MasterKeys keys = generate_master_keys();
  ObjectSealer sealer(keys, GetParam(), ChunkIdFunction::kKeyedBlake3);
  const size_t claimed = size_t{1} << 30;
  Bytes lz4_payload{3, 0x00, 0x00, 0x00, 0x40, 0x00};  // codec lz4, length prefix 1 GiB, no data
  try {
    open_blob(sealer, ChunkId{}, sealer.seal("blob", lz4_payload), claimed, "chunk c");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("64 MiB"), std::string::npos) << e.what();
  }
  // The limit itself is allowed: a real 64 MiB chunk opens.
  Bytes big(64u * 1024 * 1024, 'x');
  Bytes opened = open_blob(sealer, sealer.chunk_id(big), sealer.seal("blob", encode_payload({Codec::kLz4, 0}, big)),
                           big.size(), "chunk c");
  EXPECT_EQ(opened.size(), big.size());
}

// Found by fuzz/fuzz_pack: fetch_pack_header computed the header read as u32 header_len + 8, so a
// listed size above 4 GiB with a header length of 0xffffffff read 7 bytes and then took the
// header as those 7 bytes minus 8 (a span of SIZE_MAX bytes).
TEST_P(RepoFormat, FetchPackHeaderDoesNotWrapNearFourGiB) {
  class HostileStorage : public Storage {
   public:
    uint64_t asked = 0;
    Bytes get(const std::string&, uint64_t offset, uint64_t length) override {
      if (length == 8) return {0xff, 0xff, 0xff, 0xff, 'C', 'P', 'K', '1'};  // header_len 0xffffffff
      asked = length;
      if (length > 1024) fail(ErrorCategory::kStorage, "range too large for this test");
      return Bytes(length, static_cast<uint8_t>(offset));
    }
    void put(const std::string&, ByteView) override {}
    bool put_if_absent(const std::string&, ByteView) override { return false; }
    std::optional<ObjectInfo> head(const std::string&) override { return std::nullopt; }
    std::vector<ObjectInfo> list(const std::string&) override { return {}; }
    void remove(const std::string&) override {}
    std::string describe() const override { return "hostile"; }
  };
  ObjectSealer sealer(generate_master_keys(), GetParam(), ChunkIdFunction::kKeyedBlake3);
  HostileStorage storage;
  const uint64_t listed = uint64_t{8} << 30;
  // Named as the wrapped read would have seen it, so the name check let it through before.
  const std::string id = to_hex(sha256(Bytes(7, static_cast<uint8_t>(listed - 8 - 0xffffffffull))));
  EXPECT_THROW(fetch_pack_header(storage, sealer, id, listed), Error);
  EXPECT_EQ(storage.asked, 0xffffffffull + 8);
}

TEST_P(RepoFormat, IndexFileRoundTripAndDamage) {
  MasterKeys keys = generate_master_keys();
  std::vector<PackRecord> packs{{std::string(64, 'a'), {{BlobType::kData, id_of(keys, "x"), 0, 10, 3}}},
                                {std::string(64, 'b'), {{BlobType::kTree, id_of(keys, "y"), 10, 20, 4}}}};
  Bytes enc = encode_index_file(packs);
  auto back = decode_index_file(enc, "index i");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].id, packs[1].id);
  EXPECT_EQ(back[1].entries[0].offset, 10u);
  Index index;
  for (auto& p : back) index.add_pack(p.id, p.entries);
  ASSERT_TRUE(index.find(id_of(keys, "y")));
  EXPECT_EQ(index.pack_id(index.find(id_of(keys, "y"))->pack), packs[1].id);
  EXPECT_FALSE(index.contains(id_of(keys, "z")));
  // Truncation, trailing bytes and absurd counts are refused.
  EXPECT_THROW(decode_index_file(ByteView(enc).first(enc.size() - 1), "i"), Error);
  Bytes longer = enc;
  longer.push_back(0);
  EXPECT_THROW(decode_index_file(longer, "i"), Error);
  Bytes huge = enc;
  huge[4] = huge[5] = huge[6] = huge[7] = 0xff;
  EXPECT_THROW(decode_index_file(huge, "i"), Error);
}

TEST_P(RepoFormat, SealerDetectsDamageAndKindSwaps) {
  MasterKeys keys = generate_master_keys();
  ObjectSealer sealer(keys, GetParam(), ChunkIdFunction::kKeyedBlake3);
  Bytes s = sealer.seal("manifest", as_bytes("{\"a\":1}"));
  EXPECT_EQ(to_string(sealer.open("manifest", s, "m")), "{\"a\":1}");
  EXPECT_THROW(sealer.open("index", s, "m"), Error);
  s[s.size() / 2] ^= 1;
  try {
    sealer.open("manifest", s, "manifest of backup X");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("manifest of backup X"), std::string::npos);
  }
  // Encrypted objects do not contain their plaintext.
  Bytes marker = sealer.seal("blob", as_bytes("MARKER-1234567890"));
  EXPECT_EQ(to_string(marker).find("MARKER") == std::string::npos, GetParam());
}

INSTANTIATE_TEST_SUITE_P(EncryptedAndPlain, RepoFormat, ::testing::Values(true, false));

TEST(KeyFile, WrongPassphraseIsAnAuthError) {
  MasterKeys keys = generate_master_keys();
  KdfParams fast{1024, 1, 1};
  std::string file = make_key_file(keys, std::string("correct horse"), fast);
  EXPECT_EQ(file.find("correct horse"), std::string::npos);
  MasterKeys back = open_key_file(file, std::string("correct horse"), "keys/k");
  EXPECT_EQ(back.encryption, keys.encryption);
  EXPECT_EQ(back.id, keys.id);
  EXPECT_EQ(back.chunker, keys.chunker);
  try {
    open_key_file(file, std::string("wrong"), "keys/k");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kAuth);
  }
  try {
    open_key_file(file, std::nullopt, "keys/k");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
  }
  EXPECT_THROW(open_key_file("{not json", std::nullopt, "keys/k"), Error);
}

TEST(KeyFile, UnencryptedKeysOpenWithoutPassphrase) {
  MasterKeys keys = generate_master_keys();
  std::string file = make_key_file(keys, std::nullopt, {});
  EXPECT_EQ(open_key_file(file, std::nullopt, "keys/k").id, keys.id);
}

}  // namespace coffer
