#include "source/postgres/pg_archive_offsets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "source/postgres/pg_dump_stream.h"
#include "source/postgres/pg_restore_runner.h"
#include "source/postgres/pg_test_env.h"
#include "util/subprocess.h"
#include "testing/fixtures.h"

namespace coffer::pg {
namespace {
namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class PgArchiveOffsetsTest : public PgTestWithDir {};

}  // namespace

TEST_F(PgArchiveOffsetsTest, RepairedStreamMatchesWhatPgDumpWritesToAFile) {
  std::string db = new_database("coffer_offsets");
  sql(db,
      "CREATE TABLE a (id int, t text); INSERT INTO a SELECT g, repeat('x', g % 50) FROM generate_series(1, 3000) g;"
      "CREATE TABLE b (id int); INSERT INTO b SELECT generate_series(1, 10);"
      "CREATE TABLE empty_one (x int); CREATE VIEW v AS SELECT * FROM b;"
      "SELECT lo_from_bytea(0, 'large object bytes')");
  Connection conn(config(db));
  Session session(conn);
  Tools tools = find_tools(session.server_version_num());

  // The way coffer gets it: streamed, so the table of contents has no data offsets.
  std::string piped = (dir_ / "piped.dump").string();
  {
    std::ofstream(piped, std::ios::binary) << to_string(dump_from_snapshot(session, conn, tools));
  }
  // The way pg_dump writes a seekable file: offsets filled in.
  std::string seekable = (dir_ / "seekable.dump").string();
  ProcessSpec spec = conn.child_spec({tools.pg_dump(), "--format=custom", "--compress=0", "--file=" + seekable});
  std::string err;
  ASSERT_EQ(run_process(spec, nullptr, &err), 0) << err;

  std::string before = slurp(piped);
  // Cut short in its data, the same archive is left as it is: the walk runs off the end.
  std::string cut = (dir_ / "cut.dump").string();
  std::ofstream(cut, std::ios::binary) << before.substr(0, before.size() * 2 / 3);
  OffsetRepair cut_repair = fill_in_data_offsets(cut);
  EXPECT_FALSE(cut_repair.repaired);
  EXPECT_EQ(cut_repair.reason, "archive ends early");
  EXPECT_EQ(slurp(cut), before.substr(0, before.size() * 2 / 3));

  OffsetRepair repair = fill_in_data_offsets(piped);
  ASSERT_TRUE(repair.repaired) << repair.reason;
  EXPECT_GE(repair.entries, 3);  // a, b, empty_one (and the large object)
  std::string after = slurp(piped), reference = slurp(seekable);
  ASSERT_EQ(after.size(), reference.size());
  EXPECT_NE(after, before);
  // Identical but for the creation time in the header (7 integers after the compression field).
  size_t differ_after_header = 0;
  for (size_t i = 64; i < after.size(); ++i) differ_after_header += after[i] != reference[i];
  EXPECT_EQ(differ_after_header, 0u);

  // And pg_restore -j2 restores it.
  std::string target = new_db_name("coffer_offsets_restored");
  session.create_database(target);
  RestoreRequest req;
  req.archive_path = piped;
  req.dbname = target;
  req.jobs = 2;
  run_pg_restore(tools, conn, req);
  EXPECT_EQ(sql(target, "SELECT count(*) FROM a"), "3000");
}

TEST(ArchiveOffsets, LeavesWhatItCannotParseUntouched) {
  fs::path dir = test_support::make_temp_dir("coffer-offsets-bad");
  std::string path = (dir / "junk").string();
  std::string junk = "PGDMP\x01\x0e\x00\x04\x08\x01 and then garbage that is not an archive";
  std::ofstream(path, std::ios::binary) << junk;
  OffsetRepair r = fill_in_data_offsets(path);
  EXPECT_FALSE(r.repaired);
  EXPECT_FALSE(r.reason.empty());
  EXPECT_EQ(slurp(path), junk);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a dump at all";
  EXPECT_FALSE(fill_in_data_offsets(path).repaired);
  std::ofstream(path, std::ios::binary | std::ios::trunc);  // empty
  EXPECT_FALSE(fill_in_data_offsets(path).repaired);
  EXPECT_FALSE(fill_in_data_offsets((dir / "missing").string()).repaired);
  fs::remove_all(dir);
}

}  // namespace coffer::pg
