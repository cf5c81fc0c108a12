// The write path end to end on a real local repository: store, commit, reopen, read back.
#include "repo/chunk_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "coffer/error.h"
#include "testing/faulty_storage.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

namespace {

Bytes random_data(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

RepositoryParams fast_params(bool encrypted) {
  RepositoryParams p;
  p.encrypted = encrypted;
  if (encrypted) p.passphrase = "pw";
  p.kdf = {1024, 1, 1};
  p.file_chunker = {16 * 1024, 64 * 1024, 256 * 1024};
  return p;
}

}  // namespace

class ChunkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-chunkstore");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ChunkStoreTest, StoresDedupsAndReadsBackAfterReopen) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(true));
  repo->load_index();
  Bytes data = random_data(3 << 20, 1);
  std::vector<ChunkRef> refs;
  {
    ChunkStore store(*repo, {Codec::kZstd, 3}, 2);
    MemorySource src(data);
    refs = store.add_stream(src, BlobType::kData, repo->file_chunker());
    MemorySource again(data);  // same content again: all known
    EXPECT_EQ(store.add_stream(again, BlobType::kData, repo->file_chunker()), refs);
    store.commit();
    ChunkStoreStats st = store.stats();
    EXPECT_EQ(st.chunks_new, refs.size());
    EXPECT_EQ(st.chunks_known, refs.size());
    EXPECT_EQ(st.bytes_new_raw, data.size());
    EXPECT_GT(st.bytes_stored, data.size());  // random data does not compress
  }
  uint64_t total = 0;
  for (auto& r : refs) total += r.size;
  EXPECT_EQ(total, data.size());
  EXPECT_GT(refs.size(), 10u);

  auto reopened = Repository::open(storage, std::string("pw"));
  reopened->load_index();
  Bytes back;
  for (auto& r : refs) {
    Bytes c = reopened->read_blob(r.id);
    back.insert(back.end(), c.begin(), c.end());
  }
  EXPECT_EQ(back, data);

  // A second store over the reopened index adds nothing for known data.
  ChunkStore store2(*reopened, {Codec::kZstd, 3}, 2);
  MemorySource src(data);
  store2.add_stream(src, BlobType::kData, reopened->file_chunker());
  store2.commit();
  EXPECT_EQ(store2.stats().chunks_new, 0u);
  EXPECT_EQ(store2.stats().bytes_stored, 0u);
}

// Repositories keep the chunk-id hash of the format they were made with: a format 2 repository
// (HMAC-SHA-256 ids) reopened by this coffer stores and finds its chunks under the same ids, so
// its existing backups deduplicate against new ones; a new one is format 3 (keyed BLAKE3).
TEST_F(ChunkStoreTest, EachFormatKeepsItsChunkIdsAcrossReopen) {
  for (int format : {2, kFormatVersion}) {
    SCOPED_TRACE("format " + std::to_string(format));
    fs::path dir = dir_ / std::to_string(format);
    auto storage = std::make_shared<LocalStorage>(dir);
    RepositoryParams params = fast_params(true);
    params.format_version = format;
    auto repo = Repository::init(storage, params);
    repo->load_index();
    const Bytes data = random_data(1 << 20, 7);
    std::vector<ChunkRef> refs;
    {
      ChunkStore store(*repo, {Codec::kZstd, 3}, 2);
      MemorySource src(data);
      refs = store.add_stream(src, BlobType::kData, repo->file_chunker());
      store.commit();
    }
    ASSERT_FALSE(refs.empty());
    const Bytes first(data.begin(), data.begin() + refs[0].size);
    const ChunkId expected = format >= 3 ? keyed_blake3(repo->sealer().keys().id, first)
                                         : hmac_sha256(repo->sealer().keys().id, first);
    EXPECT_EQ(refs[0].id, expected);

    auto reopened = Repository::open(storage, std::string("pw"));
    EXPECT_EQ(reopened->format_version(), format);
    reopened->load_index();
    EXPECT_EQ(reopened->read_blob(refs[0].id), first);
    ChunkStore again(*reopened, {Codec::kZstd, 3}, 2);
    MemorySource src(data);
    EXPECT_EQ(again.add_stream(src, BlobType::kData, reopened->file_chunker()), refs);
    again.commit();
    EXPECT_EQ(again.stats().chunks_new, 0u);
  }
}

// A grown stream (a log appended to) given its earlier chunks comes out exactly as chunking it
// afresh would cut it, whether it only grew, changed in the middle, or shrank and grew.
TEST_F(ChunkStoreTest, EarlierChunksOfAGrownStreamGiveTheSameCutsAsChunkingAfresh) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(false));
  repo->load_index();
  ChunkStore store(*repo, {Codec::kZstd, 1}, 2);
  auto chunk = [&](const Bytes& data, const std::vector<ChunkRef>* earlier) {
    MemorySource src(data);
    return store.add_stream(src, BlobType::kData, repo->file_chunker(), {}, nullptr, earlier);
  };
  const Bytes day1 = random_data(2 << 20, 11);
  const std::vector<ChunkRef> before = chunk(day1, nullptr);
  ASSERT_GT(before.size(), 8u);

  Bytes grown = day1;
  const Bytes more = random_data(300 << 10, 12);
  grown.insert(grown.end(), more.begin(), more.end());
  EXPECT_EQ(chunk(grown, &before), chunk(grown, nullptr));

  Bytes edited = grown;
  edited[edited.size() / 3] ^= 0x5a;  // a change in the middle: the rest is chunked again
  EXPECT_EQ(chunk(edited, &before), chunk(edited, nullptr));

  Bytes rewritten(day1.begin(), day1.begin() + day1.size() / 2);  // cut short, then other bytes
  const Bytes other = random_data(3 << 20, 13);
  rewritten.insert(rewritten.end(), other.begin(), other.end());
  EXPECT_EQ(chunk(rewritten, &before), chunk(rewritten, nullptr));

  // The leading chunks are taken as they were, not cut again: chunks of another cutting (fixed
  // 100 KiB pieces, valid ids) are kept as given, all but the last.
  std::vector<ChunkRef> fixed;
  for (size_t at = 0; at < day1.size(); at += 100 << 10) {
    const size_t n = std::min<size_t>(100 << 10, day1.size() - at);
    fixed.push_back({repo->sealer().chunk_id(ByteView(day1).subspan(at, n)), static_cast<uint32_t>(n)});
  }
  const std::vector<ChunkRef> taken = chunk(grown, &fixed);
  ASSERT_GE(taken.size(), fixed.size() - 1);
  EXPECT_TRUE(std::equal(fixed.begin(), fixed.end() - 1, taken.begin()));

  // The content read back is the grown stream.
  store.commit();
  Bytes back;
  for (const ChunkRef& r : chunk(grown, &before)) {
    Bytes c = repo->read_blob(r.id);
    back.insert(back.end(), c.begin(), c.end());
  }
  EXPECT_EQ(back, grown);
}

TEST_F(ChunkStoreTest, NothingIsIndexedBeforeCommit) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(false));
  repo->load_index();
  {
    ChunkStore store(*repo, {Codec::kLz4, 0}, 2);
    Bytes data = random_data(40 << 20, 2);  // more than two packs
    MemorySource src(data);
    store.add_stream(src, BlobType::kData, repo->file_chunker());
    // destroyed without commit: like a crash after some packs were stored
  }
  EXPECT_TRUE(storage->list("index/").empty());
  auto reopened = Repository::open(storage, std::nullopt);
  reopened->load_index();
  EXPECT_EQ(reopened->index().chunk_count(), 0u);
}

TEST_F(ChunkStoreTest, RepositoryOpenErrors) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  try {
    Repository::open(storage, std::nullopt);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kNotFound);
  }
  Repository::init(storage, fast_params(true));
  EXPECT_THROW(Repository::init(storage, fast_params(true)), Error);
  try {
    Repository::open(storage, std::string("wrong"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kAuth);
  }
  // A newer format version is refused with advice to upgrade.
  std::string config = to_string(storage->get("config", 0, Storage::kWhole));
  config.replace(config.find("\"format_version\": " + std::to_string(kFormatVersion)), 19, "\"format_version\": 9");
  storage->put("config", as_bytes(config));
  try {
    Repository::open(storage, std::string("pw"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("upgrade"), std::string::npos);
  }
}

}  // namespace coffer

namespace coffer {

TEST_F(ChunkStoreTest, TwoProducersShareOneStore) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(true));
  repo->load_index();
  Bytes a = random_data(5 << 20, 11), b = random_data(5 << 20, 12);
  std::vector<ChunkRef> ra, rb;
  {
    ChunkStore store(*repo, {Codec::kZstd, 1}, 2);
    std::thread t([&] {
      MemorySource src(a);
      ra = store.add_stream(src, BlobType::kData, repo->file_chunker());
    });
    MemorySource src(b);
    rb = store.add_stream(src, BlobType::kData, repo->file_chunker());
    t.join();
    store.commit();
  }
  for (auto [refs, data] : {std::pair{&ra, &a}, std::pair{&rb, &b}}) {
    Bytes back;
    for (auto& r : *refs) {
      Bytes c = repo->read_blob(r.id);
      back.insert(back.end(), c.begin(), c.end());
    }
    EXPECT_EQ(back, *data);
  }
}

// Text-like data that zstd shrinks, and slowly at a high level.
Bytes text_data(size_t n, uint32_t seed) {
  static const char* words[] = {"student", "course", "grade", "upload", "teacher", "lesson", "2026-11-26", "passed"};
  std::mt19937 rng(seed);
  Bytes b;
  b.reserve(n + 64);
  while (b.size() < n) {
    std::string w = std::string(words[rng() % 8]) + "\t" + std::to_string(rng() % 100000) + "\n";
    b.insert(b.end(), w.begin(), w.end());
  }
  b.resize(n);
  return b;
}

TEST_F(ChunkStoreTest, KeepUpPaceCompressesFastOnlyWhileTheWorkersAreBehind) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(true));
  repo->load_index();
  // One worker at a slow level: the producer, which only chunks and hashes, fills the queue.
  for (Pace pace : {Pace::kRatio, Pace::kKeepUp}) {
    SCOPED_TRACE(pace == Pace::kRatio ? "ratio" : "keep up");
    Bytes copy = text_data(12 << 20, pace == Pace::kRatio ? 21 : 22);  // all new chunks in each pass
    std::vector<ChunkRef> refs;
    ChunkStoreStats st;
    {
      ChunkStore store(*repo, {Codec::kZstd, 9}, 1);
      MemorySource src(copy);
      refs = store.add_stream(src, BlobType::kData, repo->file_chunker(), {}, nullptr, nullptr, pace);
      store.commit();
      st = store.stats();
    }
    if (pace == Pace::kRatio) {
      EXPECT_EQ(st.chunks_fast, 0u);
    } else {
      EXPECT_GT(st.chunks_fast, 0u);
      EXPECT_LE(st.chunks_fast, st.chunks_new);
    }
    EXPECT_LT(st.bytes_stored, copy.size() / 2);  // compressed either way
    Bytes back;
    for (auto& r : refs) {
      Bytes c = repo->read_blob(r.id);
      back.insert(back.end(), c.begin(), c.end());
    }
    EXPECT_EQ(back, copy);
  }
}

TEST_F(ChunkStoreTest, AbortStopsProducers) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(false));
  repo->load_index();
  ChunkStore store(*repo, {Codec::kNone, 0}, 1);
  store.abort();
  Bytes data = random_data(1 << 20, 3);
  MemorySource src(data);
  EXPECT_THROW(store.add_stream(src, BlobType::kData, repo->file_chunker()), Error);
  EXPECT_THROW(store.commit(), Error);
}

// Several full packs: the finisher stores one while the workers fill the next, or a worker stores
// it when the finisher is busy; every one is stored and indexed either way.
TEST_F(ChunkStoreTest, EveryPackOfAManyPackStreamIsStoredAndIndexed) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(true));
  repo->load_index();
  Bytes data = random_data(5 * kPackTargetSize / 2, 31);  // incompressible: 2 full packs and a part
  std::vector<ChunkRef> refs;
  ChunkStoreStats st;
  {
    ChunkStore store(*repo, {Codec::kZstd, 1}, 2);
    MemorySource src(data);
    refs = store.add_stream(src, BlobType::kData, repo->file_chunker());
    store.commit();
    st = store.stats();
  }
  EXPECT_EQ(st.packs_written, 3u);
  auto reopened = Repository::open(storage, std::string("pw"));
  reopened->load_index();
  EXPECT_EQ(reopened->index().pack_count(), 3u);
  Bytes back;
  for (auto& r : refs) {
    Bytes c = reopened->read_blob(r.id);
    back.insert(back.end(), c.begin(), c.end());
  }
  EXPECT_EQ(back, data);
}

// Two producers in two lanes: each lane's chunks fill packs of their own, so a restore reading
// one stream in order is not reading the other's chunks in between.
TEST_F(ChunkStoreTest, EachLaneFillsPacksOfItsOwnInOrder) {
  auto storage = std::make_shared<LocalStorage>(dir_);
  auto repo = Repository::init(storage, fast_params(false));
  repo->load_index();
  Bytes a = random_data(3 * kPackTargetSize / 2, 41), b = random_data(3 * kPackTargetSize / 2, 42);
  std::vector<ChunkRef> ra, rb;
  {
    ChunkStore store(*repo, {Codec::kNone, 0}, 2);
    std::thread t([&] {
      MemorySource src(a);
      ra = store.add_stream(src, BlobType::kData, repo->file_chunker(), {}, nullptr, nullptr, Pace::kRatio, 0);
    });
    MemorySource src(b);
    rb = store.add_stream(src, BlobType::kData, repo->file_chunker(), {}, nullptr, nullptr, Pace::kRatio, 1);
    t.join();
    store.commit();
  }
  std::set<uint32_t> packs_a, packs_b;
  for (const auto& [refs, packs] : {std::pair{&ra, &packs_a}, std::pair{&rb, &packs_b}}) {
    for (const ChunkRef& r : *refs) {
      const ChunkLocation* at = repo->index().find(r.id);
      ASSERT_NE(at, nullptr);
      packs->insert(at->pack);
    }
  }
  EXPECT_EQ(packs_a.size(), 2u);
  EXPECT_EQ(packs_b.size(), 2u);
  for (uint32_t p : packs_a) EXPECT_EQ(packs_b.count(p), 0u) << "pack " << p << " holds chunks of both lanes";
}

// A pack that cannot be stored (here the first: the finisher's) fails the backup, and nothing is
// indexed: the commit never names a pack that is not there.
TEST_F(ChunkStoreTest, APackThatCannotBeStoredFailsTheCommitAndNothingIsIndexed) {
  auto local = std::make_shared<LocalStorage>(dir_);
  Repository::init(local, fast_params(false));
  auto faulty = std::make_shared<FaultyStorage>(local, parse_storage_faults("put:data/:1:eio"), true);
  auto repo = Repository::open(faulty, std::nullopt);
  repo->load_index();
  Bytes data = random_data(5 * kPackTargetSize / 2, 32);
  try {
    ChunkStore store(*repo, {Codec::kNone, 0}, 2);
    MemorySource src(data);
    store.add_stream(src, BlobType::kData, repo->file_chunker());
    store.commit();
    FAIL() << "the commit succeeded with a pack that was not stored";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Input/output error"), std::string::npos) << e.what();
  }
  auto reopened = Repository::open(local, std::nullopt);
  reopened->load_index();
  EXPECT_EQ(reopened->index().pack_count(), 0u);
  EXPECT_EQ(local->list("index/").size(), 0u);
}

}  // namespace coffer
