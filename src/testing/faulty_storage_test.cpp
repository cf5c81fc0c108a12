#include "testing/faulty_storage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

class FaultyStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-faulty");
    local_ = std::make_shared<LocalStorage>(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  FaultyStorage faulty(const std::string& spec) { return FaultyStorage(local_, parse_storage_faults(spec), true); }

  // Every file under the root, temp names included.
  std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_))
      if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir_).string());
    return out;
  }

  fs::path dir_;
  std::shared_ptr<LocalStorage> local_;
};

// The message of the Error that `f` throws; fails the test when it throws none or another kind.
template <typename F>
std::string storage_error(F f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST_F(FaultyStorageTest, NthPutUnderPrefixFailsWithEnospcBeforeWriting) {
  FaultyStorage s = faulty("put:data/:2:enospc");
  s.put("index/a", as_bytes("i"));  // other prefixes do not count
  s.put("data/1", as_bytes("one"));
  std::string msg = storage_error([&] { s.put("data/2", as_bytes("two")); });
  EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data/2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("COFFER_STORAGE_FAULTS rule 'put:data/:2:enospc'"), std::string::npos) << msg;
  s.put("data/3", as_bytes("three"));  // only the 2nd fails
  EXPECT_EQ(files(), (std::set<std::string>{"index/a", "data/1", "data/3"}));
  EXPECT_EQ(s.injected(), 1u);
}

TEST_F(FaultyStorageTest, NthAndLaterFailsEveryCallFromThere) {
  FaultyStorage s = faulty("put::2+:eio");
  s.put("a", as_bytes("1"));
  for (const char* key : {"b", "c", "d"}) {
    std::string msg = storage_error([&] { s.put(key, as_bytes("x")); });
    EXPECT_NE(msg.find("Input/output error"), std::string::npos) << msg;
  }
  EXPECT_EQ(files(), std::set<std::string>{"a"});
}

TEST_F(FaultyStorageTest, ShortWriteLeavesOnlyAHiddenPartialTempFile) {
  FaultyStorage s = faulty("put:snapshots/:1:short");
  storage_error([&] { s.put("snapshots/b1", as_bytes("0123456789")); });
  EXPECT_FALSE(local_->head("snapshots/b1"));
  EXPECT_TRUE(local_->list("snapshots/").empty());
  std::set<std::string> all = files();
  ASSERT_EQ(all.size(), 1u);
  const std::string temp = *all.begin();
  EXPECT_EQ(temp.rfind("snapshots/.tmp-fault-", 0), 0u) << temp;
  EXPECT_EQ(fs::file_size(dir_ / temp), 5u);  // half of the object
}

TEST_F(FaultyStorageTest, ShortWriteOnStorageWithoutTempNamesLeavesNothing) {
  FaultyStorage s(local_, parse_storage_faults("put::1:short"), false);
  storage_error([&] { s.put("data/x", as_bytes("0123456789")); });
  EXPECT_TRUE(files().empty());
}

TEST_F(FaultyStorageTest, FsyncFaultStoresTheObjectThenThrows) {
  FaultyStorage s = faulty("put:snapshots/:1:fsync");
  std::string msg = storage_error([&] { s.put_if_absent("snapshots/b1", as_bytes("whole")); });
  EXPECT_NE(msg.find("sync"), std::string::npos) << msg;
  EXPECT_EQ(to_string(local_->get("snapshots/b1", 0, Storage::kWhole)), "whole");
  EXPECT_FALSE(s.put_if_absent("snapshots/b1", as_bytes("again")));  // the 2nd call passes through
}

// A pack written in pieces (LocalStorage streams it into a temp file) meets its key's put
// faults at finish(): a failed one leaves no object and no temp file of its own.
TEST_F(FaultyStorageTest, ObjectsWrittenInPiecesMeetThePutFaultsWhenFinished) {
  FaultyStorage s = faulty("put:data/:1:enospc,put:data/:2:short,put:data/:3:fsync");
  auto write = [&](const std::string& key) {
    auto w = s.begin_object("data/", 20);
    w->append(as_bytes("0123456789"));
    w->append(as_bytes("abcdefghij"));
    w->finish(key);
  };
  EXPECT_NE(storage_error([&] { write("data/aa/one"); }).find("No space left on device"), std::string::npos);
  EXPECT_TRUE(files().empty());
  storage_error([&] { write("data/bb/two"); });
  std::set<std::string> all = files();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.begin()->rfind("data/bb/.tmp-fault-", 0), 0u) << *all.begin();
  EXPECT_EQ(fs::file_size(dir_ / *all.begin()), 10u);  // half of what was written
  EXPECT_NE(storage_error([&] { write("data/cc/three"); }).find("sync"), std::string::npos);
  EXPECT_EQ(to_string(local_->get("data/cc/three", 0, Storage::kWhole)), "0123456789abcdefghij");
  write("data/dd/four");  // no rule left: stored
  EXPECT_EQ(to_string(local_->get("data/dd/four", 0, Storage::kWhole)), "0123456789abcdefghij");
  EXPECT_EQ(s.injected(), 3u);
}

TEST_F(FaultyStorageTest, ReadsListsAndRemovesFail) {
  local_->put("data/p", as_bytes("pack"));
  local_->put("locks/l", as_bytes("lock"));
  FaultyStorage s = faulty("get:data/:1:eio,head:data/:1:eio,list:locks/:1:eio,remove:locks/:1:eio");
  storage_error([&] { s.get("data/p", 0, Storage::kWhole); });
  EXPECT_EQ(to_string(s.get("data/p", 0, Storage::kWhole)), "pack");
  storage_error([&] { s.head("data/p"); });
  EXPECT_TRUE(s.head("data/p"));
  EXPECT_EQ(s.list("data/").size(), 1u);  // another prefix
  storage_error([&] { s.list("locks/"); });
  storage_error([&] { s.remove("locks/l"); });
  EXPECT_TRUE(local_->head("locks/l"));  // eio: nothing removed
  EXPECT_EQ(s.injected(), 4u);
}

TEST_F(FaultyStorageTest, RemoveFsyncFaultRemovesThenThrows) {
  local_->put("snapshots/b", as_bytes("m"));
  FaultyStorage s = faulty("remove::1:fsync");
  storage_error([&] { s.remove("snapshots/b"); });
  EXPECT_FALSE(local_->head("snapshots/b"));
}

TEST_F(FaultyStorageTest, ShareOfCallsIsReproducibleBySeed) {
  auto pattern = [&](const std::string& spec) {
    FaultyStorage s = faulty(spec);
    std::string out;
    for (int i = 0; i < 200; ++i) {
      try {
        s.head("data/none");
        out += '.';
      } catch (const Error&) {
        out += 'x';
      }
    }
    return out;
  };
  std::string a = pattern("head:data/:30%:eio:seed=7");
  EXPECT_EQ(a, pattern("head:data/:30%:eio:seed=7"));
  EXPECT_NE(a, pattern("head:data/:30%:eio:seed=8"));
  size_t failed = std::count(a.begin(), a.end(), 'x');
  EXPECT_GT(failed, 30u);
  EXPECT_LT(failed, 90u);
  EXPECT_EQ(pattern("head:data/:100%:eio"), std::string(200, 'x'));
}

TEST(FaultyStorageGrammarTest, ParsesEveryField) {
  auto rules = parse_storage_faults("put:data/:3:enospc,get::2+:eio,list:index/:12.5%:eio:seed=9,remove:locks/:1:fsync");
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].op, StorageFaultRule::Op::kPut);
  EXPECT_EQ(rules[0].prefix, "data/");
  EXPECT_EQ(rules[0].nth, 3u);
  EXPECT_FALSE(rules[0].and_later);
  EXPECT_EQ(rules[0].fault, StorageFaultRule::Fault::kEnospc);
  EXPECT_EQ(rules[1].prefix, "");
  EXPECT_TRUE(rules[1].and_later);
  EXPECT_DOUBLE_EQ(rules[2].share, 0.125);
  EXPECT_EQ(rules[2].seed, 9u);
  EXPECT_EQ(rules[3].fault, StorageFaultRule::Fault::kFsync);
  EXPECT_EQ(rules[3].text, "remove:locks/:1:fsync");
}

TEST(FaultyStorageGrammarTest, BadTextIsAConfigErrorNamingTheVariable) {
  for (const char* bad : {"", "put:data/:3", "write:data/:1:eio", "put:data/:0:eio", "put:data/:x:eio",
                          "put:data/:1:boom", "get::1:enospc", "get::1:short", "put::150%:eio", "put::0%:eio",
                          "put::1:eio:seed=3", "put::5%:eio:seed=", "put::1:eio,", "put::1:eio:seed=1:x"}) {
    try {
      parse_storage_faults(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig) << bad;
      EXPECT_NE(std::string(e.what()).find("COFFER_STORAGE_FAULTS"), std::string::npos) << e.what();
    }
  }
}

}  // namespace coffer
