#include "source/postgres/wal/wal_archive.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::pg::wal {
namespace {

namespace fs = std::filesystem;

Bytes segment_bytes(uint8_t fill) {
  Bytes b(1 << 20, fill);  // 1 MiB stands in for 16: the archive does not care
  b[0] = 0x10;
  return b;
}

class WalArchiveTest : public ::testing::Test {
 protected:
  void TearDown() override { fs::remove_all(t_.dir); }
  test_support::TempRepository t_ = test_support::make_temp_repository("coffer-wal-archive", true);
  WalArchive archive_{*t_.repo, "7312345678901234567-15"};
  CompressionSpec zstd1_{Codec::kZstd, 1};
};

TEST_F(WalArchiveTest, StoresFetchesAndListsEveryKind) {
  const Bytes seg = segment_bytes(7);
  EXPECT_EQ(archive_.push("000000010000000000000003", seg, zstd1_), WalArchive::Pushed::kStored);
  EXPECT_EQ(archive_.push("00000002.history", as_bytes("1\t0/3000000\tno recovery target specified\n"), zstd1_),
            WalArchive::Pushed::kStored);
  EXPECT_EQ(archive_.push("000000010000000000000003.00000028.backup", as_bytes("START WAL LOCATION"), zstd1_),
            WalArchive::Pushed::kStored);
  EXPECT_EQ(archive_.push("000000010000000000000004.partial", segment_bytes(9), zstd1_), WalArchive::Pushed::kStored);
  EXPECT_EQ(archive_.fetch("000000010000000000000003"), seg);
  EXPECT_EQ(archive_.list(), (std::vector<std::string>{"000000010000000000000003",
                                                        "000000010000000000000003.00000028.backup",
                                                        "000000010000000000000004.partial", "00000002.history"}));
  EXPECT_FALSE(archive_.fetch("000000010000000000000005"));  // missing is not an error
  EXPECT_TRUE(fs::exists(t_.dir / "wal/7312345678901234567-15/0000000100000000/000000010000000000000003"));
  EXPECT_TRUE(fs::exists(t_.dir / "wal/7312345678901234567-15/history/00000002.history"));
  EXPECT_EQ(WalArchive::clusters(*t_.storage), (std::vector<std::string>{"7312345678901234567-15"}));
  // Compressed and sealed: a 1 MiB run of one byte is stored in far fewer bytes, and not as plaintext.
  EXPECT_LT(fs::file_size(t_.dir / "wal/7312345678901234567-15/0000000100000000/000000010000000000000003"), 4096u);
}

TEST_F(WalArchiveTest, PushingAgainIsIdempotentButOtherContentIsRefused) {
  const std::string name = "000000010000000000000003";
  ASSERT_EQ(archive_.push(name, segment_bytes(7), zstd1_), WalArchive::Pushed::kStored);
  EXPECT_EQ(archive_.push(name, segment_bytes(7), zstd1_), WalArchive::Pushed::kAlreadyThere);
  try {
    archive_.push(name, segment_bytes(8), zstd1_);
    FAIL() << "other content overwrote an archived segment";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not overwritten"), std::string::npos) << e.what();
  }
  EXPECT_EQ(archive_.fetch(name), segment_bytes(7));
}

TEST_F(WalArchiveTest, RefusesNamesThatAreNotWalFiles) {
  for (const char* bad : {"../config", "archive_status", "000000010000000000000003.ready", ""})
    EXPECT_THROW(archive_.push(bad, as_bytes("x"), zstd1_), Error) << bad;
}

TEST_F(WalArchiveTest, ARenamedObjectDoesNotOpenAsAnotherFile) {
  archive_.push("000000010000000000000003", segment_bytes(7), zstd1_);
  const fs::path folder = t_.dir / "wal/7312345678901234567-15/0000000100000000";
  fs::copy_file(folder / "000000010000000000000003", folder / "000000010000000000000004");
  try {
    archive_.fetch("000000010000000000000004");
    FAIL() << "a copied object opened under another name";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
  }
}

TEST_F(WalArchiveTest, ClustersDoNotMix) {
  WalArchive other(*t_.repo, "7399999999999999999-15");
  archive_.push("000000010000000000000003", segment_bytes(7), zstd1_);
  EXPECT_FALSE(other.fetch("000000010000000000000003"));
  EXPECT_EQ(other.push("000000010000000000000003", segment_bytes(8), zstd1_), WalArchive::Pushed::kStored);
  EXPECT_EQ(archive_.fetch("000000010000000000000003"), segment_bytes(7));
  EXPECT_EQ(WalArchive::clusters(*t_.storage).size(), 2u);
}

}  // namespace
}  // namespace coffer::pg::wal
