// Delta blobs end to end on a real local repository: a chunk like a stored one is written as a
// delta against it, indexed with its base, and reads back exactly, also after a reopen.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "coffer/error.h"
#include "repo/chunk_store.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

namespace {

// COPY-like rows; every `skip_every`th left out (a day's deletes and moved updates).
Bytes rows(int count, int skip_every = 0, int day = 0) { return test_support::table_rows(0, count, skip_every, day); }

Bytes random_data(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

class ChunkStoreDeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-delta", true);
    dir_ = t.dir;
    storage_ = t.storage;
    repo_ = std::move(t.repo);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Stores one chunk in a store of its own (one commit, so one pack) and returns its id.
  ChunkId store(ByteView chunk, std::vector<ChunkId> similar = {}, CompressionSpec spec = {},
                uint64_t* deltas = nullptr) {
    ChunkStore s(*repo_, spec, 1);
    ChunkId id = s.add(BlobType::kData, chunk, similar).id;
    s.commit();
    if (deltas) *deltas = s.stats().chunks_delta;
    return id;
  }
  std::string pack_of(const ChunkId& id) { return repo_->index().pack_id(repo_->index().find(id)->pack); }

  fs::path dir_;
  std::shared_ptr<LocalStorage> storage_;
  std::unique_ptr<Repository> repo_;
};

}  // namespace

TEST_F(ChunkStoreDeltaTest, ASimilarChunkIsStoredAsASmallDeltaAndReadsBackAfterReopen) {
  Bytes day0 = rows(2000), day1 = rows(2000, 100, 1);
  ChunkId a = store(day0);
  uint64_t deltas = 0;
  ChunkId b = store(day1, {a}, {}, &deltas);
  EXPECT_EQ(deltas, 1u);
  const ChunkLocation* loc = repo_->index().find(b);
  ASSERT_NE(loc, nullptr);
  EXPECT_EQ(loc->type, BlobType::kDelta);
  ASSERT_NE(repo_->index().base_of(b), nullptr);
  EXPECT_EQ(*repo_->index().base_of(b), a);
  EXPECT_LT(loc->length * 10, repo_->index().find(a)->length) << "delta " << loc->length;

  auto reopened = Repository::open(storage_, std::string("pw"));
  reopened->load_index();
  EXPECT_EQ(reopened->read_blob(b), day1);
  EXPECT_EQ(reopened->read_blob(a), day0);
  // The pack header names the base too, so `repair index` rebuilds it.
  std::string key = pack_key(pack_of(b));
  std::vector<PackEntry> entries = read_pack_header(repo_->sealer(), storage_->get(key, 0, Storage::kWhole), key);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].type, BlobType::kDelta);
  EXPECT_EQ(entries[0].base, a);
}

TEST_F(ChunkStoreDeltaTest, AChunkLikeADeltaIsStoredAgainstThatDeltasBase) {
  ChunkId a = store(rows(2000));
  ChunkId b = store(rows(2000, 100, 1), {a});
  ChunkId c = store(rows(2000, 100, 2), {b});  // "yesterday's" chunk is itself a delta
  ASSERT_EQ(repo_->index().find(c)->type, BlobType::kDelta);
  EXPECT_EQ(*repo_->index().base_of(c), a);
  EXPECT_EQ(repo_->read_blob(c), rows(2000, 100, 2));
}

TEST_F(ChunkStoreDeltaTest, TheCandidateGivingTheSmallestDeltaIsChosen) {
  ChunkId noise = store(random_data(40000, 2));
  ChunkId a = store(rows(2000));
  ChunkId b = store(rows(2000, 100, 1), {noise, a});
  ASSERT_EQ(repo_->index().find(b)->type, BlobType::kDelta);
  EXPECT_EQ(*repo_->index().base_of(b), a);
  EXPECT_EQ(repo_->read_blob(b), rows(2000, 100, 1));
}

TEST_F(ChunkStoreDeltaTest, AnUnrelatedChunkOrAnotherCodecIsStoredWhole) {
  ChunkId a = store(rows(2000));
  uint64_t deltas = 9;
  ChunkId noise = store(random_data(40000, 1), {a}, {}, &deltas);
  EXPECT_EQ(deltas, 0u);
  EXPECT_EQ(repo_->index().find(noise)->type, BlobType::kData);
  EXPECT_EQ(repo_->index().base_of(noise), nullptr);
  ChunkId gz = store(rows(2000, 100, 3), {a}, {Codec::kGzip, 6}, &deltas);
  EXPECT_EQ(deltas, 0u);  // COMPRESSION=gzip: deltas are zstd frames, so none
  EXPECT_EQ(repo_->index().find(gz)->type, BlobType::kData);
  EXPECT_EQ(repo_->read_blob(gz), rows(2000, 100, 3));
}

TEST_F(ChunkStoreDeltaTest, AnUnreadableBaseMeansTheChunkIsStoredWhole) {
  ChunkId a = store(rows(2000));
  storage_->remove(pack_key(pack_of(a)));
  uint64_t deltas = 9;
  ChunkId b = store(rows(2000, 100, 1), {a}, {}, &deltas);
  EXPECT_EQ(deltas, 0u);
  EXPECT_EQ(repo_->read_blob(b), rows(2000, 100, 1));
}

TEST_F(ChunkStoreDeltaTest, ReadingADeltaWhoseBaseIsLostNamesTheBase) {
  ChunkId a = store(rows(2000));
  ChunkId b = store(rows(2000, 100, 1), {a});
  storage_->remove(pack_key(pack_of(a)));
  try {
    repo_->read_blob(b);
    FAIL() << "read a delta without its base";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("delta whose base cannot be read"), std::string::npos) << e.what();
  }
}

TEST_F(ChunkStoreDeltaTest, ARepositoryOnRemoteStorageGetsTheSmallDatabaseChunker) {
  // No deltas there (each base would be a request), so small chunks keep a day small.
  struct Remote : LocalStorage {
    using LocalStorage::LocalStorage;
    bool remote() const override { return true; }
  };
  Remote remote(dir_ / "remote");
  EXPECT_EQ(params_for(remote).db_chunker.avg_size, kDbChunkerWithoutDeltas.avg_size);
  EXPECT_EQ(params_for(*storage_).db_chunker.avg_size, RepositoryParams{}.db_chunker.avg_size);
  EXPECT_NE(kDbChunkerWithoutDeltas.avg_size, RepositoryParams{}.db_chunker.avg_size);
}

TEST_F(ChunkStoreDeltaTest, IndexFilesKeepDeltaBases) {
  ChunkId a = store(rows(2000));
  ChunkId b = store(rows(2000, 100, 1), {a});
  std::vector<PackRecord> packs = {{pack_of(b), {{BlobType::kDelta, b, 0, 10, 20, a}, {BlobType::kData, a, 10, 5, 6, {}}}}};
  std::vector<PackRecord> back = decode_index_file(encode_index_file(packs), "test index");
  ASSERT_EQ(back.size(), 1u);
  ASSERT_EQ(back[0].entries.size(), 2u);
  EXPECT_EQ(back[0].entries[0].type, BlobType::kDelta);
  EXPECT_EQ(back[0].entries[0].base, a);
  EXPECT_EQ(back[0].entries[1].type, BlobType::kData);
  EXPECT_EQ(back[0].entries[1].raw_length, 6u);
}

}  // namespace coffer
