#include "repo/chunk_store.h"

#include <algorithm>
#include <cstring>

#include "codec/delta.h"
#include "coffer/error.h"
#include "util/failpoint.h"

namespace coffer {
namespace {
// Chunks waiting for a worker (or being sealed): enough to keep every worker busy while a
// producer reads (a few of the largest, 4 MiB, chunks), and no more: each byte is a copy in memory.
constexpr size_t kMaxQueuedBytes = 16 * 1024 * 1024;
}

ChunkStore::ChunkStore(Repository& repo, CompressionSpec compression, unsigned threads)
    : repo_(repo), compression_(compression), fast_compression_{compression.codec, level_range(compression.codec).first} {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { worker(); });
  finisher_ = std::thread([this] { finisher(); });
}

ChunkStore::~ChunkStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  can_work_.notify_all();
  can_submit_.notify_all();
  can_finish_.notify_all();
  for (auto& t : workers_) t.join();
  finisher_.join();  // a pack it did not take is discarded with to_finish_ (its temp file goes)
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

ChunkRef ChunkStore::add(BlobType type, ByteView chunk, const std::vector<ChunkId>& similar, Pace pace, unsigned lane) {
  return add_with_id(type, repo_.sealer().chunk_id(chunk), chunk, similar, pace, lane);
}

std::vector<ChunkId> ChunkStore::delta_candidates(const ChunkId& id, const std::vector<ChunkId>& similar) const {
  std::vector<ChunkId> out;
  if (similar.empty() || compression_.codec != Codec::kZstd || !repo_.supports_deltas()) return out;
  // Deltas only against whole blobs, so a chain is one link long. When a similar chunk is
  // itself a delta, its base is the whole version of the same place: use that (a chunk that
  // changes every day is then a growing delta against one base until storing it whole pays).
  const Index& index = repo_.index();
  for (const ChunkId& s : similar) {
    const ChunkId* candidate = &s;
    const ChunkLocation* at = index.find(*candidate);
    if (at && at->type == BlobType::kDelta) {
      candidate = index.base_of(*candidate);
      at = candidate ? index.find(*candidate) : nullptr;
    }
    if (at && at->type != BlobType::kDelta && *candidate != id && std::find(out.begin(), out.end(), *candidate) == out.end())
      out.push_back(*candidate);
  }
  return out;
}

ChunkRef ChunkStore::add_with_id(BlobType type, const ChunkId& id, ByteView chunk, const std::vector<ChunkId>& similar,
                                 Pace pace, unsigned lane) {
  if (lane >= kLanes) fail(ErrorCategory::kInternal, "chunk store lane " + std::to_string(lane) + " does not exist");
  ChunkRef ref{id, static_cast<uint32_t>(chunk.size())};
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
  queue_.push_back({type, ref.id, Bytes(chunk.begin(), chunk.end()), delta_candidates(id, similar), std::nullopt, pace, lane});
  lock.unlock();
  can_work_.notify_one();
  return ref;
}

std::vector<ChunkRef> ChunkStore::add_stream(ByteSource& source, BlobType type, const ChunkerParams& params,
                                             const std::function<void(size_t)>& on_bytes, DeltaBaseSource* bases,
                                             const std::vector<ChunkRef>* earlier, Pace pace, unsigned lane) {
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
    // The earlier stream's next chunk (not its last), if these bytes still hash to its id.
    if (earlier && refs.size() + 1 < earlier->size()) {
      const ChunkRef& old = (*earlier)[refs.size()];
      if (old.size <= window.size() && old.size <= params.max_size && repo_.sealer().chunk_id(window.first(old.size)) == old.id) {
        refs.push_back(add_with_id(type, old.id, window.first(old.size), {}, pace, lane));
        if (on_bytes) on_bytes(old.size);
        start += old.size;
        continue;
      }
      earlier = nullptr;  // changed from here on: chunk the rest
    }
    size_t len = chunker.next_boundary(window, eof);
    if (len == 0) {
      if (eof) break;
      continue;
    }
    ByteView chunk = window.first(len);
    ChunkId id = repo_.sealer().chunk_id(chunk);
    refs.push_back(add_with_id(type, id, chunk, bases ? bases->next(id) : std::vector<ChunkId>{}, pace, lane));
    if (on_bytes) on_bytes(len);
    start += len;
  }
  return refs;
}

void ChunkStore::worker() {
  while (true) {
    Job job;
    bool behind;
    {
      std::unique_lock lock(mu_);
      can_work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      behind = queued_bytes_ * 2 > kMaxQueuedBytes;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    size_t size = job.data.size();
    try {
      process(job, behind);
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

ByteView ChunkStore::encode(Job& job, const CompressionSpec& spec, Bytes& holder) {
  // The smallest delta against the candidates; a delta under an eighth of the chunk is as good as
  // it gets (similar rows), so the rest are not tried.
  std::optional<Bytes> best;
  for (const ChunkId& candidate : job.candidates) {
    Bytes base;
    try {
      base = repo_.read_blob(candidate);
    } catch (const Error&) {
      continue;  // damage `coffer verify` reports; this candidate is simply not used
    }
    Bytes delta = encode_delta_payload(spec.level, base, job.data);
    if (!best || delta.size() < best->size()) {
      best = std::move(delta);
      job.base = candidate;
    }
    if (best->size() * 8 < job.data.size()) break;
  }
  if (!best) return encode_payload_scratch(spec, job.data);
  if (best->size() * 8 >= job.data.size()) {
    // Not clearly small: keep it only when it saves a quarter of the plain blob. Past that,
    // storing the chunk whole gives the next versions of this place a fresher base.
    ByteView plain = encode_payload_scratch(spec, job.data);
    if (best->size() * 4 >= plain.size() * 3) {
      job.base.reset();
      return plain;
    }
  }
  job.type = BlobType::kDelta;
  holder = std::move(*best);
  return holder;
}

void ChunkStore::process(Job& job, bool behind) {
  const bool fast = job.pace == Pace::kKeepUp && behind && fast_compression_.level < compression_.level;
  Bytes holder;
  ByteView payload = encode(job, fast ? fast_compression_ : compression_, holder);
  // Sealed into this thread's buffer, outside the lock; the pack appends it (on local disk, a
  // write into the pack's temp file).
  const ObjectSealer& sealer = repo_.sealer();
  const size_t sealed_size = payload.size() + sealer.overhead();
  thread_local std::unique_ptr<uint8_t[]> sealed;
  thread_local size_t sealed_room = 0;
  if (sealed_room < sealed_size) {
    sealed.reset(new uint8_t[sealed_size]);  // default-initialised: no memset
    sealed_room = sealed_size;
  }
  sealer.seal_to("blob", payload, sealed.get());
  std::unique_ptr<PackWriter> full;
  {
    std::lock_guard lock(mu_);
    if (job.base) ++stats_.chunks_delta;
    if (fast) ++stats_.chunks_fast;
    std::unique_ptr<PackWriter>& open_pack = open_packs_[job.lane];
    if (!open_pack) open_pack = std::make_unique<PackWriter>(repo_.storage());
    open_pack->add(job.type, job.id, static_cast<uint32_t>(job.data.size()), ByteView(sealed.get(), sealed_size),
                    job.base.value_or(ChunkId{}));
    if (open_pack->size() < kPackTargetSize) return;
    full = std::move(open_pack);
    if (!finishing_) {  // the finisher syncs it while this worker goes on compressing
      finishing_ = true;
      to_finish_ = std::move(full);
    }
  }
  if (!full) {
    can_finish_.notify_one();
    return;
  }
  store_pack(*full);  // the finisher is busy: store it here, outside the lock, as before it existed
}

void ChunkStore::finisher() {
  while (true) {
    std::unique_ptr<PackWriter> pack;
    {
      std::unique_lock lock(mu_);
      can_finish_.wait(lock, [&] { return stopping_ || to_finish_; });
      if (stopping_) return;
      pack = std::move(to_finish_);
    }
    try {
      store_pack(*pack);
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!failure_) failure_ = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      finishing_ = false;
    }
    can_submit_.notify_all();  // a failure stops the producers
    idle_.notify_all();
  }
}

void ChunkStore::store_pack(PackWriter& pack) {
  std::vector<PackEntry> entries;
  uint64_t bytes = 0;
  std::string id = pack.finish(repo_.sealer(), &entries, &bytes);
  failpoint("create-after-pack-stored");
  std::lock_guard lock(mu_);
  written_.push_back({id, std::move(entries)});
  stats_.bytes_stored += bytes;
  ++stats_.packs_written;
}

void ChunkStore::commit() {
  {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return (queue_.empty() && busy_ == 0 && !finishing_) || failure_; });
    rethrow_failure();
  }
  for (std::unique_ptr<PackWriter>& open_pack : open_packs_) {
    if (open_pack && !open_pack->empty()) {
      std::unique_ptr<PackWriter> last = std::move(open_pack);
      store_pack(*last);
    }
    open_pack.reset();
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
