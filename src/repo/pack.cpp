#include "repo/pack.h"

#include <cstring>

#include "codec/compression.h"
#include "codec/delta.h"
#include "storage/storage.h"
#include "util/binary.h"

namespace coffer {
namespace {
constexpr char kMagic[4] = {'C', 'P', 'K', '1'};
constexpr size_t kEntrySize = 1 + 32 + 4 + 4 + 4;  // + 32 for a delta's base
}  // namespace

void PackBuilder::add(BlobType type, const ChunkId& id, uint32_t raw_length, ByteView sealed_blob,
                      const ChunkId& base) {
  entries_.push_back({type, id, static_cast<uint32_t>(data_.size()), static_cast<uint32_t>(sealed_blob.size()),
                      raw_length, base});
  data_.insert(data_.end(), sealed_blob.begin(), sealed_blob.end());
}

namespace {

// What follows a pack's blobs: the sealed header listing them, its length and the magic.
Bytes pack_tail(const ObjectSealer& sealer, const std::vector<PackEntry>& entries) {
  BinaryWriter header;
  header.u32(static_cast<uint32_t>(entries.size()));
  for (const PackEntry& e : entries) write_pack_entry(header, e);
  Bytes tail = sealer.seal("pack-header", header.bytes());
  BinaryWriter trailer;
  trailer.u32(static_cast<uint32_t>(tail.size()));
  trailer.raw(as_bytes(std::string_view(kMagic, 4)));
  tail.insert(tail.end(), trailer.bytes().begin(), trailer.bytes().end());
  return tail;
}

}  // namespace

Bytes PackBuilder::finish(const ObjectSealer& sealer, std::vector<PackEntry>* entries) {
  Bytes tail = pack_tail(sealer, entries_);
  Bytes out = std::move(data_);
  out.insert(out.end(), tail.begin(), tail.end());
  *entries = std::move(entries_);
  data_.clear();
  entries_.clear();
  return out;
}

PackWriter::PackWriter(Storage& storage)
    : out_(storage.begin_object("data/", kPackTargetSize + kPackTargetSize / 2)) {}

PackWriter::~PackWriter() = default;

void PackWriter::add(BlobType type, const ChunkId& id, uint32_t raw_length, ByteView sealed_blob, const ChunkId& base) {
  if (!out_) fail(ErrorCategory::kInternal, "add to a finished pack");
  out_->append(sealed_blob);
  entries_.push_back({type, id, static_cast<uint32_t>(size_), static_cast<uint32_t>(sealed_blob.size()), raw_length, base});
  size_ += sealed_blob.size();
}

std::string PackWriter::finish(const ObjectSealer& sealer, std::vector<PackEntry>* entries, uint64_t* bytes) {
  if (!out_) fail(ErrorCategory::kInternal, "finish of a finished pack");
  std::unique_ptr<ObjectWriter> out = std::move(out_);  // done after this, stored or not
  Bytes tail = pack_tail(sealer, entries_);
  out->append(tail);
  // pack_id_of() hashes exactly the header and trailer: name the pack without reading it back.
  std::string id = to_hex(sha256(tail));
  out->finish(pack_key(id));
  *bytes = size_ + tail.size();
  *entries = std::move(entries_);
  entries_.clear();
  size_ = 0;
  return id;
}

std::string pack_key(const std::string& id) { return "data/" + id.substr(0, 2) + "/" + id; }

std::string pack_id_from_key(const std::string& key) {
  std::string id = key.substr(key.rfind('/') + 1);
  if (id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos && pack_key(id) == key)
    return id;
  return "";
}

std::string pack_id_of(ByteView pack) {
  // The sealed header lists every blob's id, offset and length, and each blob is authenticated
  // on its own, so hashing the header and trailer names the pack as well as hashing all of it
  // would, at a fraction of the cost (hashing whole packs was 18% of a backup's CPU).
  size_t tail = pack.size();
  if (pack.size() >= 8) {
    BinaryReader r(pack.subspan(pack.size() - 8, 4), "pack");
    uint64_t header_len = r.u32();
    if (header_len + 8 <= pack.size()) tail = static_cast<size_t>(header_len + 8);
  }
  return to_hex(sha256(pack.last(tail)));
}

void read_pack_entry(BinaryReader& r, PackEntry& e, const std::string& what) {
  uint8_t type = r.u8();
  if (type > static_cast<uint8_t>(BlobType::kDelta)) fail(ErrorCategory::kDamaged, what + " is damaged: unknown blob type");
  e.type = static_cast<BlobType>(type);
  r.copy_to(e.id);
  e.offset = r.u32();
  e.length = r.u32();
  e.raw_length = r.u32();
  if (e.type == BlobType::kDelta) r.copy_to(e.base);
}

void write_pack_entry(BinaryWriter& w, const PackEntry& e) {
  w.u8(static_cast<uint8_t>(e.type));
  w.raw(e.id);
  w.u32(e.offset);
  w.u32(e.length);
  w.u32(e.raw_length);
  if (e.type == BlobType::kDelta) w.raw(e.base);
}

namespace {

// `tail` = sealed header + trailer; `header_start` = where the header begins in the whole pack
// (every blob must end before it).
std::vector<PackEntry> parse_pack_tail(const ObjectSealer& sealer, ByteView tail, uint64_t header_start,
                                       const std::string& what) {
  const size_t header_len = tail.size() - 8;
  Bytes header = sealer.open("pack-header", tail.first(header_len), what + " (header)");
  BinaryReader r(header, what + " (header)");
  uint32_t n = r.u32();
  if (uint64_t(n) * kEntrySize > r.remaining()) fail(ErrorCategory::kDamaged, what + " is damaged: bad entry count");
  std::vector<PackEntry> entries(n);
  for (PackEntry& e : entries) {
    read_pack_entry(r, e, what);
    if (uint64_t(e.offset) + e.length > header_start)
      fail(ErrorCategory::kDamaged, what + " is damaged: blob outside the pack");
  }
  if (r.remaining() != 0) fail(ErrorCategory::kDamaged, what + " is damaged: bad entry count");
  return entries;
}

// The header length from a trailer (the last 8 bytes of a pack).
uint32_t header_length(ByteView trailer, uint64_t pack_size, const std::string& what) {
  if (trailer.size() != 8 || std::memcmp(trailer.data() + 4, kMagic, 4) != 0)
    fail(ErrorCategory::kDamaged, what + " is damaged: not a pack (bad trailer)");
  BinaryReader len_reader(trailer.first(4), what);
  uint32_t header_len = len_reader.u32();
  if (header_len > pack_size - 8) fail(ErrorCategory::kDamaged, what + " is damaged: header length out of range");
  return header_len;
}

}  // namespace

std::vector<PackEntry> read_pack_header(const ObjectSealer& sealer, ByteView pack, const std::string& what) {
  if (pack.size() < 8) fail(ErrorCategory::kDamaged, what + " is damaged: not a pack (bad trailer)");
  uint32_t header_len = header_length(pack.last(8), pack.size(), what);
  return parse_pack_tail(sealer, pack.last(size_t{header_len} + 8), pack.size() - 8 - header_len, what);
}

std::vector<PackEntry> fetch_pack_header(Storage& storage, const ObjectSealer& sealer, const std::string& pack_id,
                                         uint64_t pack_size) {
  const std::string key = pack_key(pack_id);
  const std::string what = "pack " + key;
  if (pack_size < 8) fail(ErrorCategory::kDamaged, what + " is damaged: not a pack (too short)");
  Bytes trailer = storage.get(key, pack_size - 8, 8);
  uint32_t header_len = header_length(trailer, pack_size, what);
  // 64-bit sum: a header length near 4 GiB (a listed size above 4 GiB allows it) must not wrap.
  Bytes tail = storage.get(key, pack_size - 8 - header_len, uint64_t{header_len} + 8);
  if (to_hex(sha256(tail)) != pack_id)
    fail(ErrorCategory::kDamaged, what + " is damaged: its header does not match its name");
  return parse_pack_tail(sealer, tail, pack_size - 8 - header_len, what);
}

Bytes open_blob(const ObjectSealer& sealer, const ChunkId& id, ByteView sealed, size_t raw_length,
                const std::string& what, const Bytes* base) {
  // raw_length comes from an index file or pack header and bounds the decompression buffer: no
  // chunk exceeds the chunker's 64 MiB limit, so a larger length must not allocate gigabytes.
  constexpr size_t kMaxBlobLength = 64u * 1024 * 1024;
  if (raw_length > kMaxBlobLength)
    fail(ErrorCategory::kDamaged, what + " is damaged: plaintext length " + std::to_string(raw_length) +
                                      " exceeds the 64 MiB chunk limit");
  Bytes payload = sealer.open("blob", sealed, what);
  if (is_delta_payload(payload) && !base) fail(ErrorCategory::kDamaged, what + " is damaged: a delta blob not marked as one");
  if (base && !is_delta_payload(payload))
    fail(ErrorCategory::kDamaged, what + " is damaged: marked as a delta but stored whole");
  Bytes plain = base ? decode_delta_payload(payload, *base, raw_length) : decode_payload(payload, raw_length);
  if (plain.size() != raw_length) fail(ErrorCategory::kDamaged, what + " is damaged: wrong length");
  Digest actual = sealer.chunk_id(plain);
  if (!equal_ct(actual, id)) fail(ErrorCategory::kDamaged, what + " is damaged: content does not match its id");
  return plain;
}

}  // namespace coffer
