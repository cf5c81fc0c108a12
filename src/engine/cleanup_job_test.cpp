// Cleanup on a real local repository: policy, pruning, rewriting, dry run, refusal, pins,
// leftovers, and a SIGKILL at every fail point followed by a second cleanup.
#include "engine/cleanup_job.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "repo/tree_stream.h"
#include "engine/verify_job.h"
#include "repo/chunk_store.h"
#include "repo/pins.h"
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

using Files = std::map<std::string, Bytes>;  // path inside the backup -> content

// Object key -> size, for everything but locks.
std::map<std::string, uint64_t> objects(Storage& s) {
  std::map<std::string, uint64_t> out;
  for (const char* prefix : {"data/", "index/", "snapshots/", "pins/"})
    for (const ObjectInfo& o : s.list(prefix)) out[o.key] = o.size;
  return out;
}

uint64_t total(const std::map<std::string, uint64_t>& objs) {
  uint64_t sum = 0;
  for (const auto& [k, v] : objs) sum += v;
  return sum;
}

TimePoint at(const char* iso) { return *parse_iso8601_utc(iso); }

const char* const kFailpoints[] = {"cleanup-after-manifests-removed", "cleanup-after-packs-written",
                                   "cleanup-after-index-written", "cleanup-after-old-indexes-removed",
                                   "cleanup-during-pack-removal"};

}  // namespace

class CleanupJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-cleanup");
    storage_ = std::make_shared<LocalStorage>(dir_);
    RepositoryParams p;
    p.encrypted = encrypted_;
    if (p.encrypted) p.passphrase = "pw";
    p.kdf = {1024, 1, 1};
    p.file_chunker = {16 * 1024, 64 * 1024, 256 * 1024};
    repo_ = Repository::init(storage_, p);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void backup(const std::string& id, const char* timestamp, const Files& files, BackupType type = BackupType::kFull) {
    repo_->load_index();
    ChunkStore store(*repo_, {Codec::kZstd, 3}, 1);
    std::vector<files::FileEntry> entries;
    files::FileEntry root;
    root.path = "root";
    root.type = files::EntryType::kDirectory;
    root.mode = 0755;
    entries.push_back(root);
    for (const auto& [path, content] : files) {
      files::FileEntry e;
      e.path = "root/" + path;
      e.mode = 0644;
      e.size = content.size();
      MemorySource src(content);
      e.chunks = store.add_stream(src, BlobType::kData, repo_->file_chunker());
      entries.push_back(e);
    }
    Manifest m;
    m.roots = {{"root", "/src/root"}};
    m.tree = write_tree(store, repo_->tree_chunker(), entries);
    store.commit();
    m.info.backup_id = id;
    m.info.type = type;
    m.info.timestamp = timestamp;
    m.info.hostname = "test";
    ASSERT_TRUE(repo_->write_manifest(m, nullptr));
    expected_[id] = files;
  }

  // Three backups; with RETENTION_DAYS=30 at 2024-12-10 the first one goes, and its pack is
  // half garbage (file b), half live (file a, still in the later backups).
  void three_backups() {
    Bytes a = random_data(300 * 1024, 1), b = random_data(300 * 1024, 2), c = random_data(200 * 1024, 3),
          d = random_data(100 * 1024, 4);
    backup("full_20241101_020000", "2024-11-01T02:00:00.000000Z", {{"a", a}, {"b", b}});
    backup("incremental_20241115_020000", "2024-11-15T02:00:00.000000Z", {{"a", a}, {"c", c}},
           BackupType::kIncremental);
    backup("full_20241201_020000", "2024-12-01T02:00:00.000000Z", {{"a", a}, {"c", c}, {"d", d}});
  }

  CleanupJobOptions options(const char* now = "2024-12-10T00:00:00Z", bool dry_run = false, bool force = false) {
    CleanupJobOptions o;
    o.policy.retention_days = 30;
    o.now = at(now);
    o.cleanup.dry_run = dry_run;
    o.cleanup.force = force;
    return o;
  }

  // Every remaining backup reads back byte for byte, and verify --read-data passes.
  void expect_intact(const std::vector<std::string>& ids) {
    auto fresh = Repository::open(storage_, passphrase());
    VerifyResult v = run_verify(*fresh, {std::nullopt, true});
    for (const auto& p : v.problems)
      ADD_FAILURE() << p.backup_id << " " << p.path << " " << p.object << ": " << p.problem;
    EXPECT_EQ(fresh->list_backup_ids(), ids);
    for (const std::string& id : ids) {
      Manifest m = fresh->read_manifest(id);
      Files got;
      for (const files::FileEntry& e : read_tree(*fresh, m.tree, id)) {
        if (e.type != files::EntryType::kFile) continue;
        Bytes content;
        for (const ChunkRef& c : e.chunks) {
          Bytes chunk = fresh->read_blob(c.id);
          content.insert(content.end(), chunk.begin(), chunk.end());
        }
        got[e.path.substr(5)] = content;
      }
      EXPECT_TRUE(got == expected_[id]) << "backup " << id << " does not read back as written";
    }
  }

  std::optional<std::string> passphrase() const { return encrypted_ ? std::optional<std::string>("pw") : std::nullopt; }

  bool encrypted_ = true;
  fs::path dir_;
  std::shared_ptr<LocalStorage> storage_;
  std::unique_ptr<Repository> repo_;
  std::map<std::string, Files> expected_;
};

// The tests that touch index naming and crash recovery run on both kinds of repository
// (unencrypted ones name identical index files alike).
class CleanupJobBothTest : public CleanupJobTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    encrypted_ = GetParam();
    CleanupJobTest::SetUp();
  }
};

TEST_P(CleanupJobBothTest, RemovesWhatThePolicyLetsGoAndTheDataOnlyItUsed) {
  three_backups();
  auto before = objects(*storage_);
  CleanupResult r = run_cleanup(*repo_, options());
  EXPECT_EQ(r.removed, std::vector<std::string>{"full_20241101_020000"});
  ASSERT_EQ(r.backups.size(), 3u);
  EXPECT_EQ(r.backups[0].backup_id, "full_20241101_020000");
  EXPECT_FALSE(r.backups[0].keep);
  EXPECT_EQ(r.backups[0].reasons, std::vector<std::string>{"38 days old, beyond RETENTION_DAYS=30"});
  EXPECT_TRUE(r.backups[2].keep);
  EXPECT_EQ(r.packs_rewritten, 1u) << "the first pack is half garbage (file b)";
  EXPECT_EQ(r.packs_written, 1u);
  auto after = objects(*storage_);
  EXPECT_EQ(r.bytes_freed, total(before) - total(after)) << "reported bytes freed are the real ones";
  EXPECT_GT(r.bytes_freed, 250u * 1024) << "file b (300 KiB, incompressible) is gone";
  EXPECT_EQ(storage_->list("index/").size(), 1u) << "one index file replaces the three";
  expect_intact({"full_20241201_020000", "incremental_20241115_020000"});

  // Nothing left to do: a second run changes nothing.
  repo_ = Repository::open(storage_, passphrase());
  CleanupResult again = run_cleanup(*repo_, options());
  EXPECT_TRUE(again.removed.empty());
  EXPECT_EQ(again.packs_deleted + again.packs_rewritten, 0u);
  EXPECT_EQ(again.bytes_freed, 0u);
  EXPECT_EQ(objects(*storage_), after);
}

TEST_F(CleanupJobTest, DryRunChangesNothingAndEstimatesTheBytes) {
  three_backups();
  auto before = objects(*storage_);
  CleanupResult dry = run_cleanup(*repo_, options("2024-12-10T00:00:00Z", true));
  EXPECT_TRUE(dry.dry_run);
  EXPECT_EQ(dry.removed, std::vector<std::string>{"full_20241101_020000"});
  EXPECT_EQ(dry.packs_rewritten, 1u);
  EXPECT_EQ(objects(*storage_), before);
  CleanupResult real = run_cleanup(*repo_, options());
  EXPECT_NEAR(double(dry.bytes_freed), double(real.bytes_freed), 0.1 * double(real.bytes_freed));
}

TEST_F(CleanupJobTest, RefusesWhenThePolicyKeepsNothingUnlessForced) {
  three_backups();
  auto before = objects(*storage_);
  try {
    run_cleanup(*repo_, options("2025-06-01T00:00:00Z"));
    ADD_FAILURE() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    std::string msg = e.what();
    EXPECT_NE(msg.find("keeps none of the 3 backups"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--force"), std::string::npos) << msg;
    EXPECT_NE(msg.find("RETENTION_DAYS=30"), std::string::npos) << msg;
  }
  EXPECT_EQ(objects(*storage_), before);
  CleanupResult r = run_cleanup(*repo_, options("2025-06-01T00:00:00Z", false, true));
  EXPECT_EQ(r.removed, (std::vector<std::string>{"full_20241101_020000", "incremental_20241115_020000"}));
  EXPECT_EQ(r.backups[2].reasons, std::vector<std::string>{"newest full backup"});
  expect_intact({"full_20241201_020000"});
}

TEST_F(CleanupJobTest, PinnedBackupsStay) {
  three_backups();
  add_pin(*storage_, "full_20241101_020000");
  add_pin(*storage_, "full_20230101_000000");  // a pin whose backup is gone: cleaned up
  CleanupResult r = run_cleanup(*repo_, options());
  EXPECT_TRUE(r.removed.empty());
  EXPECT_TRUE(r.backups[0].pinned);
  EXPECT_EQ(r.backups[0].reasons, std::vector<std::string>{"pinned"});
  EXPECT_EQ(read_pins(*storage_), std::set<std::string>{"full_20241101_020000"});
  expect_intact({"full_20241101_020000", "full_20241201_020000", "incremental_20241115_020000"});
}

TEST_F(CleanupJobTest, RemovesPacksNoIndexLists) {
  three_backups();
  Bytes junk = random_data(5000, 9);  // like a pack stored by a backup that was killed before its index
  std::string id = pack_id_of(junk);
  storage_->put(pack_key(id), junk);
  CleanupResult r = run_cleanup(*repo_, options("2024-11-20T00:00:00Z"));
  EXPECT_TRUE(r.removed.empty());
  EXPECT_EQ(r.packs_deleted, 1u);
  EXPECT_FALSE(storage_->head(pack_key(id)));
  expect_intact({"full_20241101_020000", "full_20241201_020000", "incremental_20241115_020000"});
}

TEST_F(CleanupJobTest, RemovesTempFilesOfPacksThatKilledBackupsWereWriting) {
  three_backups();
  // What a backup killed mid-pack leaves: its pack's temp file in data/ (LocalStorage's
  // begin_object), or a put's temp file beside the object.
  const fs::path streamed = dir_ / "data" / ".tmp-0123456789abcdef", beside = dir_ / "data" / "ab" / ".tmp-fedcba9876543210";
  fs::create_directories(beside.parent_path());
  for (const fs::path& p : {streamed, beside}) {
    FILE* f = std::fopen(p.c_str(), "w");
    ASSERT_TRUE(f);
    std::fwrite("half a pack", 1, 11, f);
    std::fclose(f);
  }
  run_cleanup(*repo_, options("2024-11-20T00:00:00Z", /*dry_run=*/true));
  EXPECT_TRUE(fs::exists(streamed) && fs::exists(beside)) << "a dry run changes nothing";
  CleanupResult r = run_cleanup(*repo_, options("2024-11-20T00:00:00Z"));
  EXPECT_FALSE(fs::exists(streamed));
  EXPECT_FALSE(fs::exists(beside));
  EXPECT_GE(r.bytes_freed, 22u);
  expect_intact({"full_20241101_020000", "full_20241201_020000", "incremental_20241115_020000"});
}

TEST_F(CleanupJobTest, RemovesTempFilesOfKilledWalPushesOnlyOnceTheyAreAnHourOld) {
  three_backups();
  // wal-push takes no lock: a temp file of a push in progress must stay, one a killed push left
  // an hour ago goes.
  const fs::path folder = dir_ / "wal" / "7345000000000000001-15" / "0000000100000000";
  fs::create_directories(folder);
  const fs::path old_temp = folder / ".tmp-0123456789abcdef", fresh_temp = folder / ".tmp-fedcba9876543210";
  for (const fs::path& p : {old_temp, fresh_temp}) {
    FILE* f = std::fopen(p.c_str(), "w");
    ASSERT_TRUE(f);
    std::fwrite("half a segment", 1, 14, f);
    std::fclose(f);
  }
  fs::last_write_time(old_temp, fs::file_time_type::clock::now() - std::chrono::minutes(61));
  CleanupResult r = run_cleanup(*repo_, options("2024-11-20T00:00:00Z"));
  EXPECT_FALSE(fs::exists(old_temp));
  EXPECT_TRUE(fs::exists(fresh_temp)) << "the temp file of a push that may be in progress was removed";
  EXPECT_GE(r.bytes_freed, 14u);
  expect_intact({"full_20241101_020000", "full_20241201_020000", "incremental_20241115_020000"});
}

TEST_F(CleanupJobTest, StopsBeforeDeletingWhenTheLockIsLost) {
  three_backups();
  auto before = objects(*storage_);
  CleanupJobOptions o = options();
  o.check_lock = [] { fail(ErrorCategory::kInput, "lock lost"); };
  EXPECT_THROW(run_cleanup(*repo_, o), Error);
  EXPECT_EQ(objects(*storage_), before);
}

TEST_F(CleanupJobTest, DamagedManifestStopsItBeforeAnyChange) {
  three_backups();
  storage_->put("snapshots/full_20241115_000000", as_bytes("not a manifest"));
  auto before = objects(*storage_);
  try {
    run_cleanup(*repo_, options());
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("changed nothing"), std::string::npos) << e.what();
  }
  EXPECT_EQ(objects(*storage_), before);
}

TEST_P(CleanupJobBothTest, KilledAtEveryFailPointThenFinishedByTheNextRun) {
  GTEST_FLAG_SET(death_test_style, "fast");
  for (const char* point : kFailpoints) {
    SCOPED_TRACE(point);
    TearDown();
    SetUp();
    expected_.clear();
    three_backups();
    EXPECT_EXIT(
        {
          ::setenv("COFFER_FAILPOINT", point, 1);
          run_cleanup(*repo_, options());
          ::_exit(0);  // the fail point was never reached
        },
        ::testing::KilledBySignal(SIGKILL), "");
    // The kept backups are whole; the removed one may or may not be gone yet (it is at every
    // fail point here, since manifests go first).
    expect_intact({"full_20241201_020000", "incremental_20241115_020000"});
    repo_ = Repository::open(storage_, passphrase());
    CleanupResult next = run_cleanup(*repo_, options());
    EXPECT_TRUE(next.removed.empty());
    expect_intact({"full_20241201_020000", "incremental_20241115_020000"});
    EXPECT_EQ(storage_->list("index/").size(), 1u);
    // Finished: one more run finds nothing to do.
    repo_ = Repository::open(storage_, passphrase());
    CleanupResult last = run_cleanup(*repo_, options());
    EXPECT_EQ(last.packs_deleted + last.packs_rewritten + last.bytes_freed, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(EncryptedAndPlain, CleanupJobBothTest, ::testing::Values(true, false));

}  // namespace coffer
