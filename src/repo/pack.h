// Pack files: many sealed blobs in one object, to keep object counts (and S3 requests) low.
//
//   [blob 0] [blob 1] ... [blob n-1] [sealed header] [header length: u32 LE] ["CPK1"]
//
// Each blob is ObjectSealer::seal("blob", payload) where payload = encode_payload(chunk).
// The header (sealed as "pack-header") lists, per blob: type u8, id[32], offset u32,
// stored length u32, plaintext length u32, and for a delta blob (type 2) its base's id[32].
// A delta blob's payload is codec/delta.h's, made against its base chunk's plaintext; the base
// is always stored whole when the delta is written, so chains stay one link long. A pack is named by the SHA-256 of its sealed header
// and trailer (which pin every blob's id, place and length; blobs are authenticated one by one),
// so a swapped or damaged header is found without keys; the header lets the index be rebuilt
// from packs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "repo/chunk_id.h"
#include "repo/object_sealer.h"

namespace coffer {

// kDelta: a chunk (data, or a dump's chunk list) stored as a delta against another chunk
// (PackEntry::base).
enum class BlobType : uint8_t { kData = 0, kTree = 1, kDelta = 2 };

struct PackEntry {
  BlobType type = BlobType::kData;
  ChunkId id{};
  uint32_t offset = 0;
  uint32_t length = 0;      // stored (sealed) length
  uint32_t raw_length = 0;  // plaintext length
  ChunkId base{};           // kDelta only: the chunk the payload is a delta against
};

constexpr size_t kPackTargetSize = 16 * 1024 * 1024;

// A whole pack built in memory (tests, fuzz seeds). coffer stores packs with PackWriter below,
// which writes the same bytes without holding the pack.
class PackBuilder {
 public:
  // Appends an already sealed blob.
  void add(BlobType type, const ChunkId& id, uint32_t raw_length, ByteView sealed_blob, const ChunkId& base = {});
  size_t size() const { return data_.size(); }
  bool empty() const { return entries_.empty(); }
  // Appends the header; returns the finished pack bytes and leaves the builder empty.
  Bytes finish(const ObjectSealer& sealer, std::vector<PackEntry>* entries);

 private:
  Bytes data_;
  std::vector<PackEntry> entries_;
};

// Writes one pack as its blobs come, through Storage::begin_object: on local disk straight into
// a temp file, with no whole-pack buffer. The bytes are exactly PackBuilder's for the same blobs.
class Storage;
class ObjectWriter;
class PackWriter {
 public:
  explicit PackWriter(Storage& storage);
  ~PackWriter();  // an unfinished pack is discarded
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends an already sealed blob.
  void add(BlobType type, const ChunkId& id, uint32_t raw_length, ByteView sealed_blob, const ChunkId& base = {});
  size_t size() const { return size_; }
  bool empty() const { return entries_.empty(); }
  // Appends the header and trailer and stores the pack under its name. Returns the pack id;
  // `entries` gets the blobs, `bytes` the pack's size.
  std::string finish(const ObjectSealer& sealer, std::vector<PackEntry>* entries, uint64_t* bytes);

 private:
  std::unique_ptr<ObjectWriter> out_;
  size_t size_ = 0;
  std::vector<PackEntry> entries_;
};

// One entry as the pack header and index files store it (the layout above). read_pack_entry
// throws Error(kDamaged) naming `what` for an unknown type or a short read.
class BinaryReader;
class BinaryWriter;
void read_pack_entry(BinaryReader& r, PackEntry& e, const std::string& what);
void write_pack_entry(BinaryWriter& w, const PackEntry& e);

std::string pack_key(const std::string& pack_id_hex);  // "data/ab/ab12..."
// The inverse: the pack id of "data/ab/ab12...", "" for any other key (temp files, strays).
std::string pack_id_from_key(const std::string& key);
std::string pack_id_of(ByteView pack_bytes);             // hex SHA-256 of header + trailer

// Parses the header at the end of a whole pack. Throws Error(kDamaged) naming `what`.
std::vector<PackEntry> read_pack_header(const ObjectSealer& sealer, ByteView pack, const std::string& what);

// Reads only the sealed header and trailer of pack `pack_id` (`pack_size` bytes, as listed) from
// storage with two ranged reads, checks that they hash to the pack's name, and returns its
// entries: what rebuilding the index needs, without downloading whole packs. Throws
// Error(kDamaged) naming the pack.
class Storage;
std::vector<PackEntry> fetch_pack_header(Storage& storage, const ObjectSealer& sealer, const std::string& pack_id,
                                         uint64_t pack_size);

// Decodes one stored blob and checks that its plaintext hashes to `id`. A delta blob needs its
// base's plaintext (`base`); any other blob must come without one.
Bytes open_blob(const ObjectSealer& sealer, const ChunkId& id, ByteView sealed, size_t raw_length,
                const std::string& what, const Bytes* base = nullptr);

}  // namespace coffer
