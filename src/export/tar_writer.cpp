#include "export/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

#include "coffer/error.h"

namespace coffer::exporting {
namespace {

using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

mode_t file_type(files::EntryType t) {
  switch (t) {
    case files::EntryType::kDirectory: return AE_IFDIR;
    case files::EntryType::kSymlink: return AE_IFLNK;
    default: return AE_IFREG;  // hard links are regular files that name their first path
  }
}

}  // namespace

TarWriter::TarWriter(int fd, bool zstd) : a_(archive_write_new()) {
  if (!a_) fail(ErrorCategory::kInternal, "libarchive: out of memory");
  // pax: ustar headers plus extended records where ustar falls short (long or non-UTF-8 names,
  // sub-second mtimes, big files); GNU tar reads them.
  check(archive_write_set_format_pax(a_), "choosing the tar format");
  if (zstd) check(archive_write_add_filter_zstd(a_), "setting up zstd");
  check(archive_write_set_bytes_in_last_block(a_, 1), "setting up the output");
  check(archive_write_open_fd(a_, fd), "opening the output");
}

TarWriter::~TarWriter() {
  if (!finished_) archive_write_fail(a_);  // an error on the way: no end-of-archive
  archive_write_free(a_);
}

void TarWriter::check(int rc, const std::string& what) {
  if (rc >= ARCHIVE_WARN) return;
  const char* why = archive_error_string(a_);
  fail(rc == ARCHIVE_FATAL && what.rfind("writing", 0) == 0 ? ErrorCategory::kStorage : ErrorCategory::kInternal,
       "tar: " + what + ": " + (why ? why : "unknown error"));
}

void TarWriter::begin(const files::FileEntry& e) {
  EntryPtr entry(archive_entry_new(), &archive_entry_free);
  // The path's bytes as they are: no locale conversion (names need not be UTF-8).
  archive_entry_copy_pathname(entry.get(), e.path.c_str());
  archive_entry_set_filetype(entry.get(), file_type(e.type));
  archive_entry_set_perm(entry.get(), e.mode & 07777);
  archive_entry_set_uid(entry.get(), e.uid);
  archive_entry_set_gid(entry.get(), e.gid);
  archive_entry_set_mtime(entry.get(), e.mtime_ns / 1000000000, e.mtime_ns % 1000000000);
  if (e.type == files::EntryType::kSymlink) archive_entry_copy_symlink(entry.get(), e.link_target.c_str());
  if (e.type == files::EntryType::kHardlink) {
    archive_entry_copy_hardlink(entry.get(), e.hardlink_target.c_str());
    archive_entry_set_size(entry.get(), 0);
  } else if (e.type == files::EntryType::kFile) {
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.size));
  } else {
    archive_entry_set_size(entry.get(), 0);
  }
  check(archive_write_header(a_, entry.get()), "writing the header of " + files::display_path(e.path));
}

void TarWriter::write(ByteView content) {
  while (!content.empty()) {
    la_ssize_t n = archive_write_data(a_, content.data(), content.size());
    if (n <= 0) check(ARCHIVE_FATAL, "writing file content");
    content = content.subspan(static_cast<size_t>(n));
  }
}

void TarWriter::finish() {
  check(archive_write_close(a_), "writing the end of the archive");
  finished_ = true;
}

}  // namespace coffer::exporting
