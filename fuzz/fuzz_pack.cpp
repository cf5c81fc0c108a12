// Pack parsing: the trailer (magic, header length), the sealed header's blob table
// (read_pack_header) and the blobs it lists (open_blob: unseal, decode_payload bounded by the
// table's plaintext length, id check), plus pack_id_of. The first input byte picks the mode:
//   0  whole pack bytes as stored (data/xx/<id>); seeds are real packs sealed with the fixed
//      keys, so their header opens and the table parser runs
//   1  [u32 blob area length][blob area][header plaintext]: the target seals the header and
//      appends the trailer, so the table parser sees arbitrary plaintext
//   2  [u32 plaintext length][blob payload]: the target seals the payload (codec byte and body;
//      a delta, codec 4, is opened against the payload's own bytes as its base)
//      and opens it, as restore and verify do for each chunk
//   3  [u64 extra size][pack tail]: fetch_pack_header (repair index) on a storage that lists the
//      pack as extra size + tail size bytes (zeros, then the tail); the pack is named by the
//      SHA-256 of the header and trailer the parser reads, as its writer would have named it
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_common.h"
#include "repo/pack.h"

namespace {

using namespace coffer;

// One pack object: `extra` zero bytes, then `tail`. Remembers the last range read, so that the
// pack can be named by the header and trailer fetch_pack_header reads.
class TailStorage : public Storage {
 public:
  TailStorage(uint64_t extra, ByteView tail) : extra_(extra), tail_(tail) {}
  uint64_t size() const { return extra_ + tail_.size(); }
  const Bytes& last_read() const { return last_; }
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override {
    if (offset > size() || length > size() - offset) fail(ErrorCategory::kDamaged, key + " is shorter than asked");
    // A harness limit, not coffer's (the format allows header reads of up to 4 GiB): big reads
    // would only slow the fuzzer down.
    if (length > (1u << 20)) fail(ErrorCategory::kStorage, "fuzz storage: range read of " + std::to_string(length) + " bytes");
    last_.assign(length, 0);
    const uint64_t end = offset + length;
    if (end > extra_) {
      const uint64_t from = std::max(offset, extra_);
      std::memcpy(last_.data() + (from - offset), tail_.data() + (from - extra_), end - from);
    }
    return last_;
  }
  void put(const std::string&, ByteView) override {}
  bool put_if_absent(const std::string&, ByteView) override { return false; }
  std::optional<ObjectInfo> head(const std::string&) override { return std::nullopt; }
  std::vector<ObjectInfo> list(const std::string&) override { return {}; }
  void remove(const std::string&) override {}
  std::string describe() const override { return "fuzz tail storage"; }

 private:
  uint64_t extra_;
  ByteView tail_;
  Bytes last_;
};

const ObjectSealer& sealer() {
  // Format 2 ids and tags (HMAC-SHA-256), which the kept corpus was made with; the parsing is the
  // same in format 3, only the two MACs differ.
  static const ObjectSealer s(fuzz::fixed_keys(), false, ChunkIdFunction::kHmacSha256);
  return s;
}

// What restore/verify do with a parsed table: read each listed blob.
void open_listed_blobs(ByteView pack, const std::vector<PackEntry>& entries) {
  size_t opened = 0;
  const Bytes some_base(64, 'b');  // a delta blob (type 2) is opened against a base, as restore does
  for (const PackEntry& e : entries) {
    if (++opened > 16) break;
    fuzz::run_guarded([&] {
      open_blob(sealer(), e.id, pack.subspan(e.offset, e.length), e.raw_length, "chunk in pack fuzz",
                e.type == BlobType::kDelta ? &some_base : nullptr);
    });
  }
}

void whole_pack(ByteView pack) {
  (void)pack_id_of(pack);
  std::vector<PackEntry> entries;
  fuzz::run_guarded([&] { entries = read_pack_header(sealer(), pack, "pack data/fu/fuzz"); });
  open_listed_blobs(pack, entries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 4;
  ByteView rest(data + 1, size - 1);
  if (mode == 0) {
    whole_pack(rest);
  } else if (mode == 1) {
    if (rest.size() < 4) return 0;
    size_t area = std::min<size_t>(fuzz::le32(rest.data()), rest.size() - 4);
    Bytes pack(rest.begin() + 4, rest.begin() + 4 + static_cast<ptrdiff_t>(area));
    Bytes header = sealer().seal("pack-header", rest.subspan(4 + area));
    pack.insert(pack.end(), header.begin(), header.end());
    for (int i = 0; i < 4; ++i) pack.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
    for (char c : {'C', 'P', 'K', '1'}) pack.push_back(static_cast<uint8_t>(c));
    whole_pack(pack);
  } else if (mode == 3) {
    if (rest.size() < 8) return 0;
    TailStorage storage(fuzz::le64(rest.data()) % (uint64_t{1} << 40), rest.subspan(8));
    fuzz::run_guarded([&] {
      std::string id(64, '0');
      try {
        (void)fetch_pack_header(storage, sealer(), id, storage.size());
      } catch (const Error&) {
        id = to_hex(sha256(storage.last_read()));  // what the pack's writer would have named it
      }
      (void)fetch_pack_header(storage, sealer(), id, storage.size());
    });
  } else {
    if (rest.size() < 4) return 0;
    uint32_t raw_length = fuzz::le32(rest.data());
    ByteView payload = rest.subspan(4);
    Bytes sealed = sealer().seal("blob", payload);
    // A delta payload (codec byte 4) is opened against a base: the input's own bytes after the
    // codec byte, so frames made against similar data are reachable too.
    const bool delta = !payload.empty() && payload[0] == 4;
    Bytes base(payload.begin() + (payload.empty() ? 0 : 1), payload.end());
    fuzz::run_guarded([&] {
      open_blob(sealer(), ChunkId{}, sealed, raw_length, "chunk in pack fuzz", delta ? &base : nullptr);
    });
  }
  return 0;
}
