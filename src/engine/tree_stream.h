// A backup's file list as a stream of JSON lines (one files::FileEntry per line), stored as
// chunks like file content. Unchanged stretches of the list dedup against earlier backups.
#pragma once

#include <vector>

#include "repo/chunk_store.h"
#include "source/files/file_entry.h"

namespace coffer {

std::vector<ChunkRef> write_tree(ChunkStore& store, const ChunkerParams& params,
                                 const std::vector<files::FileEntry>& entries);

// Reads and validates every entry (files::from_json). Throws Error(kDamaged) naming the backup.
std::vector<files::FileEntry> read_tree(Repository& repo, const std::vector<ChunkRef>& tree,
                                        const std::string& backup_id);

}  // namespace coffer
