// A custom-format archive's table of contents, rewritten as the toc.dat of a directory-format
// archive: pg_restore -j then reads each entry's data from a file of its own ("<dump id>.dat",
// large objects from "blobs.toc" and "blob_<oid>.dat") instead of seeking in one file. coffer
// serves those files straight from the repository (engine/dump_directory.h), so a restore needs
// no staged copy of the dump.
//
// The two formats share the header and the entries; they differ in the format byte and in each
// entry's format-specific part: custom keeps a data offset (flag + 8 bytes), directory the data
// file's name ("" for none). Only uncompressed archives (coffer dumps with -Z0) are rewritten:
// compressed data would need the file names pg_restore expects for each method.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "source/postgres/pg_archive_blocks.h"
#include "source/postgres/pg_archive_format.h"
#include "util/bytes.h"

namespace coffer::pg {

struct DirectoryEntry {
  int64_t dump_id = 0;  // in the dump (its data block has this id)
  std::string file;     // "3421.dat" (the id in toc.dat), or "blobs.toc" for large objects
  bool blobs = false;   // a BLOBS entry: its block holds large objects, not COPY text
  std::string label;    // "TABLE DATA public.users", for messages
};

struct DirectoryToc {
  Bytes toc_dat;                      // the directory archive's toc.dat
  std::vector<DirectoryEntry> data;   // entries with data, in table-of-contents order
  int int_size = 4;                   // of the archive's integers (the data blocks use it too)
};

// `head` holds the archive from its start through its table of contents (bytes after it are
// ignored). `data_sizes` (dump id -> bytes of its data block), when given, renumbers the entries
// so that pg_restore -j takes the largest tables (and their indexes) first, as it does for a
// seekable archive: it reads sizes from the data files, and a pipe has none. The entries keep
// their order and the set of ids; DirectoryEntry::dump_id stays the dump's own. Throws
// archive::Unparseable for anything it does not know: another version (1.12 to 1.15 are known),
// a compressed archive, data in an entry other than TABLE DATA or BLOBS.
DirectoryToc to_directory_toc(ByteView head, const std::map<int64_t, uint64_t>& data_sizes = {});

// Writes a BLOBS block's large objects into `dir` as a directory archive has them: one
// "blob_<oid>.dat" each, and "blobs.toc" listing them (written by finish()). Throws Error(kStorage)
// when a file cannot be written.
class BlobFilesSink : public BlockSink {
 public:
  explicit BlobFilesSink(std::string dir) : dir_(std::move(dir)) {}
  ~BlobFilesSink() override;
  void blob_begin(uint32_t oid) override;
  void data(ByteView bytes) override;
  void blob_end() override;
  void finish();
  uint64_t bytes_written() const { return written_; }

 private:
  std::string dir_;
  std::string toc_;
  int fd_ = -1;
  std::string path_;
  uint64_t written_ = 0;
};

}  // namespace coffer::pg
