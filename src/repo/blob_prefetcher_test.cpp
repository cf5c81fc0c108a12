#include "repo/blob_prefetcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "coffer/error.h"
#include "repo/chunk_store.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

class BlobPrefetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-prefetch", true);
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    ChunkStore store(*repo_, {Codec::kZstd, 1}, 1);  // one worker: stored in the order added
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

// Counts reads on the way to the real folder.
class CountingStorage : public LocalStorage {
 public:
  using LocalStorage::LocalStorage;
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override {
    ++gets;
    return LocalStorage::get(key, offset, length);
  }
  std::atomic<int> gets{0};
};

// The 200 chunks were stored one after another in one pack: read in that order they come with
// one ranged read per run (a thread's share of the window), not one read each; out of order,
// or with a repeat, a run ends there and the chunks are still right.
TEST_F(BlobPrefetcherTest, ChunksStoredTogetherAreFetchedWithOneReadPerRun) {
  auto counting = std::make_shared<CountingStorage>(dir_);
  auto repo = Repository::open(counting, std::string("pw"));
  repo->load_index();
  const int loading_reads = counting->gets;
  {
    BlobPrefetcher p(*repo, ids_, 4, 64);  // runs of up to 16 chunks
    for (const std::string& want : contents_) EXPECT_EQ(to_string(p.next()), want);
  }
  const int reads = counting->gets - loading_reads;
  EXPECT_EQ(reads, (200 + 15) / 16) << "chunks stored together were not read a run at a time";

  std::vector<ChunkId> shuffled{ids_[5], ids_[6], ids_[7], ids_[3], ids_[3], ids_[150], ids_[4], ids_[8]};
  BlobPrefetcher p(*repo, shuffled, 2, 8);
  for (int i : {5, 6, 7, 3, 3, 150, 4, 8}) EXPECT_EQ(to_string(p.next()), contents_[i]);
}

// The byte budget bounds what is held ahead of the consumer: below one chunk's size, chunks are
// fetched one at a time (one read each), and still all arrive, in order.
TEST_F(BlobPrefetcherTest, AByteBudgetBelowAChunkFetchesOneChunkAtATime) {
  auto counting = std::make_shared<CountingStorage>(dir_);
  auto repo = Repository::open(counting, std::string("pw"));
  repo->load_index();
  const int loading_reads = counting->gets;
  {
    BlobPrefetcher p(*repo, ids_, 2, 64, /*max_bytes_ahead=*/1);
    for (const std::string& want : contents_) EXPECT_EQ(to_string(p.next()), want);
  }
  EXPECT_EQ(counting->gets - loading_reads, 200);
  // A budget of about ten chunks (the last ones are 2 KiB): runs stay under it.
  const int before = counting->gets;
  {
    BlobPrefetcher p(*repo, ids_, 2, 64, /*max_bytes_ahead=*/20000);
    for (const std::string& want : contents_) EXPECT_EQ(to_string(p.next()), want);
  }
  EXPECT_GT(counting->gets - before, 200 / 32) << "runs were not cut by the budget";
  EXPECT_LT(counting->gets - before, 200);
}

// A run's ranged read that fails gives every chunk of the run the error, each at its place.
TEST_F(BlobPrefetcherTest, AFailedRunReadFailsEachOfItsChunks) {
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "data"))
    if (e.is_regular_file()) fs::resize_file(e.path(), 100);  // the pack is cut short
  std::vector<ChunkId> order(ids_.begin(), ids_.begin() + 8);
  BlobPrefetcher p(*repo_, order, 2, 8);
  for (int i = 0; i < 8; ++i) {
    try {
      p.next();
      ADD_FAILURE() << "chunk " << i << " of a cut pack was delivered";
    } catch (const Error& e) {
      EXPECT_TRUE(e.category() == ErrorCategory::kDamaged || e.category() == ErrorCategory::kStorage ||
                  e.category() == ErrorCategory::kNotFound)
          << e.what();
    }
  }
}

TEST_F(BlobPrefetcherTest, StopsCleanlyWhenDroppedEarly) {
  BlobPrefetcher p(*repo_, ids_, 4, 4);
  EXPECT_EQ(to_string(p.next()), contents_[0]);
  // Destroyed with 199 chunks not taken: must not hang or crash.
}

}  // namespace coffer
