#include "source/postgres/pg_archive_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"
#include "util/fd_io.h"

namespace coffer::pg {

using archive::Unparseable;

DirectoryToc to_directory_toc(ByteView head) {
  archive::SpanReader r(head);
  const archive::Header h = archive::read_header(r);
  if (h.compression != 0)
    throw Unparseable("the archive is compressed (" + std::string(h.vmin >= 15 ? "algorithm " : "level ") +
                      std::to_string(h.compression) + ")");
  if (h.toc_entries > 10'000'000) throw Unparseable("implausible entry count");
  DirectoryToc out;
  out.int_size = r.int_size;
  // Copy the archive as it is, except each entry's offset field, which becomes a file name.
  uint64_t copied = 0;
  for (int64_t i = 0; i < h.toc_entries; ++i) {
    const archive::TocEntry e = archive::read_toc_entry(r, h.vmin);
    out.toc_dat.insert(out.toc_dat.end(), head.begin() + static_cast<ptrdiff_t>(copied),
                       head.begin() + static_cast<ptrdiff_t>(e.offset_flag_pos));
    copied = r.pos();  // past the flag and its 8 offset bytes
    std::string file;
    if (e.offset_flag != archive::kOffsetNoData) {
      const std::string desc = e.desc.value_or("");
      DirectoryEntry d;
      d.dump_id = e.dump_id;
      d.blobs = desc == "BLOBS";
      if (!d.blobs && desc != "TABLE DATA")
        throw Unparseable("entry " + std::to_string(e.dump_id) + " (" + desc + ") has data of a kind not known here");
      d.file = d.blobs ? "blobs.toc" : std::to_string(e.dump_id) + ".dat";
      d.label = desc + " " + e.schema.value_or("") + (e.schema && !e.schema->empty() ? "." : "") + e.tag.value_or("");
      file = d.file;
      out.data.push_back(std::move(d));
    }
    archive::write_int(out.toc_dat, static_cast<int64_t>(file.size()), out.int_size);
    out.toc_dat.insert(out.toc_dat.end(), file.begin(), file.end());
  }
  out.toc_dat.insert(out.toc_dat.end(), head.begin() + static_cast<ptrdiff_t>(copied),
                     head.begin() + static_cast<ptrdiff_t>(r.pos()));  // the header, when there are no entries
  out.toc_dat[archive::kFormatBytePos] = archive::kFormatDirectory;
  return out;
}

BlobFilesSink::~BlobFilesSink() {
  if (fd_ >= 0) ::close(fd_);
}

void BlobFilesSink::blob_begin(uint32_t oid) {
  std::string name = "blob_" + std::to_string(oid) + ".dat";
  path_ = dir_ + "/" + name;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) fail(ErrorCategory::kStorage, "cannot create " + path_ + ": " + std::strerror(errno));
  toc_ += std::to_string(oid) + " " + name + "\n";
}

void BlobFilesSink::data(ByteView bytes) {
  if (fd_ < 0) throw archive::Unparseable("large-object bytes outside a large object");
  write_all(fd_, bytes, path_);
  written_ += bytes.size();
}

void BlobFilesSink::blob_end() {
  if (fd_ >= 0 && ::close(fd_) != 0) fail(ErrorCategory::kStorage, "cannot write " + path_ + ": " + std::strerror(errno));
  fd_ = -1;
}

void BlobFilesSink::finish() {
  std::string path = dir_ + "/blobs.toc";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot create " + path + ": " + std::strerror(errno));
  try {
    write_all(fd, as_bytes(toc_), path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  written_ += toc_.size();
}

}  // namespace coffer::pg
