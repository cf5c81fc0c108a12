#include "source/postgres/pg_tools.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::pg {
namespace {

namespace fs = std::filesystem;

Tools tools(const std::string& dir, const std::string& version) {
  Tools t;
  t.bin_dir = dir;
  t.version = version;
  t.major = major_of(version_num_of(version));
  return t;
}

std::string error_of(const std::vector<Tools>& candidates, int server_version_num) {
  try {
    select_tools(candidates, server_version_num);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDatabase);
    return e.what();
  }
  return "(no error)";
}

TEST(PostgresToolsVersionTest, ParsesVersionNumbers) {
  EXPECT_EQ(version_num_of("15.18"), 150018);
  EXPECT_EQ(version_num_of("9.6.24"), 90624);
  EXPECT_EQ(version_num_of("9.6"), 90600);
  EXPECT_EQ(version_num_of("16beta1"), 160000);
  EXPECT_EQ(version_num_of("17devel"), 170000);
  EXPECT_EQ(version_num_of("10.1"), 100001);
  EXPECT_EQ(version_num_of("abc"), 0);
  EXPECT_EQ(version_num_of(""), 0);
  EXPECT_EQ(version_text(150018), "15.18");
  EXPECT_EQ(version_text(90624), "9.6.24");
  EXPECT_EQ(major_of(150018), 15);
  EXPECT_EQ(major_of(90624), 9);
}

TEST(PostgresToolsVersionTest, ParsesToolOutput) {
  Tools t;
  ASSERT_TRUE(parse_tool_version("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", &t));
  EXPECT_EQ(t.version, "15.18");
  EXPECT_EQ(t.major, 15);
  ASSERT_TRUE(parse_tool_version("pg_dump (PostgreSQL) 9.6.24\n", &t));
  EXPECT_EQ(t.version, "9.6.24");
  EXPECT_EQ(t.major, 9);
  ASSERT_TRUE(parse_tool_version("pg_dump (PostgreSQL) 17devel", &t));
  EXPECT_EQ(t.major, 17);
  ASSERT_TRUE(parse_tool_version("pg_dump 14.2", &t));  // other builds: first number
  EXPECT_EQ(t.version, "14.2");
  EXPECT_FALSE(parse_tool_version("command not found", &t));
  EXPECT_FALSE(parse_tool_version("", &t));
}

TEST(PostgresToolMessageTest, KeepsTheEndOnOneLine) {
  EXPECT_EQ(tool_message("pg_restore: error: could not connect\nFATAL: no such database\n\n"),
            "pg_restore: error: could not connect FATAL: no such database");
  EXPECT_EQ(tool_message(" \n"), "(no message)");
  std::string long_text = std::string(3000, 'a') + "the cause";
  std::string m = tool_message(long_text);
  EXPECT_EQ(m.size(), 2003u);  // "..." and the last 2000 characters
  EXPECT_EQ(m.substr(0, 3), "...");
  EXPECT_EQ(m.substr(m.size() - 9), "the cause");
}

TEST(PostgresToolsSelectTest, PicksTheNewest) {
  std::vector<Tools> c = {tools("/a/13", "13.4"), tools("/a/16", "16.2"), tools("/a/15", "15.18")};
  EXPECT_EQ(select_tools(c, 150018).bin_dir, "/a/16");
  EXPECT_EQ(select_tools(c, 90624).bin_dir, "/a/16");
  EXPECT_EQ(select_tools(c, 160004).bin_dir, "/a/16");  // same major, older minor is fine
}

TEST(PostgresToolsSelectTest, FirstOfEqualVersionsWins) {
  std::vector<Tools> c = {tools("/usr/lib/postgresql/15/bin", "15.18"), tools("/usr/bin", "15.18")};
  EXPECT_EQ(select_tools(c, 150000).bin_dir, "/usr/lib/postgresql/15/bin");
}

TEST(PostgresToolsSelectTest, RefusesToolsOlderThanTheServer) {
  std::string msg = error_of({tools("/a/13", "13.4"), tools("/a/12", "12.1")}, 150018);
  EXPECT_EQ(msg, "pg_dump 13.4 is older than the server (15.18): install postgresql-client-15");
  // Before 10, 9.5 and 9.6 were different major versions.
  EXPECT_NE(error_of({tools("/a/9.5", "9.5.25")}, 90624).find("older than the server (9.6.24)"), std::string::npos);
  EXPECT_EQ(select_tools({tools("/a/9.6", "9.6.1")}, 90624).bin_dir, "/a/9.6");
}

TEST(PostgresToolsSelectTest, NoCandidatesNamesThePackage) {
  std::string msg = error_of({}, 160002);
  EXPECT_NE(msg.find("no pg_dump found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("postgresql-client-16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("COFFER_PG_BIN"), std::string::npos) << msg;
}

// Fake installs: folders with a pg_dump script that prints a version.
class PostgresToolsFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test_support::make_temp_dir("coffer-pgtools");
  }
  void TearDown() override {
    ::unsetenv("COFFER_PG_BIN");
    fs::remove_all(root_);
  }
  std::string fake_bin(const std::string& rel, const std::string& version_line) {
    fs::path dir = root_ / rel;
    fs::create_directories(dir);
    std::ofstream(dir / "pg_dump") << "#!/bin/sh\necho '" << version_line << "'\n";
    ::chmod((dir / "pg_dump").c_str(), 0755);
    return dir.string();
  }
  fs::path root_;
};

TEST_F(PostgresToolsFolderTest, ListsVersionedFoldersNewestFirstThenPath) {
  std::string v13 = fake_bin("lib/13/bin", "pg_dump (PostgreSQL) 13.4");
  std::string v9 = fake_bin("lib/9.6/bin", "pg_dump (PostgreSQL) 9.6.24");
  std::string v15 = fake_bin("lib/15/bin", "pg_dump (PostgreSQL) 15.18");
  fs::create_directories(root_ / "lib/14/bin");  // no pg_dump: not a candidate
  std::string on_path = fake_bin("usr/bin", "pg_dump (PostgreSQL) 15.18");
  std::string path = (root_ / "nothing").string() + ":" + on_path + "::" + v15;
  EXPECT_EQ(candidate_dirs((root_ / "lib").string(), path), (std::vector<std::string>{v15, v13, v9, on_path}));
  EXPECT_TRUE(candidate_dirs((root_ / "missing").string(), "").empty());
}

// Each candidate is run to learn its version: the same program twice on PATH (a merged /usr's
// /bin and /usr/bin) is listed once, and Debian's pg_wrapper only when no versioned folder exists.
TEST_F(PostgresToolsFolderTest, ListsEachProgramOnceAndSkipsTheWrapperBehindVersionedFolders) {
  std::string v15 = fake_bin("lib/15/bin", "pg_dump (PostgreSQL) 15.18");
  std::string wrapper = fake_bin("share/postgresql-common", "pg_dump (PostgreSQL) 15.18");
  fs::rename(root_ / "share/postgresql-common/pg_dump", root_ / "share/postgresql-common/pg_wrapper");
  fs::create_directories(root_ / "usr/bin");
  fs::create_symlink(root_ / "share/postgresql-common/pg_wrapper", root_ / "usr/bin/pg_dump");
  fs::create_symlink(root_ / "usr/bin", root_ / "bin");
  std::string other = fake_bin("opt/pg17/bin", "pg_dump (PostgreSQL) 17.1");
  fs::create_directories(root_ / "opt/alias");
  fs::create_symlink(root_ / "opt/pg17/bin/pg_dump", root_ / "opt/alias/pg_dump");
  const std::string usr_bin = (root_ / "usr/bin").string(), bin = (root_ / "bin").string();
  const std::string alias = (root_ / "opt/alias").string();
  std::string path = usr_bin + ":" + bin + ":" + other + ":" + alias;
  EXPECT_EQ(candidate_dirs((root_ / "lib").string(), path), (std::vector<std::string>{v15, other}));
  // Without versioned folders the wrapper is the way to pg_dump, once.
  EXPECT_EQ(candidate_dirs((root_ / "none").string(), path), (std::vector<std::string>{usr_bin, other}));
}

TEST_F(PostgresToolsFolderTest, FindsToolsByRunningThem) {
  std::string v13 = fake_bin("13/bin", "pg_dump (PostgreSQL) 13.4 (Debian 13.4-1)");
  std::string v16 = fake_bin("16/bin", "pg_dump (PostgreSQL) 16.2");
  std::string broken = fake_bin("x/bin", "garbage");
  Tools t = find_tools_in({v13, broken, v16}, 150018);
  EXPECT_EQ(t.bin_dir, v16);
  EXPECT_EQ(t.version, "16.2");
  EXPECT_EQ(t.major, 16);
  EXPECT_EQ(t.pg_restore(), v16 + "/pg_restore");
  EXPECT_THROW(find_tools_in({v13, broken}, 150018), Error);
}

TEST_F(PostgresToolsFolderTest, CofferPgBinOverrides) {
  std::string v15 = fake_bin("custom", "pg_dump (PostgreSQL) 15.3");
  ::setenv("COFFER_PG_BIN", v15.c_str(), 1);
  Tools t = find_tools(150018);
  EXPECT_EQ(t.bin_dir, v15);
  EXPECT_EQ(t.version, "15.3");
  ::setenv("COFFER_PG_BIN", (root_ / "empty").c_str(), 1);
  try {
    find_tools(150018);
    FAIL() << "an empty COFFER_PG_BIN folder was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    EXPECT_NE(std::string(e.what()).find("COFFER_PG_BIN"), std::string::npos);
  }
}

}  // namespace
}  // namespace coffer::pg
