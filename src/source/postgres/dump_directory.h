// A database backup's dump served to pg_restore as a directory-format archive, read from the
// repository while pg_restore runs: no staged copy of the dump (and no room for one in TMPDIR)
// before the restore can start.
//
// toc.dat is the dump's table of contents rewritten (source/postgres/pg_archive_directory.h).
// Each table's data file is a named pipe (util/pipe_server.h) filled when pg_restore opens it,
// from the chunks of that table's data block (whose offset the backup recorded), without the
// block's framing (pg_archive_blocks.h). Large objects, and tables beyond what the open-file
// limit allows as pipes, are written as files first ("staged").
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "repo/manifest.h"
#include "repo/repository.h"
#include "source/postgres/pg_archive_directory.h"
#include "util/pipe_server.h"

namespace coffer::pg {

class DumpDirectory {
 public:
  // Reads the dump's head (header and table of contents), makes the folder in TMPDIR (toc.dat
  // and the pipes) and starts serving them. Returns null, with the reason in `why_not`, when the
  // dump cannot be served this way (a backup made before block offsets were recorded, a
  // compressed or unknown archive, a folder without pipes or working inotify): the caller then
  // stages the whole dump.
  // `dump` is the dump's chunk list; `repo`'s index must be loaded.
  // With `into` (a folder that must not exist yet): every data file is written there by open(),
  // no pipes (`coffer export --format directory`); keep the folder with release().
  static std::unique_ptr<DumpDirectory> plan(Repository& repo, const DatabasePart& part, std::vector<ChunkRef> dump,
                                             std::string* why_not, const std::string& into = {});
  ~DumpDirectory();  // stops serving, removes the folder
  DumpDirectory(const DumpDirectory&) = delete;
  DumpDirectory& operator=(const DumpDirectory&) = delete;

  const std::string& path() const { return dir_; }
  uint64_t staged_bytes() const { return staged_bytes_; }  // what open() writes to disk
  size_t pipes() const { return piped_; }
  // Bytes of the dump's data blocks read so far (staged or served), of data_bytes() in all.
  uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  uint64_t data_bytes() const { return data_bytes_; }

  // pg_restore's pid: stopped when a table's pipe cannot be filled (it would wait for the rest
  // of that table forever), or should this process die before the pipes are done.
  void guard_reader(pid_t pid) { server_->guard_reader(pid); }
  // A pipe could not be filled (finish() tells why).
  bool failed() const { return server_->failure() != nullptr; }
  // Writes the staged files (calling `progress` with bytes written): before pg_restore starts.
  void open(const std::function<void(uint64_t done, uint64_t total)>& progress = {});
  // After pg_restore ended: stops serving; rethrows the first failure to fill a pipe, if any.
  void finish();
  // The folder stays when this object goes (plan's `into`); returns its path.
  std::string release();
  size_t entries() const { return entries_.size(); }

 private:
  struct Entry {
    DirectoryEntry entry;
    uint64_t begin = 0, end = 0;  // its data block in the dump
    bool piped = false;
  };
  DumpDirectory(Repository& repo, std::vector<ChunkRef> dump);
  // Hands `consume` the dump's bytes [begin, end), read from the repository in order.
  void read_range(uint64_t begin, uint64_t end, const std::function<void(ByteView)>& consume) const;
  // Reads one entry's block and passes its payload on (table data) or writes its files (large objects).
  void produce(const Entry& e, const std::function<void(ByteView)>& out) const;
  void stage(const Entry& e);

  Repository& repo_;
  std::vector<ChunkRef> dump_;
  std::vector<uint64_t> chunk_starts_;  // offset of each chunk in the dump
  int int_size_ = 4;
  std::vector<Entry> entries_;
  std::string dir_;
  int dir_lock_ = -1;  // holds dir_ (util/held_temp.h)
  std::unique_ptr<PipeServer> server_;
  uint64_t staged_bytes_ = 0;
  uint64_t data_bytes_ = 0;
  mutable std::atomic<uint64_t> bytes_read_{0};
  size_t piped_ = 0;
};

}  // namespace coffer::pg
