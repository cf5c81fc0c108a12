// The library API end to end on real files: BackupManager with a BackupConfig, no CLI.
#include "coffer/backup_manager.h"
#include "coffer/error.h"
#include "testing/fixtures.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace coffer {
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class BackupManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-manager");
    config_.backup_dir = dir_ / "repo";
    config_.backup_paths = {dir_ / "uploads"};
    config_.passphrase = "library passphrase";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  BackupConfig config_;
};

}  // namespace

TEST_F(BackupManagerTest, FullIncrementalRestoreThroughTheApi) {
  write_file(dir_ / "uploads/a.txt", "alpha");
  write_file(dir_ / "uploads/sub/b.bin", std::string(300000, 'b'));
  BackupManager manager(config_);
  BackupInfo full = manager.create_full_backup();
  EXPECT_EQ(full.type, BackupType::kFull);
  EXPECT_EQ(full.file_count, 2u);
  EXPECT_EQ(full.backup_id.rfind("full_", 0), 0u);

  write_file(dir_ / "uploads/a.txt", "alpha, changed");
  BackupInfo inc = manager.create_incremental_backup();
  EXPECT_EQ(inc.type, BackupType::kIncremental);
  EXPECT_EQ(inc.parent, full.backup_id);
  EXPECT_EQ(inc.files_read, 1u);  // only the changed file was read
  EXPECT_LT(inc.bytes_added, full.bytes_added);

  auto list = manager.list_backups();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].backup_id, full.backup_id);

  RestoreOptions o;
  o.target = (dir_ / "out-full").string();
  manager.restore_from_backup(full.backup_id, o);
  EXPECT_EQ(read_file(dir_ / "out-full/uploads/a.txt"), "alpha");
  o.target = (dir_ / "out-inc").string();
  RestoreResult r = manager.restore_from_backup("latest", o);
  EXPECT_EQ(r.backup_id, inc.backup_id);
  EXPECT_EQ(read_file(dir_ / "out-inc/uploads/a.txt"), "alpha, changed");
  EXPECT_EQ(read_file(dir_ / "out-inc/uploads/sub/b.bin"), std::string(300000, 'b'));

  VerifyOptions v;
  v.read_data = true;
  EXPECT_TRUE(manager.verify(v).ok);
}

TEST_F(BackupManagerTest, FilesThatVanishOrChangeDuringTheBackupAreReported) {
  write_file(dir_ / "uploads/1-first.txt", "first");
  write_file(dir_ / "uploads/2-vanishes.txt", "gone soon");
  write_file(dir_ / "uploads/3-grows.txt", "short");
  BackupManager manager(config_);
  bool meddled = false;
  // The first report of the backup phase comes after the walk, before any file is read.
  manager.set_progress_callback([&](const Progress& p) {
    if (meddled || p.phase != "backup") return;
    meddled = true;
    fs::remove(dir_ / "uploads/2-vanishes.txt");
    write_file(dir_ / "uploads/3-grows.txt", "much longer than it was when the tree was scanned");
  });
  std::vector<std::string> live_warnings;
  manager.set_warning_callback([&](const std::string& w) { live_warnings.push_back(w); });
  BackupInfo b = manager.create_full_backup();
  ASSERT_TRUE(meddled);
  EXPECT_EQ(b.file_count, 2u);  // the vanished file is left out, the rest completes
  ASSERT_EQ(b.warnings.size(), 2u);
  // Files are read by several threads: the two warnings may come in either order.
  std::vector<std::string> sorted = b.warnings;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& x, const std::string& y) {
    return x.find("2-vanishes.txt") != std::string::npos && y.find("2-vanishes.txt") == std::string::npos;
  });
  EXPECT_NE(sorted[0].find("2-vanishes.txt"), std::string::npos);
  EXPECT_NE(sorted[0].find("vanished"), std::string::npos);
  EXPECT_NE(sorted[1].find("3-grows.txt"), std::string::npos);
  EXPECT_NE(sorted[1].find("changed"), std::string::npos);
  EXPECT_EQ(live_warnings, b.warnings);

  RestoreOptions o;
  o.target = (dir_ / "out").string();
  manager.restore_from_backup(b.backup_id, o);
  EXPECT_EQ(read_file(dir_ / "out/uploads/3-grows.txt"), "much longer than it was when the tree was scanned");
  EXPECT_FALSE(fs::exists(dir_ / "out/uploads/2-vanishes.txt"));
  // The next incremental reads the changed file again rather than trusting its old metadata.
  BackupInfo next = manager.create_incremental_backup();
  EXPECT_GE(next.files_read, 1u);
}

TEST_F(BackupManagerTest, InPlaceRestoreChoosesWhatToDoWithExistingFiles) {
  write_file(dir_ / "uploads/kept.txt", "backed up");
  write_file(dir_ / "uploads/deleted.txt", "backed up");
  BackupManager manager(config_);
  const std::string id = manager.create_full_backup().backup_id;
  fs::remove(dir_ / "uploads/deleted.txt");
  write_file(dir_ / "uploads/kept.txt", "edited");

  try {  // the default refuses and writes nothing
    manager.restore_from_backup(id, {});
    ADD_FAILURE() << "restored over an existing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
  }
  EXPECT_FALSE(fs::exists(dir_ / "uploads/deleted.txt"));

  RestoreResult r = manager.restore_from_backup(id, {.existing = ExistingFiles::kSkip});
  EXPECT_EQ(r.files_restored, 1u);
  EXPECT_EQ(r.files_kept, 1u);
  EXPECT_EQ(read_file(dir_ / "uploads/deleted.txt"), "backed up");
  EXPECT_EQ(read_file(dir_ / "uploads/kept.txt"), "edited");

  r = manager.restore_from_backup(id, {.overwrite = true});  // the older spelling still works
  EXPECT_EQ(r.files_restored, 2u);
  EXPECT_EQ(read_file(dir_ / "uploads/kept.txt"), "backed up");
}

TEST_F(BackupManagerTest, BadConfigurationIsAConfigError) {
  config_.backup_paths = {dir_ / "does-not-exist"};
  BackupManager manager(config_);
  try {
    manager.create_full_backup();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("BACKUP_PATHS"), std::string::npos);
  }
}

TEST_F(BackupManagerTest, AProgressCallbackThatThrowsCancelsTheCallAndNothingCommits) {
  for (int i = 0; i < 40; ++i) write_file(dir_ / ("uploads/f" + std::to_string(i)), std::string(200000, char('a' + i % 26)));
  BackupManager manager(config_);
  int calls = 0;
  manager.set_progress_callback([&](const Progress& p) {
    ++calls;
    if (p.phase == "backup") throw Error(ErrorCategory::kInput, "interrupted");
  });
  try {
    manager.create_full_backup();
    FAIL() << "the cancelled backup committed";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "interrupted");
  }
  EXPECT_GE(calls, 1);
  EXPECT_TRUE(manager.list_backups().empty());
  auto history = manager.history();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].status, "failed");
  EXPECT_EQ(history[0].error, "interrupted");

  // The repository is as a killed backup leaves it: it verifies, and the next backup works.
  manager.set_progress_callback({});
  EXPECT_TRUE(manager.verify({.read_data = true}).ok);
  BackupInfo full = manager.create_full_backup();
  EXPECT_EQ(full.file_count, 40u);

  // A restore stops the same way, before its files are all written.
  manager.set_progress_callback([](const Progress&) { throw Error(ErrorCategory::kInput, "interrupted"); });
  EXPECT_THROW(manager.restore_from_backup(full.backup_id, {.target = (dir_ / "restored").string()}), Error);
}

}  // namespace coffer
