#include "engine/export_job.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "coffer/error.h"
#include "export/atomic_output.h"
#include "export/tar_writer.h"
#include "repo/blob_prefetcher.h"
#include "repo/tree_stream.h"
#include "source/postgres/dump_directory.h"
#include "source/postgres/pg_archive_offsets.h"
#include "source/postgres/pg_tools.h"
#include "util/fd_io.h"
#include "util/subprocess.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Progress at most five times a second, and once at the end.
class Ticker {
 public:
  Ticker(const std::function<void(const Progress&)>& report, uint64_t total) : report_(report) {
    p_.phase = "export";
    p_.bytes_total = total;
  }
  void add(uint64_t bytes, uint64_t files = 0) {
    p_.bytes_done += bytes;
    p_.files_done += files;
    if (report_ && Clock::now() - last_ > std::chrono::milliseconds(200)) {
      last_ = Clock::now();
      report_(p_);
    }
  }
  uint64_t bytes() const { return p_.bytes_done; }

 private:
  const std::function<void(const Progress&)>& report_;
  Progress p_;
  Clock::time_point last_ = Clock::now();
};

bool included(const std::string& path, const std::vector<std::string>& include) {
  if (include.empty()) return true;
  for (const std::string& p : include)
    if (path == p || (path.size() > p.size() && path.compare(0, p.size(), p) == 0 && path[p.size()] == '/') ||
        (p.size() > path.size() && p.compare(0, path.size(), path) == 0 && p[path.size()] == '/'))
      return true;  // the path itself, what lies under it, and the folders leading to it
  return false;
}

void export_files(Repository& repo, const Manifest& m, const ExportOptions& o, ExportResult& r,
                  const std::function<void(const Progress&)>& on_progress) {
  std::vector<files::FileEntry> entries = read_tree(repo, m.tree, r.backup_id);
  for (const std::string& p : o.include)
    if (std::none_of(entries.begin(), entries.end(), [&](const files::FileEntry& e) { return e.path == p; }))
      fail(ErrorCategory::kNotFound, "backup " + r.backup_id + " holds no path " + files::display_path(p));
  std::vector<const files::FileEntry*> chosen;
  std::set<std::string> written;
  std::vector<ChunkId> order;
  uint64_t total = 0;
  for (const files::FileEntry& e : entries) {
    if (!included(e.path, o.include)) continue;
    chosen.push_back(&e);
    for (const ChunkRef& c : e.chunks) order.push_back(c.id);
    total += e.size;
  }
  exporting::AtomicOutput out(o.output);
  exporting::TarWriter tar(out.fd(), o.format == "tar.zst");
  BlobPrefetcher prefetch(repo, std::move(order));
  Ticker tick(on_progress, total);
  for (const files::FileEntry* e : chosen) {
    files::FileEntry entry = *e;
    // A hard link whose first path --include left out would extract as a dangling link: refused.
    const bool lone_link = entry.type == files::EntryType::kHardlink && !written.count(entry.hardlink_target);
    if (lone_link) fail(ErrorCategory::kInput, files::display_path(entry.path) + " is a hard link to " +
                                                   files::display_path(entry.hardlink_target) +
                                                   ", which --include leaves out: include that path too");
    tar.begin(entry);
    for (size_t i = 0; i < entry.chunks.size(); ++i) {
      Bytes chunk = prefetch.next();
      if (chunk.size() != entry.chunks[i].size)
        fail(ErrorCategory::kDamaged, files::display_path(entry.path) + ": a chunk has " + std::to_string(chunk.size()) +
                                          " bytes, the file list says " + std::to_string(entry.chunks[i].size));
      tar.write(chunk);
      tick.add(chunk.size());
    }
    written.insert(entry.path);
    tick.add(0, 1);
    ++r.entries;
  }
  tar.finish();
  r.bytes_read = tick.bytes();
  r.bytes_written = out.commit();
}

std::vector<ChunkRef> dump_of(Repository& repo, const Manifest& m) {
  return read_ref_list(repo, m.database->dump_list, m.database->info.dump_bytes, "database dump of backup " + m.info.backup_id);
}

// Hands `consume` the dump's bytes in order, every chunk checked.
void read_dump(Repository& repo, const std::vector<ChunkRef>& dump, Ticker& tick,
               const std::function<void(ByteView)>& consume) {
  std::vector<ChunkId> order;
  for (const ChunkRef& c : dump) order.push_back(c.id);
  BlobPrefetcher prefetch(repo, std::move(order), 0, 256);
  for (size_t i = 0; i < dump.size(); ++i) {
    Bytes chunk = prefetch.next();
    consume(chunk);
    tick.add(chunk.size());
  }
}

void export_custom(Repository& repo, const Manifest& m, const ExportOptions& o, ExportResult& r,
                   const std::function<void(const Progress&)>& on_progress) {
  const std::vector<ChunkRef> dump = dump_of(repo, m);
  exporting::AtomicOutput out(o.output);
  Ticker tick(on_progress, m.database->info.dump_bytes);
  read_dump(repo, dump, tick, [&](ByteView b) { write_all(out.fd(), b, out.is_stdout() ? "standard output" : out.temp_path()); });
  // A file gets the data offsets pg_dump writes when it can seek (pg_restore -j needs them).
  if (!out.is_stdout()) pg::fill_in_data_offsets(out.temp_path());  // one it cannot parse stays as it was
  r.entries = m.database->info.tables.size();
  r.bytes_read = tick.bytes();
  r.bytes_written = out.commit();
}

void export_directory(Repository& repo, const Manifest& m, const ExportOptions& o, ExportResult& r,
                      const std::function<void(const Progress&)>& on_progress) {
  if (o.output == "-") fail(ErrorCategory::kInput, "--format directory writes a folder: give --output a folder path, not -");
  if (fs::exists(fs::symlink_status(o.output)))
    fail(ErrorCategory::kInput, o.output + " exists: an export never replaces a folder; remove it or name another");
  const std::string temp = exporting::AtomicOutput::temp_name(o.output);
  std::string why_not;
  std::unique_ptr<pg::DumpDirectory> dir = pg::DumpDirectory::plan(repo, *m.database, dump_of(repo, m), &why_not, temp);
  if (!dir)
    fail(ErrorCategory::kInput, "backup " + r.backup_id + " cannot be exported as a directory archive (" + why_not +
                                    "): export it with --format custom, which pg_restore reads as well");
  Ticker tick(on_progress, dir->data_bytes());
  dir->open([&](uint64_t done, uint64_t) { tick.add(done - tick.bytes()); });
  dir->finish();
  r.entries = dir->entries();
  r.bytes_read = dir->bytes_read();
  for (const auto& f : fs::recursive_directory_iterator(temp))
    if (f.is_regular_file()) r.bytes_written += f.file_size();
  const std::string kept = dir->release();
  if (::rename(kept.c_str(), o.output.c_str()) != 0) {
    const int err = errno;
    fs::remove_all(kept);
    fail(ErrorCategory::kStorage, "cannot rename " + kept + " to " + o.output + ": " + std::strerror(err));
  }
}

void export_sql_gz(Repository& repo, const Manifest& m, const ExportOptions& o, ExportResult& r,
                   const std::function<void(const Progress&)>& on_progress) {
  const std::vector<ChunkRef> dump = dump_of(repo, m);
  const pg::Tools tools = pg::find_tools(m.database->info.server_version_num);
  // pg_restore turns the archive into the SQL script pg_dump would have written (no server
  // needed); it reads the archive from its standard input in order.
  ProcessSpec spec;
  spec.argv = {tools.pg_restore(), "--file=-"};
  spec.env_allow = std::vector<std::string>{"PATH", "LANG", "LC_*", "TZ", "PGTZ", "TMPDIR"};
  spec.pipe_stdin = true;
  spec.pipe_stdout = true;
  exporting::AtomicOutput out(o.output);
  const int gz_fd = ::dup(out.fd());
  gzFile gz = gz_fd >= 0 ? gzdopen(gz_fd, "wb6") : nullptr;
  if (!gz) fail(ErrorCategory::kInternal, "cannot start gzip compression");
  Subprocess proc(spec);
  Ticker tick(on_progress, m.database->info.dump_bytes);
  std::exception_ptr feed_error;
  std::thread feeder([&] {
    try {
      read_dump(repo, dump, tick, [&](ByteView b) { proc.write(b.data(), b.size()); });
    } catch (...) {
      feed_error = std::current_exception();
    }
    proc.close_stdin();
  });
  std::vector<uint8_t> buf(1 << 20);
  bool write_failed = false;
  try {
    for (size_t n; (n = proc.read(buf.data(), buf.size())) > 0;)
      if (!write_failed && gzwrite(gz, buf.data(), static_cast<unsigned>(n)) != static_cast<int>(n)) write_failed = true;
  } catch (...) {
    feeder.join();
    gzclose(gz);
    throw;
  }
  feeder.join();
  const int code = proc.wait();
  const bool closed = gzclose(gz) == Z_OK;
  // A damaged chunk stops the feed (and pg_restore, given a cut archive): the chunk's error is the
  // news. pg_restore failing on its own makes the feed fail to write: then pg_restore's is.
  if (feed_error) {
    try {
      std::rethrow_exception(feed_error);
    } catch (const Error& e) {
      if (code == 0 || e.category() != ErrorCategory::kDatabase) throw;
    }
  }
  if (code != 0)
    fail(ErrorCategory::kDatabase, "pg_restore could not turn the dump into SQL (exit code " + std::to_string(code) +
                                       "): " + pg::tool_message(proc.error_output()));
  if (write_failed || !closed)
    fail(ErrorCategory::kStorage, "cannot write " + (out.is_stdout() ? std::string("standard output") : out.temp_path()));
  r.entries = m.database->info.tables.size();
  r.bytes_read = tick.bytes();
  r.bytes_written = out.commit();
}

}  // namespace

std::string export_formats(BackupScope scope) {
  return scope == BackupScope::kFiles ? "tar, tar.zst" : "custom, directory, sql.gz";
}

ExportResult run_export(Repository& repo, const std::string& backup_id, const ExportOptions& o,
                        const std::function<void(const Progress&)>& on_progress) {
  const auto started = Clock::now();
  if (o.scope == BackupScope::kAll)
    fail(ErrorCategory::kInput, "export writes one part at a time: --type database or --type files");
  if (o.output.empty()) fail(ErrorCategory::kInput, "export needs --output PATH (or - for standard output)");
  const bool files = o.scope == BackupScope::kFiles;
  const std::vector<std::string> formats = files ? std::vector<std::string>{"tar", "tar.zst"}
                                                 : std::vector<std::string>{"custom", "directory", "sql.gz"};
  if (std::find(formats.begin(), formats.end(), o.format) == formats.end())
    fail(ErrorCategory::kInput, "--format " + (o.format.empty() ? std::string("(none)") : o.format) + " is not one for --type " +
                                    (files ? "files" : "database") + ": use " + export_formats(o.scope));
  if (!files && !o.include.empty()) fail(ErrorCategory::kInput, "--include is for --type files");
  Manifest m = repo.read_manifest(backup_id);
  ExportResult r;
  r.backup_id = backup_id;
  r.format = o.format;
  r.output = o.output;
  if (files) {
    if (!m.info.has_files) fail(ErrorCategory::kNotFound, "backup " + backup_id + " holds no files (made with --only database)");
    export_files(repo, m, o, r, on_progress);
  } else {
    if (!m.database)
      fail(ErrorCategory::kNotFound, "backup " + backup_id + " holds no database dump" +
                                         (m.physical ? " (a physical backup: restore it with --pgdata)" : ""));
    if (o.format == "custom") export_custom(repo, m, o, r, on_progress);
    else if (o.format == "directory") export_directory(repo, m, o, r, on_progress);
    else export_sql_gz(repo, m, o, r, on_progress);
  }
  r.duration_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

}  // namespace coffer
