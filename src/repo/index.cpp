#include "repo/index.h"

#include "util/binary.h"

namespace coffer {

void Index::add_pack(const std::string& pack_id, const std::vector<PackEntry>& entries) {
  auto [it, inserted] = pack_numbers_.try_emplace(pack_id, static_cast<uint32_t>(packs_.size()));
  if (inserted) packs_.push_back(pack_id);
  uint32_t number = it->second;
  for (const PackEntry& e : entries) {
    bool added = chunks_.try_emplace(e.id, ChunkLocation{number, e.offset, e.length, e.raw_length, e.type}).second;
    if (added && e.type == BlobType::kDelta) bases_[e.id] = e.base;
  }
}

const ChunkId* Index::base_of(const ChunkId& id) const {
  auto it = bases_.find(id);
  return it == bases_.end() ? nullptr : &it->second;
}

const ChunkLocation* Index::find(const ChunkId& id) const {
  auto it = chunks_.find(id);
  return it == chunks_.end() ? nullptr : &it->second;
}

Bytes encode_index_file(const std::vector<PackRecord>& packs) {
  BinaryWriter w;
  w.u32(1);
  w.u32(static_cast<uint32_t>(packs.size()));
  for (const PackRecord& p : packs) {
    w.raw(from_hex(p.id));
    w.u32(static_cast<uint32_t>(p.entries.size()));
    for (const PackEntry& e : p.entries) write_pack_entry(w, e);
  }
  return std::move(w.bytes());
}

std::vector<PackRecord> decode_index_file(ByteView plain, const std::string& what) {
  BinaryReader r(plain, what);
  if (r.u32() != 1) fail(ErrorCategory::kDamaged, what + " has an unknown index version");
  uint32_t n = r.u32();
  if (n > r.remaining() / 36) fail(ErrorCategory::kDamaged, what + " is damaged: bad pack count");
  std::vector<PackRecord> packs(n);
  for (PackRecord& p : packs) {
    std::array<uint8_t, 32> id;
    r.copy_to(id);
    p.id = to_hex(id);
    uint32_t m = r.u32();
    if (m > r.remaining() / 45) fail(ErrorCategory::kDamaged, what + " is damaged: bad entry count");
    p.entries.resize(m);
    for (PackEntry& e : p.entries) read_pack_entry(r, e, what);
  }
  if (r.remaining() != 0) fail(ErrorCategory::kDamaged, what + " is damaged: trailing bytes");
  return packs;
}

}  // namespace coffer
