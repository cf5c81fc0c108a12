// The database part of a backup: pg_dump (custom format, uncompressed) from an exported
// snapshot streamed into the chunk store, exact row counts taken in that same snapshot, and
// the globals (roles, tablespaces) when the user may read them.
#pragma once

#include <functional>
#include <string>

#include "coffer/backup_config.h"
#include "repo/chunk_store.h"
#include "repo/manifest.h"

namespace coffer {

// Safe to run on its own thread next to the files part (ChunkStore takes several producers).
// Throws Error(kDatabase) naming the server when anything fails. Warnings go to `warn`.
// `bases` (optional) pairs dump chunks with the last dump's, to store changed ones as deltas.
// `on_progress` (optional) is told the bytes dumped so far, a few times a second.
DatabasePart backup_database(ChunkStore& store, const ChunkerParams& params, const BackupConfig& config,
                             const std::function<void(const std::string&)>& warn, DeltaBaseSource* bases = nullptr,
                             const std::function<void(const Progress&)>& on_progress = {});

}  // namespace coffer
