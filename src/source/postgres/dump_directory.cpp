#include "source/postgres/dump_directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "coffer/error.h"
#include "repo/blob_prefetcher.h"
#include "source/postgres/pg_archive_blocks.h"
#include "util/failpoint.h"
#include "util/fd_io.h"
#include "util/held_temp.h"

namespace coffer::pg {
namespace fs = std::filesystem;
namespace {

// Table data arrives one row at a time: gather it into writes of this size.
constexpr size_t kWriteBytes = 256 << 10;
// Descriptors left for everything else (the repository, pg_restore's pipes, S3 connections).
constexpr size_t kSpareDescriptors = 256;

class CopyTextSink : public BlockSink {
 public:
  explicit CopyTextSink(const std::function<void(ByteView)>& out) : out_(out), buf_(kWriteBytes) {}
  void data(ByteView bytes) override {
    if (used_ + bytes.size() > buf_.size()) flush();
    if (bytes.size() >= buf_.size()) {
      out_(bytes);
      return;
    }
    std::memcpy(buf_.data() + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
  }
  void flush() {
    if (used_ == 0) return;
    out_(ByteView(buf_).first(used_));
    used_ = 0;
  }

 private:
  const std::function<void(ByteView)>& out_;
  Bytes buf_;
  size_t used_ = 0;
};

}  // namespace

DumpDirectory::DumpDirectory(Repository& repo, std::vector<ChunkRef> dump) : repo_(repo), dump_(std::move(dump)) {
  uint64_t at = 0;
  for (const ChunkRef& c : dump_) {
    chunk_starts_.push_back(at);
    at += c.size;
  }
  chunk_starts_.push_back(at);  // the end
}

DumpDirectory::~DumpDirectory() {
  if (server_) server_->stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  if (dir_lock_ >= 0) ::close(dir_lock_);  // after the folder went: nobody may take it before
}

void DumpDirectory::read_range(uint64_t begin, uint64_t end, const std::function<void(ByteView)>& consume) const {
  if (begin >= end) return;
  if (end > chunk_starts_.back())
    fail(ErrorCategory::kDamaged, "a data block reaches past the end of the dump (" + std::to_string(end) + " > " +
                                      std::to_string(chunk_starts_.back()) + " bytes)");
  const size_t first = static_cast<size_t>(std::upper_bound(chunk_starts_.begin(), chunk_starts_.end(), begin) -
                                           chunk_starts_.begin()) - 1;
  const size_t last = static_cast<size_t>(std::lower_bound(chunk_starts_.begin(), chunk_starts_.end(), end) -
                                          chunk_starts_.begin());  // one past the chunk holding end - 1
  std::vector<ChunkId> ids;
  for (size_t i = first; i < last; ++i) ids.push_back(dump_[i].id);
  // Dump chunks are small (16 KiB): a window of 256 lets runs of them be read at once. On local
  // storage one thread per range: pg_restore reads a table or two at a time, each through a COPY
  // far slower than a thread decodes, and more threads only compete with the server for cores
  // (measured 1.84 -> 1.77 s CPU). Remote storage keeps its threads for the requests' latency.
  const unsigned threads = repo_.storage().remote() ? 0 : 1;
  BlobPrefetcher prefetch(repo_, std::move(ids), threads, 256);
  for (size_t i = first; i < last; ++i) {
    Bytes chunk = prefetch.next();
    if (chunk.size() != dump_[i].size)
      fail(ErrorCategory::kDamaged, "a chunk of the dump has " + std::to_string(chunk.size()) + " bytes, not " +
                                        std::to_string(dump_[i].size));
    const uint64_t at = chunk_starts_[i];
    const uint64_t lo = std::max(begin, at) - at;
    const uint64_t hi = std::min(end, at + chunk.size()) - at;
    consume(ByteView(chunk).subspan(lo, hi - lo));
    bytes_read_.fetch_add(hi - lo, std::memory_order_relaxed);
  }
}

std::unique_ptr<DumpDirectory> DumpDirectory::plan(Repository& repo, const DatabasePart& part, std::vector<ChunkRef> dump,
                                                   std::string* why_not, const std::string& into) {
  if (part.data_blocks.empty()) {
    *why_not = "the backup does not record where each table's data starts (made by an older coffer, or its dump "
               "could not be walked)";
    return nullptr;
  }
  std::unique_ptr<DumpDirectory> d(new DumpDirectory(repo, std::move(dump)));
  const uint64_t dump_bytes = d->chunk_starts_.back();
  std::vector<uint64_t> starts;
  for (const auto& [id, offset] : part.data_blocks) starts.push_back(offset);
  std::sort(starts.begin(), starts.end());
  if (starts.back() >= dump_bytes) {
    *why_not = "a recorded data block starts past the end of the dump";
    return nullptr;
  }
  // The head: the header and table of contents, up to the first data block.
  Bytes head;
  head.reserve(starts.front());
  try {
    d->read_range(0, starts.front(), [&](ByteView b) { head.insert(head.end(), b.begin(), b.end()); });
  } catch (const Error& e) {
    fail(e.category(), std::string("the dump's header and table of contents cannot be read: ") + e.what());
  }
  // Each block ends where the next begins (blocks follow the table of contents' order).
  std::map<int64_t, uint64_t> sizes;
  for (const auto& [id, offset] : part.data_blocks) {
    auto next = std::upper_bound(starts.begin(), starts.end(), offset);
    sizes[id] = (next == starts.end() ? dump_bytes : *next) - offset;
  }
  DirectoryToc toc;
  try {
    toc = to_directory_toc(head, sizes);
  } catch (const archive::Unparseable& e) {
    *why_not = std::string("the dump's table of contents cannot be rewritten: ") + e.what();
    return nullptr;
  }
  d->int_size_ = toc.int_size;
  if (toc.data.size() != part.data_blocks.size()) {
    *why_not = "the recorded data blocks do not match the dump's table of contents";
    return nullptr;
  }
  for (const DirectoryEntry& e : toc.data) {
    auto it = part.data_blocks.find(e.dump_id);
    if (it == part.data_blocks.end()) {
      *why_not = "no data block is recorded for " + e.label;
      return nullptr;
    }
    d->entries_.push_back({e, it->second, it->second + sizes.at(e.dump_id), false});
    d->data_bytes_ += d->entries_.back().end - d->entries_.back().begin;
  }

  // Pipes for the largest tables, as many as the open-file limit allows; files for the rest.
  std::vector<Entry*> tables;
  for (Entry& e : d->entries_)
    if (!e.entry.blobs) tables.push_back(&e);
  std::sort(tables.begin(), tables.end(), [](const Entry* a, const Entry* b) { return a->end - a->begin > b->end - b->begin; });
  const size_t limit = into.empty() ? PipeServer::raise_open_file_limit() : 0;
  const size_t budget = limit > 2 * kSpareDescriptors ? limit - kSpareDescriptors : 0;
  for (size_t i = 0; i < tables.size() && i < budget; ++i) tables[i]->piped = true;
  for (const Entry& e : d->entries_)
    if (!e.piped) d->staged_bytes_ += e.end - e.begin;

  if (!into.empty()) {  // every file written into a folder of the caller's
    if (::mkdir(into.c_str(), 0700) != 0)
      fail(errno == EEXIST ? ErrorCategory::kInput : ErrorCategory::kStorage,
           "cannot create folder " + into + ": " + std::strerror(errno));
    d->dir_ = into;
    write_new_file(d->dir_ + "/toc.dat", toc.toc_dat);
    return d;
  }
  // Held (util/held_temp.h): if coffer is killed, the next restore removes what is left.
  std::optional<HeldTemp> held = make_held_temp(true, why_not);
  if (!held) return nullptr;
  d->dir_ = held->path;
  d->dir_lock_ = held->lock_fd;
  try {
    write_new_file(d->dir_ + "/toc.dat", toc.toc_dat);
    d->server_ = std::make_unique<PipeServer>(d->dir_);
    DumpDirectory* self = d.get();
    for (const Entry& e : d->entries_) {
      if (!e.piped) continue;
      d->server_->add(e.entry.file, [self, &e](PipeServer::Writer& w) {
        self->produce(e, [&](ByteView b) {
          w.write(b);
          failpoint("restore-pipe-fed");  // tests: die while pg_restore reads a table
        });
      });
      ++d->piped_;
    }
    // Serving starts now (nobody opens a pipe before pg_restore runs): a folder where it cannot
    // is found here, while the dump can still be staged instead.
    d->server_->start();
  } catch (const Error& e) {
    *why_not = e.what();
    return nullptr;
  }
  return d;
}

void DumpDirectory::produce(const Entry& e, const std::function<void(ByteView)>& out) const {
  try {
    if (e.entry.blobs) {
      BlobFilesSink sink(dir_);
      BlockReader reader(int_size_, e.entry.dump_id, sink);
      read_range(e.begin, e.end, [&](ByteView b) { reader.feed(b); });
      if (!reader.done()) throw archive::Unparseable("its data block ends early");
      sink.finish();
      return;
    }
    CopyTextSink sink(out);
    BlockReader reader(int_size_, e.entry.dump_id, sink);
    read_range(e.begin, e.end, [&](ByteView b) { reader.feed(b); });
    if (!reader.done()) throw archive::Unparseable("its data block ends early");
    sink.flush();
  } catch (const archive::Unparseable& why) {
    fail(ErrorCategory::kDamaged, "the dump's data for " + e.entry.label + " cannot be read: " + why.what());
  } catch (const Error& why) {
    fail(why.category(), "the dump's data for " + e.entry.label + ": " + why.what());
  }
}

void DumpDirectory::stage(const Entry& e) {
  if (e.entry.blobs) {
    produce(e, {});
    return;
  }
  const std::string path = dir_ + "/" + e.entry.file;
  const int fd = create_new_file(path);
  try {
    produce(e, [&](ByteView b) { write_all(fd, b, path); });
  } catch (...) {
    ::close(fd);
    throw;
  }
  close_written(fd, path);
}

void DumpDirectory::open(const std::function<void(uint64_t done, uint64_t total)>& progress) {
  uint64_t done = 0;
  for (const Entry& e : entries_) {
    if (e.piped) continue;
    stage(e);
    done += e.end - e.begin;
    if (progress) progress(done, staged_bytes_);
  }
}

std::string DumpDirectory::release() {
  std::string dir;
  dir.swap(dir_);
  return dir;
}

void DumpDirectory::finish() {
  if (!server_) return;
  server_->stop();
  if (std::exception_ptr e = server_->failure()) std::rethrow_exception(e);
}

}  // namespace coffer::pg
