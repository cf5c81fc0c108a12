// DumpDirectory on a real local repository holding a hand-built custom archive as a dump: the
// pipes give each table's COPY text as pg_restore reads it, large objects are staged as files,
// and what cannot be served is refused (the caller stages the dump) or fails the pipe.
#include "source/postgres/dump_directory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "coffer/error.h"
#include "repo/chunk_store.h"
#include "source/postgres/pg_archive_format.h"
#include "source/postgres/pg_archive_test_builder.h"
#include "testing/fixtures.h"

namespace coffer::pg {
namespace fs = std::filesystem;
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class DumpDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-dumpdir", true);
    dir_ = t.dir;
    repo_ = std::move(t.repo);
    archive_ = valid_archive(14, 20000);  // table 5: 20,000 rows, more than a pipe holds
    ChunkStore store(*repo_, {}, 1);
    MemorySource src(ByteView(archive_.out));
    // Small chunks, so that blocks start and end inside chunks.
    dump_ = store.add_stream(src, BlobType::kData, ChunkerParams{64, 256, 1024});
    store.commit();
    part_.info.dump_bytes = archive_.out.size();
    part_.data_blocks = archive_.starts;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<DumpDirectory> plan(std::string* why) { return DumpDirectory::plan(*repo_, part_, dump_, why); }

  fs::path dir_;
  std::unique_ptr<Repository> repo_;
  ArchiveBuilder archive_;
  std::vector<ChunkRef> dump_;
  DatabasePart part_;
};

}  // namespace

TEST_F(DumpDirectoryTest, ServesEachTableAsAPipeAndStagesLargeObjects) {
  std::string why;
  auto d = plan(&why);
  ASSERT_TRUE(d) << why;
  EXPECT_EQ(d->pipes(), 3u);  // tables 2, 3 and 5
  EXPECT_EQ(d->staged_bytes(), archive_.starts.at(5) - archive_.starts.at(4));  // the large objects' block
  d->open();
  const std::string path = d->path();
  EXPECT_EQ(read_file(path + "/toc.dat")[archive::kFormatBytePos], archive::kFormatDirectory);
  // Numbered largest first for pg_restore (pg_archive_directory.h): dump id 5, the largest
  // table, is 1.dat; dump id 2 stays 2.dat.
  EXPECT_TRUE(fs::is_fifo(path + "/1.dat"));
  EXPECT_EQ(read_file(path + "/blobs.toc"), "16385 blob_16385.dat\n3000000000 blob_3000000000.dat\n");
  EXPECT_EQ(read_file(path + "/blob_16385.dat"), "a\nb\nc\n");

  std::string many;
  for (int i = 0; i < 20000; ++i) many += "row\n";
  EXPECT_EQ(read_file(path + "/1.dat"), many + "\\.\n\n\n");
  EXPECT_EQ(read_file(path + "/2.dat"), "1\tx\\ny\n2\t\\N\n3\t\\\\.\n\\.\n\n\n");
  d->finish();  // table 3 was never opened: nothing to do for it
  d.reset();
  EXPECT_FALSE(fs::exists(path)) << "the folder outlived the restore";
}

TEST_F(DumpDirectoryTest, RefusesWhatItCannotServe) {
  std::string why;
  part_.data_blocks.clear();  // a backup made before the offsets were recorded
  EXPECT_FALSE(plan(&why));
  EXPECT_NE(why.find("older coffer"), std::string::npos) << why;
  part_.data_blocks = archive_.starts;
  part_.data_blocks.erase(3);
  EXPECT_FALSE(plan(&why));
  EXPECT_NE(why.find("do not match"), std::string::npos) << why;
}

TEST_F(DumpDirectoryTest, AWrongBlockFailsItsPipeWithoutEndOfFile) {
  part_.data_blocks[2] += 1;  // off by one: no data block starts there
  std::string why;
  auto d = plan(&why);
  ASSERT_TRUE(d) << why;
  d->open();
  int fd = ::open((d->path() + "/2.dat").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 500 && !d->failed(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(d->failed());
  char buf[16];
  EXPECT_EQ(::read(fd, buf, sizeof buf), -1);  // no end-of-file: pg_restore must not take it as the whole table
  EXPECT_EQ(errno, EAGAIN);
  try {
    d->finish();
    FAIL() << "finish() did not report the failed pipe";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged);
    EXPECT_NE(std::string(e.what()).find("TABLE DATA public.a"), std::string::npos) << e.what();
  }
  ::close(fd);
}

}  // namespace coffer::pg
