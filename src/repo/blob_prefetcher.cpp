#include "repo/blob_prefetcher.h"

#include <algorithm>

#include "coffer/error.h"

namespace coffer {

BlobPrefetcher::BlobPrefetcher(Repository& repo, std::vector<ChunkId> order, unsigned threads, size_t max_ahead,
                               size_t max_bytes_ahead)
    : repo_(repo),
      order_(std::move(order)),
      max_ahead_(std::max<size_t>(1, max_ahead)),
      max_bytes_ahead_(max_bytes_ahead),
      slots_(order_.size()) {
  if (threads == 0) threads = repo.storage().remote() ? 4 : std::max(2u, std::thread::hardware_concurrency());
  run_chunks_ = std::max<size_t>(1, max_ahead_ / threads);  // every thread gets a share of the window
  // Smaller runs on disk, where a read costs little: a thread decodes its first chunk sooner
  // (files restore 0.83 -> 0.77 s with 2 MiB runs and a window of 32). On S3 a run is a request.
  max_run_bytes_ = repo.storage().remote() ? 8u << 20 : 2u << 20;
  locations_.reserve(order_.size());
  for (const ChunkId& id : order_) locations_.push_back(repo.index().find(id));
  for (unsigned i = 0; i < threads && i < order_.size(); ++i) threads_.emplace_back([this] { worker(); });
}

BlobPrefetcher::~BlobPrefetcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  room_.notify_all();
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

namespace {
// A run stays within one pack, in stored order, with gaps (blobs not wanted) of at most 256 KiB
// read and dropped, up to max_run_bytes_ in all.
constexpr uint64_t kMaxRunGap = 256 * 1024;
}  // namespace

void BlobPrefetcher::worker() {
  while (true) {
    size_t first, last;
    {
      std::unique_lock lock(mu_);
      // Wait for room for a whole run, or runs shrink to one chunk as the window slides.
      room_.wait(lock, [&] {
        return stopping_ || next_fetch_ >= order_.size() ||
               (next_fetch_ + std::min(run_chunks_, order_.size() - next_fetch_) <= consumed_ + max_ahead_ &&
                (bytes_ahead_ == 0 || bytes_ahead_ + size_of(next_fetch_) <= max_bytes_ahead_));
      });
      if (stopping_ || next_fetch_ >= order_.size()) return;
      first = next_fetch_;
      size_t limit = std::min({order_.size(), consumed_ + max_ahead_, first + run_chunks_});
      uint64_t bytes = bytes_ahead_ + size_of(first);  // the first chunk always goes
      for (size_t i = first + 1; i < limit; ++i) {
        if (bytes + size_of(i) > max_bytes_ahead_) {
          limit = i;
          break;
        }
        bytes += size_of(i);
      }
      last = run_end(first, limit);
      for (size_t i = first; i < last; ++i) bytes_ahead_ += size_of(i);
      next_fetch_ = last;
    }
    fetch_run(first, last);
  }
}

size_t BlobPrefetcher::run_end(size_t first, size_t limit) const {
  const ChunkLocation* start = locations_[first];
  if (!start || start->type == BlobType::kDelta) return first + 1;  // read_blob reports it / reads the base
  uint64_t end = uint64_t{start->offset} + start->length;
  size_t last = first + 1;
  for (; last < limit; ++last) {
    const ChunkLocation* loc = locations_[last];
    if (!loc || loc->type == BlobType::kDelta || loc->pack != start->pack || loc->offset < end ||
        loc->offset - end > kMaxRunGap || uint64_t{loc->offset} + loc->length - start->offset > max_run_bytes_)
      break;
    end = uint64_t{loc->offset} + loc->length;
  }
  return last;
}

void BlobPrefetcher::fetch_run(size_t first, size_t last) {
  if (last - first == 1) {
    Slot slot;
    try {
      slot.data = repo_.read_blob(order_[first]);
    } catch (...) {
      slot.error = std::current_exception();
    }
    publish(first, std::move(slot));
    return;
  }
  const ChunkLocation& start = *locations_[first];  // run_end checked them all
  const ChunkLocation& last_loc = *locations_[last - 1];
  Bytes range;
  try {
    range = repo_.storage().get(repo_.pack_key_of(start), start.offset, uint64_t{last_loc.offset} + last_loc.length - start.offset);
  } catch (...) {
    for (size_t i = first; i < last; ++i) publish(i, Slot{std::nullopt, std::current_exception()});
    return;
  }
  for (size_t i = first; i < last; ++i) {
    const ChunkLocation& loc = *locations_[i];
    Slot slot;
    try {
      const size_t at = loc.offset - start.offset;
      if (at + loc.length > range.size())  // a short read: the pack is shorter than the index says
        fail(ErrorCategory::kDamaged, "chunk " + to_hex(order_[i]).substr(0, 16) + " in pack " +
                                          repo_.pack_key_of(loc) + " is damaged: the pack ends before it");
      slot.data = repo_.open_fetched_blob(order_[i], loc, ByteView(range).subspan(at, loc.length));
    } catch (...) {
      slot.error = std::current_exception();
    }
    publish(i, std::move(slot));
  }
}

void BlobPrefetcher::publish(size_t i, Slot slot) {
  {
    std::lock_guard lock(mu_);
    if (i >= consumed_) slots_[i] = std::move(slot);  // else skipped meanwhile: drop it
    if (!slots_[i].data && !slots_[i].error) slots_[i].data = Bytes();  // mark done even when dropped
  }
  ready_.notify_all();
}

Bytes BlobPrefetcher::next() {
  std::unique_lock lock(mu_);
  if (consumed_ >= order_.size()) fail(ErrorCategory::kInternal, "prefetcher asked for more chunks than it was given");
  size_t i = consumed_;
  ready_.wait(lock, [&] { return slots_[i].data || slots_[i].error; });
  Slot slot = std::move(slots_[i]);
  slots_[i] = Slot{Bytes(), nullptr};  // keep "done" but free the bytes
  bytes_ahead_ -= size_of(i);  // published, so it was fetched
  ++consumed_;
  lock.unlock();
  room_.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(*slot.data);
}

void BlobPrefetcher::skip(size_t n) {
  {
    std::lock_guard lock(mu_);
    size_t end = std::min(order_.size(), consumed_ + n);
    for (size_t i = consumed_; i < end; ++i) {
      slots_[i] = Slot{Bytes(), nullptr};
      if (i < next_fetch_) bytes_ahead_ -= size_of(i);  // fetched or being fetched: no longer ahead
    }
    consumed_ = end;
    next_fetch_ = std::max(next_fetch_, end);  // nobody needs those: do not fetch them
  }
  room_.notify_all();
}

}  // namespace coffer
