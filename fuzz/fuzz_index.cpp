// Index file parsing: decode_index_file on the plaintext of index/<id> (after unsealing and
// decompression), then Index::add_pack for every pack record, as Repository::load_index does.
// Extra check on what parses: the format has one encoding per content, so encode_index_file of
// the result must give back the input bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "repo/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  ByteView input(data, size);
  fuzz::run_guarded([&] {
    std::vector<PackRecord> packs = decode_index_file(input, "index file index/fuzz");
    Index index;
    for (const PackRecord& p : packs) index.add_pack(p.id, p.entries);
    Bytes again = encode_index_file(packs);
    if (!std::equal(again.begin(), again.end(), input.begin(), input.end()))
      fuzz::bug("decode_index_file accepted bytes that encode_index_file does not give back");
  });
  return 0;
}
