#include "repo/blob_prefetcher.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "coffer/error.h"
#include "repo/chunk_store.h"
#include "storage/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

class BlobPrefetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-prefetch", true);
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    ChunkStore store(*repo_, {Codec::kZstd, 1}, 2);
    for (int i = 0; i < 200; ++i) {
      std::string s = "chunk number " + std::to_string(i) + std::string(i * 10, 'x');
      contents_.push_back(s);
      ids_.push_back(store.add(BlobType::kData, as_bytes(s)).id);
    }
    store.commit();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::unique_ptr<Repository> repo_;
  std::vector<std::string> contents_;
  std::vector<ChunkId> ids_;
};

TEST_F(BlobPrefetcherTest, DeliversEveryChunkInOrderWithRepeats) {
  std::vector<ChunkId> order;
  std::vector<std::string> expected;
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < ids_.size(); i += 1 + round) {
      order.push_back(ids_[i]);
      expected.push_back(contents_[i]);
    }
  BlobPrefetcher p(*repo_, order, 4, 8);
  for (const std::string& want : expected) EXPECT_EQ(to_string(p.next()), want);
  EXPECT_THROW(p.next(), Error);  // nothing more was asked for
}

TEST_F(BlobPrefetcherTest, AnErrorComesAtItsPlaceAndSkipKeepsTheOrder) {
  ChunkId missing{};
  missing[0] = 0xee;
  std::vector<ChunkId> order{ids_[0], missing, ids_[2], ids_[3], ids_[4]};
  BlobPrefetcher p(*repo_, order, 3, 2);
  EXPECT_EQ(to_string(p.next()), contents_[0]);
  try {
    p.next();
    FAIL() << "a missing chunk must throw at its own place";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kNotFound);
  }
  p.skip(2);  // the rest of that "file"
  EXPECT_EQ(to_string(p.next()), contents_[4]);
}

TEST_F(BlobPrefetcherTest, StopsCleanlyWhenDroppedEarly) {
  BlobPrefetcher p(*repo_, ids_, 4, 4);
  EXPECT_EQ(to_string(p.next()), contents_[0]);
  // Destroyed with 199 chunks not taken: must not hang or crash.
}

}  // namespace coffer
