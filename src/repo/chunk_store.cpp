#include "repo/chunk_store.h"

#include <algorithm>
#include <cstring>

#include "coffer/error.h"
#include "util/failpoint.h"

namespace coffer {
namespace {
constexpr size_t kMaxQueuedBytes = 64 * 1024 * 1024;
}

ChunkStore::ChunkStore(Repository& repo, CompressionSpec compression, unsigned threads)
    : repo_(repo), compression_(compression) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { worker(); });
}

ChunkStore::~ChunkStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  can_work_.notify_all();
  can_submit_.notify_all();
  for (auto& t : workers_) t.join();
}

void ChunkStore::abort() {
  {
    std::lock_guard lock(mu_);
    if (!failure_)
      failure_ = std::make_exception_ptr(Error(ErrorCategory::kInternal, "backup aborted by another part's failure"));
  }
  can_submit_.notify_all();
  idle_.notify_all();
}

void ChunkStore::rethrow_failure() {
  if (failure_) std::rethrow_exception(failure_);
}

ChunkRef ChunkStore::add(BlobType type, ByteView chunk) {
  ChunkRef ref{hmac_sha256(repo_.sealer().keys().id, chunk), static_cast<uint32_t>(chunk.size())};
  std::unique_lock lock(mu_);
  rethrow_failure();
  stats_.bytes_read += chunk.size();
  if (repo_.index().contains(ref.id) || pending_.count(ref.id)) {
    ++stats_.chunks_known;
    return ref;
  }
  pending_.insert(ref.id);
  ++stats_.chunks_new;
  stats_.bytes_new_raw += chunk.size();
  can_submit_.wait(lock, [&] { return queued_bytes_ < kMaxQueuedBytes || failure_ || stopping_; });
  rethrow_failure();
  queued_bytes_ += chunk.size();
  queue_.push_back({type, ref.id, Bytes(chunk.begin(), chunk.end())});
  lock.unlock();
  can_work_.notify_one();
  return ref;
}

std::vector<ChunkRef> ChunkStore::add_stream(ByteSource& source, BlobType type, const ChunkerParams& params,
                                             const std::function<void(size_t)>& on_bytes) {
  Chunker chunker(params, repo_.gear());
  std::vector<ChunkRef> refs;
  // Keep at least max_size bytes buffered (the chunker's contract) and read in large blocks.
  const size_t capacity = std::max<size_t>(2 * params.max_size, 8u << 20);
  thread_local Bytes buf;  // reused across calls: many small files must not each allocate it
  if (buf.size() < capacity) buf.resize(capacity);
  size_t start = 0, end = 0;
  bool eof = false;
  while (true) {
    if (!eof && end - start < params.max_size) {
      if (start > 0) {
        std::memmove(buf.data(), buf.data() + start, end - start);
        end -= start;
        start = 0;
      }
      while (!eof && end < capacity) {
        size_t n = source.read(buf.data() + end, capacity - end);
        if (n == 0) eof = true;
        end += n;
      }
    }
    if (start == end && eof) break;
    ByteView window(buf.data() + start, end - start);
    size_t len = chunker.next_boundary(window, eof);
    if (len == 0) {
      if (eof) break;
      continue;
    }
    refs.push_back(add(type, window.first(len)));
    if (on_bytes) on_bytes(len);
    start += len;
  }
  return refs;
}

void ChunkStore::worker() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      can_work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    size_t size = job.data.size();
    try {
      process(job);
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!failure_) failure_ = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      --busy_;
      queued_bytes_ -= size;
    }
    can_submit_.notify_all();
    idle_.notify_all();
  }
}

void ChunkStore::process(Job& job) {
  Bytes sealed = repo_.sealer().seal("blob", encode_payload(compression_, job.data));
  PackBuilder full;
  {
    std::lock_guard lock(mu_);
    open_pack_.add(job.type, job.id, static_cast<uint32_t>(job.data.size()), sealed);
    if (open_pack_.size() < kPackTargetSize) return;
    std::swap(full, open_pack_);
  }
  store_pack(full);  // outside the lock: other workers keep filling the next pack
}

void ChunkStore::store_pack(PackBuilder& pack) {
  std::vector<PackEntry> entries;
  Bytes bytes = pack.finish(repo_.sealer(), &entries);
  std::string id = pack_id_of(bytes);
  repo_.storage().put(pack_key(id), bytes);
  failpoint("create-after-pack-stored");
  std::lock_guard lock(mu_);
  written_.push_back({id, std::move(entries)});
  stats_.bytes_stored += bytes.size();
  ++stats_.packs_written;
}

void ChunkStore::commit() {
  {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return (queue_.empty() && busy_ == 0) || failure_; });
    rethrow_failure();
  }
  if (!open_pack_.empty()) {
    PackBuilder last;
    std::swap(last, open_pack_);
    store_pack(last);
  }
  std::vector<PackRecord> packs;
  {
    std::lock_guard lock(mu_);
    packs = std::move(written_);
    written_.clear();
  }
  if (packs.empty()) return;
  failpoint("create-before-index");
  uint64_t index_bytes = repo_.write_index_file(packs);
  repo_.add_to_index(packs);
  std::lock_guard lock(mu_);
  stats_.bytes_stored += index_bytes;
  for (const PackRecord& p : packs)
    for (const PackEntry& e : p.entries) pending_.erase(e.id);
}

ChunkStoreStats ChunkStore::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace coffer
