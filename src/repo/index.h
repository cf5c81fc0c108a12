// The chunk index: where each chunk lives (pack, offset, length). In memory it is one hash
// map from chunk id to a 20-byte location (pack number, offset, lengths); with the 32-byte key
// that is about 80 bytes per chunk including the map's overhead. Delta blobs' bases are kept in
// a map of their own, so chunks stored whole pay nothing for them.
//
// Index files (index/<hex sha256 of the stored bytes>) are sealed ("index") binary lists:
//   u32 version=1, u32 pack count, then per pack: id[32], u32 entry count, entries
//   (type u8, chunk id[32], offset u32, length u32, raw length u32, and for a delta blob
//   its base id[32]: pack.h's entry layout).
// Each backup writes one index file for the packs it wrote, after the packs and before its
// manifest (DESIGN.md invariant 3).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "repo/pack.h"

namespace coffer {

struct ChunkLocation {
  uint32_t pack = 0;  // position in Index::packs()
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_length = 0;
  BlobType type = BlobType::kData;
};

struct PackRecord {
  std::string id;  // hex
  std::vector<PackEntry> entries;
};

class Index {
 public:
  // Adds every entry of a pack. A chunk already indexed keeps its first location.
  void add_pack(const std::string& pack_id, const std::vector<PackEntry>& entries);
  const ChunkLocation* find(const ChunkId& id) const;
  // The base of a chunk whose indexed location is a delta blob; nullptr for any other chunk.
  const ChunkId* base_of(const ChunkId& id) const;
  bool contains(const ChunkId& id) const { return find(id) != nullptr; }
  const std::string& pack_id(uint32_t pack) const { return packs_[pack]; }
  size_t pack_count() const { return packs_.size(); }
  size_t chunk_count() const { return chunks_.size(); }
  const std::unordered_map<ChunkId, ChunkLocation, ChunkIdHash>& chunks() const { return chunks_; }

 private:
  std::vector<std::string> packs_;
  std::unordered_map<std::string, uint32_t> pack_numbers_;
  std::unordered_map<ChunkId, ChunkLocation, ChunkIdHash> chunks_;
  std::unordered_map<ChunkId, ChunkId, ChunkIdHash> bases_;
};

Bytes encode_index_file(const std::vector<PackRecord>& packs);
std::vector<PackRecord> decode_index_file(ByteView plain, const std::string& what);

}  // namespace coffer
