#include "util/disk_space.h"

#include <gtest/gtest.h>

#include "coffer/error.h"

namespace coffer {

TEST(DiskSpace, EnoughRoomPassesAndTooLittleNamesTheFolderAndTheWayOut) {
  const std::filesystem::path tmp = std::filesystem::temp_directory_path();
  const uint64_t free = free_bytes(tmp);
  EXPECT_GT(free, 0u);
  EXPECT_NO_THROW(require_free_space(tmp, 1, "a test", "free some space"));
  try {
    require_free_space(tmp, free + (uint64_t{1} << 40), "restoring the database", "set TMPDIR to a folder with room");
    FAIL() << "a terabyte more than is free was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kStorage);
    const std::string msg = e.what();
    for (const std::string& part : {std::string("restoring the database needs"), tmp.string(), std::string("free"),
                                   std::string("set TMPDIR to a folder with room")})
      EXPECT_NE(msg.find(part), std::string::npos) << part << " missing from: " << msg;
  }
  EXPECT_THROW(free_bytes("/nonexistent/coffer/folder"), Error);
}

}  // namespace coffer
