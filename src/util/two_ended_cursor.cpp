#include "util/two_ended_cursor.h"

#include <algorithm>

namespace coffer {

TwoEndedCursor::TwoEndedCursor(const std::vector<uint64_t>& weights, uint64_t back_block)
    : back_rank_(weights.size()), limit_(weights.size()) {
  size_t end = weights.size();
  while (end > 0) {
    size_t start = end;
    uint64_t sum = 0;
    while (start > 0 && (start == end || sum < back_block)) sum += weights[--start];
    block_starts_.push_back(start);
    for (size_t p = start; p < end; ++p) {
      back_rank_[p] = back_order_.size();
      back_order_.push_back(p);
    }
    end = start;
  }
}

std::optional<size_t> TwoEndedCursor::take(bool from_back) {
  std::lock_guard lock(mu_);
  if (!from_back) {
    if (front_ < limit_) return front_++;
    // Met the back: help with the end of its block rather than leave it to one reader.
    if (back_at_ < back_end_) return --back_end_;
    return std::nullopt;
  }
  if (back_at_ >= back_end_) {  // claim the next block, or what the front left of it
    if (next_block_ >= block_starts_.size()) return std::nullopt;
    const size_t end = limit_;
    const size_t start = std::max(block_starts_[next_block_++], front_);
    if (start >= end) return std::nullopt;
    back_at_ = start;
    back_end_ = end;
    limit_ = start;
  }
  return back_at_++;
}

void TwoEndedCursor::stop() {
  std::lock_guard lock(mu_);
  limit_ = front_;
  back_at_ = back_end_;
  next_block_ = block_starts_.size();
}

}  // namespace coffer
