#include "source/postgres/wal/cluster_id.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::pg::wal {
namespace {

namespace fs = std::filesystem;

void write_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

TEST(ClusterIdTest, ReadsTheSystemIdentifierAndMajorVersion) {
  test_support::TempDir dir("coffer-cluster-id");
  fs::create_directories(dir.path / "global");
  std::ofstream(dir.path / "PG_VERSION") << "15\n";
  uint8_t control[296] = {};
  write_le64(control, 7312345678901234567ull);
  std::ofstream(dir.path / "global" / "pg_control", std::ios::binary).write(reinterpret_cast<char*>(control), sizeof control);
  ClusterId id = read_cluster_id(dir.path);
  EXPECT_EQ(id.system_identifier, 7312345678901234567ull);
  EXPECT_EQ(id.major, 15);
  EXPECT_EQ(id.name(), "7312345678901234567-15");
}

TEST(ClusterIdTest, NamesWhatIsMissing) {
  test_support::TempDir dir("coffer-cluster-id");
  try {
    read_cluster_id(dir.path);
    FAIL() << "an empty folder was taken for a data folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find("not a PostgreSQL data folder"), std::string::npos) << e.what();
  }
  std::ofstream(dir.path / "PG_VERSION") << "15\n";
  try {
    read_cluster_id(dir.path);
    FAIL() << "no pg_control";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pg_control"), std::string::npos) << e.what();
  }
}

TEST(ClusterIdTest, ReadsASegmentsLongHeader) {
  Bytes seg(8192, 0);
  seg[0] = 0x10;  // xlp_magic (any version)
  seg[1] = 0xD1;
  seg[2] = 0x07;  // xlp_info: XLP_LONG_HEADER among others
  write_le64(seg.data() + 24, 42);
  EXPECT_EQ(segment_system_identifier(seg), 42u);
  seg[2] = 0x01;  // a short header: no system identifier there
  EXPECT_FALSE(segment_system_identifier(seg));
  EXPECT_FALSE(segment_system_identifier(ByteView(seg.data(), 39)));
}

}  // namespace
}  // namespace coffer::pg::wal
