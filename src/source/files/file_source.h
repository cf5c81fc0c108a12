// The file source: one regular file of a backed-up tree, read for the backup. It opens without
// following a symlink (a path swapped for a link between the walk and the read is not followed)
// and tells afterwards whether the file changed while it was read.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "util/byte_source.h"

namespace coffer::files {

class FileSource : public ByteSource {
 public:
  enum class OpenProblem { kNone, kVanished, kNotRegular, kUnreadable };
  struct Opened {
    std::unique_ptr<FileSource> source;  // null when `problem` is not kNone
    OpenProblem problem = OpenProblem::kNone;
    std::string error;  // strerror text for kUnreadable
  };
  static Opened open(const std::string& path);

  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Reads up to n bytes; 0 at end of file. Throws coffer::Error (kStorage) on a read error.
  size_t read(uint8_t* buf, size_t n) override;

  // After the read: whether the file changed while it was read. It did when the bytes read
  // differ from the size the walk listed, or its modification time differs from the listed one,
  // or its size moved between open and now. `mtime_ns` is the time seen now.
  struct AfterRead {
    bool changed = false;
    int64_t mtime_ns = 0;
  };
  AfterRead check(uint64_t bytes_read, uint64_t listed_size, int64_t listed_mtime_ns) const;

 private:
  FileSource(int fd, const struct stat& at_open) : fd_(fd), at_open_(at_open) {}
  int fd_;
  struct stat at_open_;
};

}  // namespace coffer::files
