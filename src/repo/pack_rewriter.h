// Copies the live blobs of mostly-garbage packs into new packs. Blobs are copied sealed (no
// re-encryption), but each one is first opened and checked against its id, so damage is never
// carried into a new pack. New packs are stored before this returns; nothing indexes them yet.
#pragma once

#include <vector>

#include "repo/prune_plan.h"
#include "repo/repository.h"

namespace coffer {

struct RewriteOutcome {
  std::vector<PackRecord> written;          // the new packs
  uint64_t bytes_written = 0;
  std::vector<std::string> rewritten;       // packs whose live blobs are now in `written`
  std::vector<PackRecord> kept;             // packs that could not be copied (stay as they are)
  std::vector<std::string> warnings;        // why they could not
};

RewriteOutcome rewrite_packs(Repository& repo, const std::vector<PackRewrite>& packs);

}  // namespace coffer
