// Manifest parsing: the plaintext of snapshots/<id> (JSON, after unsealing and decompression)
// through Repository::read_manifest, i.e. nlohmann::json::parse + manifest_from_json + the id
// check. The input is the plaintext; the target seals it (codec none) into an in-memory
// unencrypted repository so that the real read path runs.
// Extra check on what parses: writing the manifest back (manifest_to_json().dump()) must work.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"

namespace {
const char* const kBackupId = "full_20240101_020000";  // the seeds' manifests carry this id
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  static fuzz::MemoryRepo mem;
  const std::string key = manifest_key(kBackupId);
  mem.storage->put(key, mem.repo->sealer().seal("manifest", fuzz::plain_payload(ByteView(data, size))));
  fuzz::run_guarded([&] {
    Manifest m = mem.repo->read_manifest(kBackupId);
    (void)manifest_to_json(m).dump();
  });
  mem.storage->remove(key);
  return 0;
}
