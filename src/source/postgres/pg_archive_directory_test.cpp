#include "source/postgres/pg_archive_directory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "source/postgres/pg_archive_rows.h"
#include "source/postgres/pg_archive_test_builder.h"
#include "source/postgres/pg_dump_stream.h"
#include "source/postgres/pg_restore_runner.h"
#include "source/postgres/pg_test_env.h"
#include "util/fd_io.h"
#include "util/subprocess.h"

namespace coffer::pg {
namespace {
namespace fs = std::filesystem;

TEST(DirectoryToc, RewritesEachOffsetAsAFileName) {
  ArchiveBuilder b = valid_archive(14, 3);
  const uint64_t head = b.starts.begin()->second;  // the header and table of contents
  DirectoryToc t = to_directory_toc(ByteView(b.out).first(head));
  ASSERT_EQ(t.data.size(), 4u);
  EXPECT_EQ(t.data[0].dump_id, 2);
  EXPECT_EQ(t.data[0].file, "2.dat");
  EXPECT_EQ(t.data[0].label, "TABLE DATA public.a");
  EXPECT_EQ(t.data[1].file, "3.dat");
  EXPECT_TRUE(t.data[2].blobs);
  EXPECT_EQ(t.data[2].file, "blobs.toc");
  EXPECT_EQ(t.data[3].file, "5.dat");
  EXPECT_EQ(t.int_size, 4);
  EXPECT_EQ(t.toc_dat[archive::kFormatBytePos], archive::kFormatDirectory);
  // Five entries lose their 9-byte offset fields and gain a name: "" for the one without data.
  const size_t names = 5 * 5 + std::string("2.dat3.datblobs.toc5.dat").size();
  EXPECT_EQ(t.toc_dat.size(), head - 5 * 9 + names);
  // Everything before the first entry's offset field is the archive's own.
  EXPECT_TRUE(std::equal(b.out.begin(), b.out.begin() + archive::kFormatBytePos, t.toc_dat.begin()));
  // Bytes after the table of contents do not matter.
  EXPECT_EQ(to_directory_toc(b.out).toc_dat, t.toc_dat);
}

TEST(DirectoryToc, NumbersEntriesLargestFirstForPgRestore) {
  // Two tables, their data and an index each. pg_restore -j picks ready items by data size,
  // then dump id; a pipe has no size, so the ids are permuted into that order instead: t2's
  // data (1000 bytes) and its index, then t1's (100) and its index, then the rest.
  ArchiveBuilder b(14);
  b.toc({{1, "TABLE", "public", "t1", false, false, {}},
         {2, "TABLE", "public", "t2", false, false, {}},
         {3, "TABLE DATA", "public", "t1", true, false, {"1"}},
         {4, "TABLE DATA", "public", "t2", true, false, {"2"}},
         {5, "INDEX", "public", "t2_idx", false, false, {"2"}, 4},
         {6, "INDEX", "public", "t1_idx", false, false, {"1", "99"}, 4}});
  DirectoryToc t = to_directory_toc(b.out, {{3, 100}, {4, 1000}});
  archive::SpanReader r(t.toc_dat);
  const archive::Header h = archive::read_header(r, archive::kFormatDirectory);
  ASSERT_EQ(h.toc_entries, 6);
  std::vector<std::pair<int64_t, std::vector<std::string>>> got;
  std::vector<std::string> files;
  for (int i = 0; i < 6; ++i) {
    archive::TocEntry e = archive::read_toc_entry(r, h.vmin, archive::kFormatDirectory);
    got.push_back({e.dump_id, e.deps});
    files.push_back(e.data_file);
  }
  using Deps = std::vector<std::string>;
  const std::vector<std::pair<int64_t, Deps>> expected = {
      {5, {}}, {6, {}}, {3, {"5"}}, {1, {"6"}}, {2, {"6"}}, {4, {"5", "99"}}};  // 99: not in the archive, kept
  EXPECT_EQ(got, expected);
  EXPECT_EQ(files, (std::vector<std::string>{"", "", "3.dat", "1.dat", "", ""}));
  ASSERT_EQ(t.data.size(), 2u);
  EXPECT_EQ(t.data[0].dump_id, 3);  // the dump's own id: its data block has it
  EXPECT_EQ(t.data[0].file, "3.dat");
  EXPECT_EQ(t.data[1].dump_id, 4);
  EXPECT_EQ(t.data[1].file, "1.dat");
  // Without sizes nothing is renumbered.
  const DirectoryToc unchanged = to_directory_toc(b.out);
  archive::SpanReader plain(unchanged.toc_dat);
  archive::read_header(plain, archive::kFormatDirectory);
  EXPECT_EQ(archive::read_toc_entry(plain, 14, archive::kFormatDirectory).dump_id, 1);
}

TEST(DirectoryToc, RefusesWhatItCannotServe) {
  ArchiveBuilder compressed(15, 1);
  compressed.toc({{1, "TABLE DATA", "public", "a", true}});
  EXPECT_THROW(to_directory_toc(compressed.out), archive::Unparseable);
  ArchiveBuilder other(14);
  other.toc({{1, "SOMETHING NEW", "public", "a", true}});
  EXPECT_THROW(to_directory_toc(other.out), archive::Unparseable);
  ArchiveBuilder cut = valid_archive(14);
  EXPECT_THROW(to_directory_toc(ByteView(cut.out).first(60)), archive::Unparseable);
}

// Writes table data to a file descriptor.
struct FileSink : BlockSink {
  int fd;
  std::string path;
  void data(ByteView b) override { write_all(fd, b, path); }
};

class PgArchiveDirectoryTest : public PgTestWithDir {};

std::string listing(const Tools& tools, const std::string& archive) {
  ProcessSpec spec;
  spec.argv = {tools.pg_restore(), "--list", archive};
  std::string out, err;
  EXPECT_EQ(run_process(spec, &out, &err), 0) << err;
  // Drop the comment lines (the archive's name and format differ) and keep the entries, but
  // for their dump ids ("3354; 0 18595 TABLE DATA public a postgres"), which may be renumbered.
  std::istringstream in(out);
  std::string line, entries;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != ';') entries += line.substr(line.find(';') + 1) + "\n";
  return entries;
}

}  // namespace

TEST_F(PgArchiveDirectoryTest, AStreamedDumpRestoresAsADirectoryArchive) {
  std::string db = new_database("coffer_dirarchive");
  sql(db,
      "CREATE TABLE a (id int PRIMARY KEY, t text); INSERT INTO a SELECT g, repeat(E'x\\n', g % 50) FROM "
      "generate_series(1, 3000) g;"
      "CREATE SCHEMA \"Odd Schema\"; CREATE TABLE \"Odd Schema\".\"B b\" (id int); INSERT INTO "
      "\"Odd Schema\".\"B b\" SELECT generate_series(1, 10);"
      "CREATE TABLE empty_one (x int); CREATE VIEW v AS SELECT * FROM a;"
      "SELECT lo_from_bytea(424242, E'large\\nobject'); SELECT lo_from_bytea(0, '')");
  Connection conn(config(db));
  Session session(conn);
  Tools tools = find_tools(session.server_version_num());
  const Bytes stream = dump_from_snapshot(session, conn, tools);
  ArchiveRowCounter counter;
  counter.feed(stream);
  ASSERT_TRUE(counter.finish()) << counter.reason();
  const auto& starts = counter.block_offsets();
  ASSERT_FALSE(starts.empty());
  // Blocks follow the table of contents' order, not the dump ids': each ends where the next begins.
  std::map<uint64_t, uint64_t> end_of;  // start -> end
  uint64_t first = stream.size();
  {
    std::vector<uint64_t> at;
    for (const auto& [id, pos] : starts) at.push_back(pos);
    std::sort(at.begin(), at.end());
    for (size_t i = 0; i < at.size(); ++i) end_of[at[i]] = i + 1 < at.size() ? at[i + 1] : stream.size();
    first = at.front();
  }

  // With the blocks' sizes, as a restore does: the entries are renumbered largest first, and
  // every dependency must still point at the same object.
  std::map<int64_t, uint64_t> sizes;
  for (const auto& [id, pos] : starts) sizes[id] = end_of.at(pos) - pos;
  DirectoryToc toc = to_directory_toc(ByteView(stream).first(first), sizes);
  ASSERT_EQ(toc.data.size(), 4u);  // a, B b, empty_one, the large objects
  fs::path out = dir_ / "archive";
  fs::create_directory(out);
  std::ofstream(out / "toc.dat", std::ios::binary) << to_string(toc.toc_dat);
  for (const DirectoryEntry& e : toc.data) {
    auto it = starts.find(e.dump_id);
    ASSERT_NE(it, starts.end()) << e.label;
    ByteView block = ByteView(stream).subspan(it->second, end_of.at(it->second) - it->second);
    if (e.blobs) {
      BlobFilesSink sink(out.string());
      BlockReader reader(toc.int_size, e.dump_id, sink);
      reader.feed(block);
      ASSERT_TRUE(reader.done());
      sink.finish();
    } else {
      std::string path = (out / e.file).string();
      FileSink sink;
      sink.fd = create_new_file(path);
      sink.path = path;
      BlockReader reader(toc.int_size, e.dump_id, sink);
      reader.feed(block);
      close_written(sink.fd, path);
      ASSERT_TRUE(reader.done()) << e.label;
    }
  }
  EXPECT_TRUE(fs::exists(out / "blob_424242.dat"));

  // pg_restore sees the same entries as in the custom archive, and restores them in parallel.
  std::string custom = (dir_ / "custom.dump").string();
  std::ofstream(custom, std::ios::binary) << to_string(stream);
  EXPECT_EQ(listing(tools, out.string()), listing(tools, custom));
  std::string target = new_db_name("coffer_dirarchive_restored");
  session.create_database(target);
  RestoreRequest req;
  req.archive_path = out.string();
  req.dbname = target;
  req.jobs = 2;
  run_pg_restore(tools, conn, req);
  EXPECT_EQ(sql(target, "SELECT count(*) || ' ' || sum(length(t)) FROM a"), sql(db, "SELECT count(*) || ' ' || sum(length(t)) FROM a"));
  EXPECT_EQ(sql(target, "SELECT count(*) FROM \"Odd Schema\".\"B b\""), "10");
  EXPECT_EQ(sql(target, "SELECT convert_from(lo_get(424242), 'UTF8')"), "large\nobject");
  EXPECT_EQ(sql(target, "SELECT count(*) FROM pg_largeobject_metadata"), "2");
  EXPECT_EQ(sql(target, "SELECT count(*) FROM v"), "3000");  // the view, after its table
  EXPECT_EQ(sql(target, "SELECT indexdef FROM pg_indexes WHERE tablename = 'a'"),
            sql(db, "SELECT indexdef FROM pg_indexes WHERE tablename = 'a'"));
}

}  // namespace coffer::pg
