// Database dump parsing as a restore does it on a dump read from the repository:
// pg::to_directory_toc (the dump's table of contents rewritten as a directory archive's toc.dat)
// and pg::BlockReader (one table's data block without its framing, fed in pieces). Both refuse
// what they do not know with archive::Unparseable, which the restore turns into a coffer::Error:
// here that counts as a refusal too.
//   byte 0     piece size for the block reader: 1 + b
//   byte 1     the archive's integer size: 1 + b % 8
//   bytes 2-5  the dump id the block must belong to (i32 little-endian)
//   rest       the archive (for the rewrite) and the block (for the block reader)
// Extra checks: a rewrite keeps the archive's first bytes and marks it a directory archive; the
// block reader hands on no more payload than it was fed.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_common.h"
#include "source/postgres/pg_archive_blocks.h"
#include "source/postgres/pg_archive_directory.h"
#include "source/postgres/pg_archive_format.h"

namespace {

struct CountingSink : coffer::pg::BlockSink {
  uint64_t bytes = 0;
  void data(coffer::ByteView b) override { bytes += b.size(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  if (size < 6) return 0;
  const size_t piece = 1 + data[0];
  const int int_size = 1 + data[1] % 8;
  const int64_t dump_id = static_cast<int32_t>(fuzz::le32(data + 2));
  const ByteView rest(data + 6, size - 6);
  fuzz::run_guarded([&] {
    try {
      pg::DirectoryToc toc = pg::to_directory_toc(rest);
      if (toc.toc_dat.size() <= pg::archive::kFormatBytePos ||
          toc.toc_dat[pg::archive::kFormatBytePos] != pg::archive::kFormatDirectory ||
          std::memcmp(toc.toc_dat.data(), rest.data(), pg::archive::kFormatBytePos) != 0)
        fuzz::bug("a rewritten table of contents lost the archive's header");
      for (const pg::DirectoryEntry& e : toc.data)
        if (e.file.empty()) fuzz::bug("an entry with data got no file name");
    } catch (const pg::archive::Unparseable&) {
    }
  });
  fuzz::run_guarded([&] {
    CountingSink sink;
    try {
      pg::BlockReader reader(int_size, dump_id, sink);
      for (size_t at = 0; at < rest.size(); at += piece) reader.feed(rest.subspan(at, std::min(piece, rest.size() - at)));
    } catch (const pg::archive::Unparseable&) {
    }
    if (sink.bytes > rest.size()) fuzz::bug("the block reader handed on more bytes than it was fed");
  });
  return 0;
}
