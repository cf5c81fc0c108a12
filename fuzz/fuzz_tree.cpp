// Tree stream parsing: read_tree (JSON lines of files::FileEntry, checked by files::from_json)
// and read_ref_list (36-byte refs of a database dump's chunk list), as restore, verify and the
// next incremental backup read them. Both fetch their stream's chunks from a Repository, so the
// target stores the input's chunks as blobs in an in-memory unencrypted repository.
//   byte 0   mode: even = file tree, odd = ref list
//   byte 1   number of chunks the stream is cut into: 1 + (byte % 4)
//   bytes 2-9 (ref list only) the dump's expected size, u64 little-endian
//   rest     the stream's bytes (the decompressed chunk contents, concatenated)
// Extra check on a tree that parses: writing its entries again (to_json().dump(), as the next
// incremental backup does with its parent's entries) must work.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "repo/tree_stream.h"
#include "fuzz_common.h"
#include "repo/pack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static fuzz::MemoryRepo mem;
  if (size < 2) return 0;
  const bool ref_list = data[0] % 2 == 1;
  size_t chunks = 1 + data[1] % 4;
  size_t header = ref_list ? 10 : 2;
  if (size < header) return 0;
  const uint64_t expected_bytes = ref_list ? fuzz::le64(data + 2) : 0;
  ByteView stream(data + header, size - header);
  chunks = std::min(chunks, stream.size());

  // Store the chunks: each sealed blob as a one-blob "pack" object, indexed in memory. read_blob
  // needs only the index and a ranged read (a real pack header is fuzz_pack's business).
  const ObjectSealer& sealer = mem.repo->sealer();
  std::vector<ChunkRef> refs;
  std::vector<PackRecord> packs;
  for (size_t i = 0, pos = 0; i < chunks; ++i) {
    size_t len = i + 1 == chunks ? stream.size() - pos : stream.size() / chunks;
    ByteView part = stream.subspan(pos, len);
    pos += len;
    ChunkRef ref{sealer.chunk_id(part), static_cast<uint32_t>(part.size())};
    Bytes sealed = sealer.seal("blob", fuzz::plain_payload(part));
    PackRecord pack{to_hex(ref.id), {{BlobType::kTree, ref.id, 0, static_cast<uint32_t>(sealed.size()), ref.size}}};
    mem.storage->put(pack_key(pack.id), sealed);
    packs.push_back(std::move(pack));
    refs.push_back(ref);
  }
  mem.repo->add_to_index(packs);

  fuzz::run_guarded([&] {
    if (ref_list) {
      (void)read_ref_list(*mem.repo, refs, expected_bytes, "database dump of backup fuzz");
    } else {
      for (const files::FileEntry& e : read_tree(*mem.repo, refs, "fuzz")) (void)files::to_json(e).dump();
    }
  });

  for (const PackRecord& p : packs) mem.storage->remove(pack_key(p.id));
  mem.repo->load_index();  // no index files stored: this empties the in-memory index
  return 0;
}
