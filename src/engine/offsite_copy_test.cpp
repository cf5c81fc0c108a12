// copy_offsite and copy_object_offsite against the real s3rver that scripts/test.sh starts (COFFER_TEST_S3_*).
#include "engine/offsite_copy.h"

#include <stdlib.h>

#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "storage/s3/s3_test_env.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {
namespace fs = std::filesystem;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string config_of(const std::string& id) {
  return "{\"format_version\": 3, \"repository_id\": \"" + id + "\", \"key_ids\": [\"k1\"]}";
}

// Records the order of puts, then forwards them.
class RecordingStorage : public Storage {
 public:
  explicit RecordingStorage(Storage& inner) : inner_(inner) {}
  void put(const std::string& key, ByteView data) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      puts.push_back(key);
    }
    inner_.put(key, data);
  }
  bool put_if_absent(const std::string& key, ByteView data) override { return inner_.put_if_absent(key, data); }
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override { return inner_.get(key, offset, length); }
  std::optional<ObjectInfo> head(const std::string& key) override { return inner_.head(key); }
  std::vector<ObjectInfo> list(const std::string& prefix) override { return inner_.list(prefix); }
  void remove(const std::string& key) override { inner_.remove(key); }
  std::string describe() const override { return inner_.describe(); }
  std::vector<std::string> puts;

 private:
  Storage& inner_;
  std::mutex mu_;
};

constexpr const char* kWal = "wal/7312345678901234567-15/0000000100000000/000000010000000000000003";
constexpr const char* kWal2 = "wal/7312345678901234567-15/0000000100000000/000000010000000000000004";

class OffsiteCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-offsite");
    local_ = std::make_unique<LocalStorage>(dir_);
    local_->put("config", text(config_of("1111")));
    for (const char* key : {"keys/k1", "data/aa/p1", "data/bb/p2", "index/i1", kWal, "snapshots/full_1",
                            "pins/full_1", "locks/l1", "backup_log.json", "backup_log.json.lock"})
      local_->put(key, text(std::string("content of ") + key));
  }
  void TearDown() override {
    if (remote_) s3test::wipe(*remote_);
    fs::remove_all(dir_);
  }
  bool make_remote() {
    auto server = s3test::server("COFFER_TEST_S3");
    if (!server) return false;
    remote_ = std::make_unique<S3Storage>(s3test::options(*server, s3test::unique_prefix("offsite")));
    return true;
  }
  fs::path dir_;
  std::unique_ptr<LocalStorage> local_;
  std::unique_ptr<S3Storage> remote_;
};

int phase(const std::string& key) {
  if (key == "config") return 1;
  if (key.rfind("data/", 0) == 0) return 2;
  if (key.rfind("index/", 0) == 0) return 3;
  if (key.rfind("wal/", 0) == 0) return 4;  // before the manifests: a backup needs its WAL to be consistent
  if (key.rfind("snapshots/", 0) == 0) return 5;
  if (key.rfind("pins/", 0) == 0) return 6;
  return 0;
}

TEST_F(OffsiteCopyTest, UploadsInCommitOrderSkipsLocksAndResumes) {
  ASSERT_TRUE(make_remote()) << s3test::kHowToRun;
  RecordingStorage recorder(*remote_);
  OffsiteCopyResult r = copy_offsite(*local_, recorder, 3);
  ASSERT_TRUE(r.copied) << r.error;
  EXPECT_EQ(r.objects, 8u);
  ASSERT_EQ(recorder.puts.size(), 8u);
  for (size_t i = 1; i < recorder.puts.size(); ++i)
    EXPECT_LE(phase(recorder.puts[i - 1]), phase(recorder.puts[i])) << recorder.puts[i - 1] << " then " << recorder.puts[i];
  EXPECT_FALSE(remote_->head("locks/l1"));
  EXPECT_FALSE(remote_->head("backup_log.json"));  // BACKUP_DIR's own files are not the repository
  EXPECT_FALSE(remote_->head("backup_log.json.lock"));
  EXPECT_EQ(remote_->get("snapshots/full_1", 0, Storage::kWhole), text("content of snapshots/full_1"));
  EXPECT_EQ(remote_->get(kWal, 0, Storage::kWhole), text(std::string("content of ") + kWal));

  // Nothing missing: nothing uploaded.
  r = copy_offsite(*local_, *remote_);
  ASSERT_TRUE(r.copied) << r.error;
  EXPECT_EQ(r.objects, 0u);

  // Deleted behind our back, or truncated: uploaded again.
  remote_->remove("data/aa/p1");
  remote_->put("index/i1", text("short"));
  local_->put("snapshots/incr_2", text("new manifest"));
  r = copy_offsite(*local_, *remote_);
  ASSERT_TRUE(r.copied) << r.error;
  EXPECT_EQ(r.objects, 3u);
  EXPECT_EQ(r.bytes, text("content of data/aa/p1").size() + text("content of index/i1").size() + 12u);
  EXPECT_EQ(remote_->get("index/i1", 0, Storage::kWhole), text("content of index/i1"));
}

TEST_F(OffsiteCopyTest, PrefixOfAnotherRepositoryIsRefusedBeforeAnyUpload) {
  ASSERT_TRUE(make_remote()) << s3test::kHowToRun;
  remote_->put("config", text(config_of("2222")));
  remote_->put("keys/k9", text("their key"));
  RecordingStorage recorder(*remote_);
  OffsiteCopyResult r = copy_offsite(*local_, recorder);
  EXPECT_FALSE(r.copied);
  EXPECT_TRUE(recorder.puts.empty()) << recorder.puts.front();
  for (const std::string& part : {std::string("repository 2222"), std::string("repository 1111"), dir_.string(),
                                  remote_->describe(), std::string("S3_PREFIX"), std::string("nothing was uploaded")})
    EXPECT_NE(r.error.find(part), std::string::npos) << part << " not in: " << r.error;
  EXPECT_EQ(remote_->get("config", 0, Storage::kWhole), text(config_of("2222")));
  // Before a backup, the same check throws a configuration error.
  try {
    check_offsite_target(*local_, *remote_);
    ADD_FAILURE() << "a foreign repository was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
  }
  // A config of the same size but other bytes (same length id) is another repository too: not compared by size.
  remote_->put("config", text(config_of("1112")));
  r = copy_offsite(*local_, recorder);
  EXPECT_FALSE(r.copied);
  EXPECT_TRUE(recorder.puts.empty());
}

TEST_F(OffsiteCopyTest, ObjectsWithoutAConfigAreRefusedUnlessTheyAreOurKeyFiles) {
  ASSERT_TRUE(make_remote()) << s3test::kHowToRun;
  remote_->put("keys/k1", text("content of keys/k1"));  // our first copy, cut off after the keys
  EXPECT_NO_THROW(check_offsite_target(*local_, *remote_));
  remote_->put("data/cc/other", text("someone else's pack"));
  RecordingStorage recorder(*remote_);
  OffsiteCopyResult r = copy_offsite(*local_, recorder);
  EXPECT_FALSE(r.copied);
  EXPECT_TRUE(recorder.puts.empty());
  EXPECT_NE(r.error.find("data/cc/other"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("no repository config"), std::string::npos) << r.error;
  // A key file of the same name and size but other bytes is not ours either.
  remote_->remove("data/cc/other");
  remote_->put("keys/k1", text("content of keys/kX"));
  r = copy_offsite(*local_, recorder);
  EXPECT_FALSE(r.copied);
  EXPECT_TRUE(recorder.puts.empty());
  // No repository here yet, one there: refused before a new repository is made.
  remote_->remove("keys/k1");
  remote_->put("config", text(config_of("2222")));
  fs::path empty = dir_ / "empty";
  LocalStorage fresh(empty);
  EXPECT_THROW(check_offsite_target(fresh, *remote_), Error);
}

TEST_F(OffsiteCopyTest, SameRepositoryKeyFileWithOtherBytesIsUploadedAgain) {
  ASSERT_TRUE(make_remote()) << s3test::kHowToRun;
  ASSERT_TRUE(copy_offsite(*local_, *remote_).copied);
  remote_->put("keys/k1", text("content of keys/kX"));  // same size, other bytes
  OffsiteCopyResult r = copy_offsite(*local_, *remote_);
  ASSERT_TRUE(r.copied) << r.error;
  EXPECT_EQ(r.objects, 1u);
  EXPECT_EQ(remote_->get("keys/k1", 0, Storage::kWhole), text("content of keys/k1"));
}

TEST_F(OffsiteCopyTest, OneObjectGoesUpAloneAfterTheRepositorysIdentity) {
  ASSERT_TRUE(make_remote()) << s3test::kHowToRun;
  RecordingStorage recorder(*remote_);
  // A new prefix: the key files and the config first, then the WAL file; never the packs,
  // index or manifests the copy lacks too (wal-push does not wait for them).
  copy_object_offsite(*local_, recorder, kWal);
  EXPECT_EQ(recorder.puts, (std::vector<std::string>{"keys/k1", "config", kWal}));
  EXPECT_EQ(remote_->get(kWal, 0, Storage::kWhole), text(std::string("content of ") + kWal));
  EXPECT_FALSE(remote_->head("data/aa/p1"));
  EXPECT_FALSE(remote_->head("snapshots/full_1"));
  // The prefix is this repository now: the next file goes up alone.
  local_->put(kWal2, text("the next segment"));
  recorder.puts.clear();
  copy_object_offsite(*local_, recorder, kWal2);
  EXPECT_EQ(recorder.puts, (std::vector<std::string>{kWal2}));
  // Already there (PostgreSQL pushes again after a crash): not uploaded again.
  recorder.puts.clear();
  copy_object_offsite(*local_, recorder, kWal2);
  EXPECT_TRUE(recorder.puts.empty()) << recorder.puts.front();
  // A later copy finds the WAL there and uploads the rest: two packs, an index, a manifest, a pin.
  OffsiteCopyResult r = copy_offsite(*local_, *remote_);
  ASSERT_TRUE(r.copied) << r.error;
  EXPECT_EQ(r.objects, 5u);
}

TEST_F(OffsiteCopyTest, OneObjectIsNotUploadedIntoAnotherRepository) {
  ASSERT_TRUE(make_remote()) << s3test::kHowToRun;
  remote_->put("config", text(config_of("2222")));
  RecordingStorage recorder(*remote_);
  try {
    copy_object_offsite(*local_, recorder, kWal);
    ADD_FAILURE() << "uploaded into another repository";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("repository 2222"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(recorder.puts.empty());
  EXPECT_FALSE(remote_->head(kWal));
}

TEST_F(OffsiteCopyTest, UnreachableServerIsAReportedFailureNotAnException) {
  auto server = s3test::server("COFFER_TEST_S3");
  ASSERT_TRUE(server) << s3test::kHowToRun;
  S3Options o = s3test::options(*server, "offsite-dead/");
  o.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  o.retry.max_attempts = 2;
  o.retry.total = std::chrono::milliseconds(300);
  S3Storage dead(o);
  OffsiteCopyResult r = copy_offsite(*local_, dead);
  EXPECT_FALSE(r.copied);
  EXPECT_NE(r.error.find("off-site copy"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("127.0.0.1:1"), std::string::npos) << r.error;
  EXPECT_EQ(r.objects, 0u);
  // One object: a storage error the caller reports (wal-push fails, PostgreSQL retries).
  try {
    copy_object_offsite(*local_, dead, kWal);
    ADD_FAILURE() << "an upload to a dead server succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage);
  }
}

}  // namespace
}  // namespace coffer
