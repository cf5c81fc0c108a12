#include "repo/key_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "repo/repository.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {

namespace fs = std::filesystem;

bool same(const MasterKeys& a, const MasterKeys& b) {
  return a.encryption == b.encryption && a.id == b.id && a.chunker == b.chunker;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(KeyCacheTest, GivesTheKeysBackOnlyForTheSameKeyFileAndPassphrase) {
  test_support::TempDir dir("coffer-key-cache");
  KeyCache cache(dir.path / "keys");
  const MasterKeys keys = generate_master_keys();
  ASSERT_TRUE(cache.store("repo1", "key file text", "right passphrase", keys));
  std::optional<MasterKeys> back = cache.load("repo1", "key file text", "right passphrase");
  ASSERT_TRUE(back);
  EXPECT_TRUE(same(*back, keys));
  EXPECT_FALSE(cache.load("repo1", "key file text", "wrong passphrase"));
  EXPECT_FALSE(cache.load("repo1", "another key file (a new passphrase)", "right passphrase"));
  EXPECT_FALSE(cache.load("repo2", "key file text", "right passphrase"));
  EXPECT_EQ(mode_of(dir.path / "keys"), 0700u);
  EXPECT_EQ(mode_of(dir.path / "keys" / "repo1"), 0600u);
  // The keys are not in the file as they are.
  std::ifstream in(dir.path / "keys" / "repo1");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(to_hex(keys.encryption)), std::string::npos);
}

TEST(KeyCacheTest, ADamagedOrForeignEntryIsAMissNotAnError) {
  test_support::TempDir dir("coffer-key-cache");
  KeyCache cache(dir.path);
  std::ofstream(dir.path / "repo1") << "{not json";
  EXPECT_FALSE(cache.load("repo1", "k", "p"));
  EXPECT_FALSE(cache.load("../repo1", "k", "p"));  // never a path outside the folder
  EXPECT_FALSE(cache.store("../escape", "k", "p", generate_master_keys()));
  EXPECT_FALSE(KeyCache(fs::path()).store("repo1", "k", "p", generate_master_keys()));
}

TEST(KeyCacheTest, RepositoryOpenFillsAndUsesTheCache) {
  test_support::TempRepository t = test_support::make_temp_repository("coffer-key-cache-repo", true);
  test_support::TempDir dir("coffer-key-cache");
  KeyCache cache(dir.path);
  const std::string id = t.repo->id();
  auto first = Repository::open(t.storage, std::string("pw"), &cache);
  EXPECT_TRUE(fs::exists(dir.path / id));
  auto second = Repository::open(t.storage, std::string("pw"), &cache);
  EXPECT_TRUE(same(second->sealer().keys(), t.repo->sealer().keys()));
  EXPECT_THROW(Repository::open(t.storage, std::string("not the passphrase"), &cache), Error);
  fs::remove_all(t.dir);
}

}  // namespace
}  // namespace coffer
