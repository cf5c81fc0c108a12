#include "util/locked_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(LockedFileTest, ReplacesTheWholeFileAndLeavesNoTemp) {
  test_support::TempDir dir("locked-file");
  const auto path = dir.path / "state.json";
  replace_file(path, "first", false);
  replace_file(path, "second, longer", true);
  EXPECT_EQ(read_all(path), "second, longer");
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(LockedFileTest, AFolderThatCannotBeWrittenIsAStorageErrorNamingTheFile) {
  try {
    replace_file("/nonexistent-coffer-dir/state.json", "x", false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-coffer-dir/state.json"), std::string::npos);
  }
}

TEST(LockedFileTest, UpdatesUnderTheLockFromTwoProcessesLoseNothing) {
  test_support::TempDir dir("locked-file");
  const auto path = dir.path / "count";
  replace_file(path, "0", false);
  auto bump = [&] {
    for (int i = 0; i < 200; ++i)
      with_file_lock(path.string() + ".lock", [&] { replace_file(path, std::to_string(std::stoi(read_all(path)) + 1), false); });
  };
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    bump();
    ::_exit(0);
  }
  bump();
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(read_all(path), "400");
}

}  // namespace
}  // namespace coffer
