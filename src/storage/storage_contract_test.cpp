// One contract, every backend: the same tests run against LocalStorage and S3Storage (on the
// s3rver that scripts/test.sh starts). Suites LocalContract/... and S3Contract/... (ctest
// names "LocalContract.<Test><...>", "S3Contract.<Test><...>").
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "storage/s3/s3_storage.h"
#include "storage/s3/s3_test_env.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {

struct LocalBackend {
  static constexpr size_t kManyKeys = 300;  // no pages on disk; each file costs two fsyncs
  std::filesystem::path dir;
  std::unique_ptr<Storage> make() {
    dir = test_support::make_temp_dir("coffer-contract");
    return std::make_unique<LocalStorage>(dir / "repo");
  }
  void cleanup(Storage*) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

struct S3Backend {
  static constexpr size_t kManyKeys = 1100;  // S3 answers 1000 keys a page: needs a continuation
  std::unique_ptr<Storage> make() {
    auto server = s3test::server("COFFER_TEST_S3");
    if (!server) return nullptr;
    return std::make_unique<S3Storage>(s3test::options(*server, s3test::unique_prefix("contract")));
  }
  void cleanup(Storage* s) {
    if (s) s3test::wipe(static_cast<S3Storage&>(*s));
  }
};

Bytes random_data(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(gen());
  return out;
}

std::vector<std::string> sorted_keys(const std::vector<ObjectInfo>& objs) {
  std::vector<std::string> keys;
  for (const auto& o : objs) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

ErrorCategory category_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.category();
  }
  ADD_FAILURE() << "no coffer::Error thrown";
  return ErrorCategory::kInternal;
}

// Runs f(i) for i in [0, n) on `threads` threads.
void parallel_for(size_t n, size_t threads, const std::function<void(size_t)>& f) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) f(i);
    });
  for (auto& t : pool) t.join();
}

template <typename Backend>
class StorageContract : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = backend_.make();
    ASSERT_TRUE(storage_) << s3test::kHowToRun;
  }
  void TearDown() override { backend_.cleanup(storage_.get()); }
  Storage& s() { return *storage_; }
  Backend backend_;
  std::unique_ptr<Storage> storage_;
};

TYPED_TEST_SUITE_P(StorageContract);

TYPED_TEST_P(StorageContract, PutGetRangeHeadOverwrite) {
  Storage& s = this->s();
  s.put("data/ab/abc", as_bytes("hello world"));
  EXPECT_EQ(to_string(s.get("data/ab/abc", 0, Storage::kWhole)), "hello world");
  EXPECT_EQ(to_string(s.get("data/ab/abc", 6, 5)), "world");
  EXPECT_EQ(to_string(s.get("data/ab/abc", 6, Storage::kWhole)), "world");
  EXPECT_EQ(to_string(s.get("data/ab/abc", 0, 1)), "h");
  EXPECT_EQ(to_string(s.get("data/ab/abc", 11, Storage::kWhole)), "");
  EXPECT_EQ(to_string(s.get("data/ab/abc", 3, 0)), "");
  auto info = s.head("data/ab/abc");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->key, "data/ab/abc");
  EXPECT_EQ(info->size, 11u);
  EXPECT_FALSE(s.head("data/ab/abd"));
  s.put("data/ab/abc", as_bytes("replaced"));
  EXPECT_EQ(to_string(s.get("data/ab/abc", 0, Storage::kWhole)), "replaced");
  s.put("empty", {});
  EXPECT_EQ(s.head("empty")->size, 0u);
  EXPECT_TRUE(s.get("empty", 0, Storage::kWhole).empty());
  Bytes binary = random_data(70000, 1);
  s.put("odd key/with spaces+plus=eq&amp~(1)/é", binary);
  EXPECT_EQ(s.get("odd key/with spaces+plus=eq&amp~(1)/é", 0, Storage::kWhole), binary);
  EXPECT_EQ(sorted_keys(s.list("odd key/")), std::vector<std::string>{"odd key/with spaces+plus=eq&amp~(1)/é"});
}

TYPED_TEST_P(StorageContract, MissingIsNotFoundAndShortIsDamaged) {
  Storage& s = this->s();
  EXPECT_EQ(category_of([&] { s.get("data/none", 0, Storage::kWhole); }), ErrorCategory::kNotFound);
  EXPECT_EQ(category_of([&] { s.get("data/none", 10, 5); }), ErrorCategory::kNotFound);
  EXPECT_EQ(category_of([&] { s.get("data/none", 0, 0); }), ErrorCategory::kNotFound);
  s.remove("data/none");  // not an error
  s.put("data/short", as_bytes("0123456789"));
  EXPECT_EQ(category_of([&] { s.get("data/short", 5, 100); }), ErrorCategory::kDamaged);
  EXPECT_EQ(category_of([&] { s.get("data/short", 20, Storage::kWhole); }), ErrorCategory::kDamaged);
  EXPECT_EQ(category_of([&] { s.get("data/short", 10, 1); }), ErrorCategory::kDamaged);
}

TYPED_TEST_P(StorageContract, ListByPrefixAndRemove) {
  Storage& s = this->s();
  s.put("data/ab/1", as_bytes("a"));
  s.put("data/cd/2", as_bytes("bb"));
  s.put("data2/3", as_bytes("ccc"));
  s.put("index/4", as_bytes("dddd"));
  auto data = s.list("data/");
  EXPECT_EQ(sorted_keys(data), (std::vector<std::string>{"data/ab/1", "data/cd/2"}));
  for (const auto& o : data) EXPECT_EQ(o.size, o.key == "data/ab/1" ? 1u : 2u);
  EXPECT_EQ(sorted_keys(s.list("data")), (std::vector<std::string>{"data/ab/1", "data/cd/2", "data2/3"}));
  EXPECT_EQ(s.list("").size(), 4u);
  EXPECT_TRUE(s.list("nothing/").empty());
  s.remove("data/ab/1");
  EXPECT_FALSE(s.head("data/ab/1"));
  EXPECT_EQ(category_of([&] { s.get("data/ab/1", 0, Storage::kWhole); }), ErrorCategory::kNotFound);
  EXPECT_EQ(sorted_keys(s.list("data/")), std::vector<std::string>{"data/cd/2"});
}

TYPED_TEST_P(StorageContract, ListsManyKeysAcrossPages) {
  Storage& s = this->s();
  constexpr size_t kCount = TypeParam::kManyKeys;
  std::vector<std::string> expected;
  for (size_t i = 0; i < kCount; ++i) expected.push_back("many/" + std::to_string(100000 + i));
  s.put("manyx/outside", as_bytes("x"));
  parallel_for(kCount, 8, [&](size_t i) { s.put(expected[i], as_bytes(std::to_string(i))); });
  std::sort(expected.begin(), expected.end());
  auto listed = s.list("many/");
  EXPECT_EQ(sorted_keys(listed), expected);
  for (const auto& o : listed) EXPECT_EQ(o.size, std::to_string(std::stoul(o.key.substr(5)) - 100000).size());
}

TYPED_TEST_P(StorageContract, PutIfAbsent) {
  Storage& s = this->s();
  EXPECT_TRUE(s.put_if_absent("locks/one", as_bytes("first")));
  EXPECT_FALSE(s.put_if_absent("locks/one", as_bytes("second")));
  EXPECT_EQ(to_string(s.get("locks/one", 0, Storage::kWhole)), "first");
  s.remove("locks/one");
  EXPECT_TRUE(s.put_if_absent("locks/one", as_bytes("third")));
  EXPECT_EQ(to_string(s.get("locks/one", 0, Storage::kWhole)), "third");
}

TYPED_TEST_P(StorageContract, LargeObjectWholeAndRanges) {
  Storage& s = this->s();
  Bytes big = random_data((12u << 20) + 12345, 7);  // > the tests' 8 MiB multipart threshold
  s.put("packs/big", big);
  EXPECT_EQ(s.head("packs/big")->size, big.size());
  EXPECT_EQ(s.get("packs/big", 0, Storage::kWhole), big);
  uint64_t boundary = 5u << 20;  // the first part boundary on S3
  Bytes across = s.get("packs/big", boundary - 10, 20);
  EXPECT_EQ(across, Bytes(big.begin() + (boundary - 10), big.begin() + (boundary + 10)));
  Bytes tail = s.get("packs/big", big.size() - 100, Storage::kWhole);
  EXPECT_EQ(tail, Bytes(big.end() - 100, big.end()));
}

TYPED_TEST_P(StorageContract, ManyThreadsAtOnce) {
  Storage& s = this->s();
  constexpr size_t kObjects = 48;
  parallel_for(kObjects, 6, [&](size_t i) {
    Bytes d = random_data(1000 + i * 3001, i);
    s.put("par/" + std::to_string(i), d);
    EXPECT_EQ(s.get("par/" + std::to_string(i), 0, Storage::kWhole), d);
    EXPECT_EQ(s.get("par/" + std::to_string(i), i, 10), Bytes(d.begin() + i, d.begin() + i + 10));
  });
  EXPECT_EQ(s.list("par/").size(), kObjects);
}

TYPED_TEST_P(StorageContract, ObjectWrittenInPiecesAppearsWholeOnlyWhenFinished) {
  Storage& s = this->s();
  Bytes a = random_data(3 << 20, 21), b = random_data(100, 22), c = random_data((2 << 20) + 7, 23);
  {
    auto w = s.begin_object("data/", a.size() + b.size() + c.size());
    w->append(a);
    w->append(b);
    EXPECT_TRUE(s.list("data/").empty()) << "nothing is visible before finish()";
    w->append(c);
    w->finish("data/ab/abcdef");
    EXPECT_THROW(w->append(a), Error);  // finished
  }
  Bytes whole = a;
  whole.insert(whole.end(), b.begin(), b.end());
  whole.insert(whole.end(), c.begin(), c.end());
  EXPECT_EQ(s.get("data/ab/abcdef", 0, Storage::kWhole), whole);
  EXPECT_EQ(sorted_keys(s.list("data/")), std::vector<std::string>{"data/ab/abcdef"});
  {
    auto w = s.begin_object("data/", 1000);  // dropped unfinished: discarded
    w->append(a);
  }
  EXPECT_EQ(sorted_keys(s.list("data/")), std::vector<std::string>{"data/ab/abcdef"});
}

REGISTER_TYPED_TEST_SUITE_P(StorageContract, PutGetRangeHeadOverwrite, MissingIsNotFoundAndShortIsDamaged,
                            ListByPrefixAndRemove, ListsManyKeysAcrossPages, PutIfAbsent,
                            LargeObjectWholeAndRanges, ManyThreadsAtOnce,
                            ObjectWrittenInPiecesAppearsWholeOnlyWhenFinished);

INSTANTIATE_TYPED_TEST_SUITE_P(LocalContract, StorageContract, ::testing::Types<LocalBackend>);
INSTANTIATE_TYPED_TEST_SUITE_P(S3Contract, StorageContract, ::testing::Types<S3Backend>);

}  // namespace
}  // namespace coffer
