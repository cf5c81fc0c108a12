// Off-site copy (S3_MODE=copy): after a backup, upload to S3 the repository objects it lacks.
// Objects are compared by key and size; a missing or different-sized object is uploaded again,
// so an interrupted copy resumes where it stopped and an object deleted on S3 comes back.
// Commit order, each phase finished before the next: config and keys/, data/ (packs), index/,
// snapshots/ (the manifests that make backups visible), pins/. A manifest therefore never
// reaches S3 before the packs and index it needs. locks/ are never copied.
#pragma once

#include <cstdint>
#include <string>

#include "storage/storage.h"

namespace coffer {

struct OffsiteCopyResult {
  bool copied = false;   // every object is on the remote side
  std::string error;     // why not, when !copied
  uint64_t objects = 0;  // objects uploaded by this run
  uint64_t bytes = 0;    // their bytes
};

// Never throws for storage errors: a failed copy is reported in the result.
OffsiteCopyResult copy_offsite(Storage& local, Storage& remote, int threads = 4);

}  // namespace coffer
