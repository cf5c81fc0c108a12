#include "source/postgres/pg_archive_blocks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "source/postgres/pg_archive_format.h"
#include "source/postgres/pg_archive_test_builder.h"

namespace coffer::pg {
namespace {

// Records what the reader hands on: payload as text, large objects as "<oid>:<bytes>|".
struct Recorder : BlockSink {
  std::string text;
  void data(ByteView b) override { text += to_string(b); }
  void blob_begin(uint32_t oid) override { text += std::to_string(oid) + ":"; }
  void blob_end() override { text += "|"; }
};

// The bytes of dump id `id`'s block in the built archive.
ByteView block_of(const ArchiveBuilder& b, int64_t id) {
  auto it = b.starts.find(id);
  auto next = std::next(it);
  uint64_t end = next == b.starts.end() ? b.out.size() : next->second;
  return ByteView(b.out).subspan(it->second, end - it->second);
}

std::string read_in_pieces(ByteView block, int64_t id, size_t piece, bool* done = nullptr) {
  Recorder r;
  BlockReader reader(4, id, r);
  for (size_t at = 0; at < block.size(); at += piece) reader.feed(block.subspan(at, std::min(piece, block.size() - at)));
  if (done) *done = reader.done();
  return r.text;
}

TEST(BlockReader, TableDataIsTheCopyTextWithoutFraming) {
  ArchiveBuilder b = valid_archive(14, 5);
  for (size_t piece : {size_t(1), size_t(3), size_t(6), size_t(1000)}) {
    bool done = false;
    EXPECT_EQ(read_in_pieces(block_of(b, 2), 2, piece, &done), "1\tx\\ny\n2\t\\N\n3\t\\\\.\n\\.\n\n\n") << piece;
    EXPECT_TRUE(done);
    EXPECT_EQ(read_in_pieces(block_of(b, 5), 5, piece), "row\nrow\nrow\nrow\nrow\n\\.\n\n\n") << piece;
    EXPECT_EQ(read_in_pieces(block_of(b, 3), 3, piece), "\\.\n\n\n") << piece;
  }
}

TEST(BlockReader, LargeObjectsOneByOne) {
  ArchiveBuilder b = valid_archive(15);
  for (size_t piece : {size_t(1), size_t(7), size_t(1000)}) {
    bool done = false;
    // -1294967296 is how pg_dump writes oid 3000000000 (above 2^31) as a C int.
    EXPECT_EQ(read_in_pieces(block_of(b, 4), 4, piece, &done), "16385:a\nb\nc\n|3000000000:\n|") << piece;
    EXPECT_TRUE(done);
  }
}

TEST(BlockReader, RefusesWhatIsNotTheBlockAsked) {
  ArchiveBuilder b = valid_archive(14, 2);
  Recorder r;
  BlockReader wrong_id(4, 3, r);
  EXPECT_THROW(wrong_id.feed(block_of(b, 2)), archive::Unparseable);
  BlockReader wrong_type(4, 2, r);
  EXPECT_THROW(wrong_type.feed(ByteView(b.out).subspan(b.starts.at(2) + 1)), archive::Unparseable);
  // Two blocks where one was asked for: the second one's bytes are refused.
  BlockReader one(4, 2, r);
  ByteView two = ByteView(b.out).subspan(b.starts.at(2), b.starts.at(4) - b.starts.at(2));
  EXPECT_THROW(one.feed(two), archive::Unparseable);
}

TEST(BlockReader, ATruncatedBlockIsNotDone) {
  ArchiveBuilder b = valid_archive(14, 2);
  ByteView block = block_of(b, 2);
  bool done = true;
  read_in_pieces(block.first(block.size() - 1), 2, 4, &done);
  EXPECT_FALSE(done);
}

}  // namespace
}  // namespace coffer::pg
