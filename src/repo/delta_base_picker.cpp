#include "repo/delta_base_picker.h"

namespace coffer {

DeltaBasePicker::DeltaBasePicker(std::vector<ChunkRef> previous) : previous_(std::move(previous)) {
  position_.reserve(previous_.size());
  for (size_t i = 0; i < previous_.size(); ++i) position_.try_emplace(previous_[i].id, i);
}

std::vector<ChunkId> DeltaBasePicker::next(const ChunkId& id) {
  if (auto it = position_.find(id); it != position_.end()) {
    anchor_ = it->second;
    cursor_ = it->second + 1;
    return {};
  }
  std::vector<ChunkId> out;
  if (cursor_ < previous_.size()) out.push_back(previous_[cursor_++].id);
  if (anchor_ && (out.empty() || previous_[*anchor_].id != out[0])) out.push_back(previous_[*anchor_].id);
  return out;
}

}  // namespace coffer
