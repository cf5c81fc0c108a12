// A tar archive written as a stream (libarchive's pax format: byte-exact names of any length and
// encoding, link targets, modes, numeric owners and mtimes to the nanosecond, files of any size),
// optionally zstd-compressed. GNU tar extracts it to the tree it describes. Used by
// `coffer export --type files`; it knows nothing of the repository.
#pragma once

#include <cstdint>
#include <string>

#include "repo/file_entry.h"
#include "util/bytes.h"

struct archive;

namespace coffer::exporting {

class TarWriter {
 public:
  // Writes to `fd` (kept open; the caller closes it). Throws Error(kInternal) when libarchive
  // cannot be set up.
  TarWriter(int fd, bool zstd);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Starts an entry from its record (path, type, mode, owner, mtime; a file's size, a link's
  // target). A regular file's content follows through write(), exactly entry.size bytes.
  void begin(const files::FileEntry& entry);
  void write(ByteView content);
  // Ends the archive (the two zero blocks, the compressor's end). Throws Error(kStorage) when
  // the output fails.
  void finish();

 private:
  void check(int rc, const std::string& what);
  struct archive* a_ = nullptr;
  bool finished_ = false;
};

}  // namespace coffer::exporting
