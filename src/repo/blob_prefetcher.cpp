#include "repo/blob_prefetcher.h"

#include "coffer/error.h"

namespace coffer {

BlobPrefetcher::BlobPrefetcher(Repository& repo, std::vector<ChunkId> order, unsigned threads, size_t max_ahead)
    : repo_(repo), order_(std::move(order)), max_ahead_(std::max<size_t>(1, max_ahead)), slots_(order_.size()) {
  threads = std::max(1u, threads);
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

void BlobPrefetcher::worker() {
  while (true) {
    size_t i;
    {
      std::unique_lock lock(mu_);
      room_.wait(lock, [&] { return stopping_ || next_fetch_ >= order_.size() || next_fetch_ < consumed_ + max_ahead_; });
      if (stopping_ || next_fetch_ >= order_.size()) return;
      i = next_fetch_++;
    }
    Slot slot;
    try {
      slot.data = repo_.read_blob(order_[i]);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      if (i >= consumed_) slots_[i] = std::move(slot);  // else skipped meanwhile: drop it
      if (!slots_[i].data && !slots_[i].error) slots_[i].data = Bytes();  // mark done even when dropped
    }
    ready_.notify_all();
  }
}

Bytes BlobPrefetcher::next() {
  std::unique_lock lock(mu_);
  if (consumed_ >= order_.size()) fail(ErrorCategory::kInternal, "prefetcher asked for more chunks than it was given");
  size_t i = consumed_;
  ready_.wait(lock, [&] { return slots_[i].data || slots_[i].error; });
  Slot slot = std::move(slots_[i]);
  slots_[i] = Slot{Bytes(), nullptr};  // keep "done" but free the bytes
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
    for (size_t i = consumed_; i < end; ++i) slots_[i] = Slot{Bytes(), nullptr};
    consumed_ = end;
    next_fetch_ = std::max(next_fetch_, end);  // nobody needs those: do not fetch them
  }
  room_.notify_all();
}

}  // namespace coffer
