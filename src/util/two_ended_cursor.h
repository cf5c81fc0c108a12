// Hands out positions 0..count-1, each once, to takers working from the front and takers working
// from the back, until they meet. A backup's file readers use it so that, while one reads from
// the start of the walk order and the other from its end, they are usually in different folders
// with different costs (photos that wait on the disk, logs that keep zstd busy) and the disk and
// the cores are busy at the same time, instead of one after the other.
//
// The back takes blocks of positions (at least `back_block` of their weights, file sizes) from
// the end, each in ascending order: what it stores is then in walk order block by block, which
// is the order a restore reads it in (position by position from the end, a restore would read
// the back half's packs backwards). When the front reaches the back's block, it takes that
// block's last positions, so the end is not left to one reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace coffer {

class TwoEndedCursor {
 public:
  TwoEndedCursor(const std::vector<uint64_t>& weights, uint64_t back_block);

  // The next position from the front (ascending) or from the back (by blocks); nullopt once
  // every position was taken or after stop().
  std::optional<size_t> take(bool from_back);
  void stop();

  // The order the back takes positions in when the front does not get there first, for
  // read-ahead: back_order()[k] is its k-th position, back_rank(p) the k of position p.
  const std::vector<size_t>& back_order() const { return back_order_; }
  size_t back_rank(size_t position) const { return back_rank_[position]; }

 private:
  std::vector<size_t> back_order_, back_rank_;
  std::vector<size_t> block_starts_;  // the back's blocks, highest first: [start, previous start)
  std::mutex mu_;
  size_t front_ = 0;       // next position from the front
  size_t limit_;           // the front stops here: the lowest position the back has claimed
  size_t next_block_ = 0;  // the back's next block in block_starts_
  size_t back_at_ = 0, back_end_ = 0;  // the back's current block: next position, one past its end
};

}  // namespace coffer
