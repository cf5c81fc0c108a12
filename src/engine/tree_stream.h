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

// A long chunk list (a database dump's) as a stream of its own: 36 bytes per ref (id, u32 size).
// `bases` (optional): the last dump's list, to store changed stretches as deltas.
std::vector<ChunkRef> write_ref_list(ChunkStore& store, const ChunkerParams& params, const std::vector<ChunkRef>& refs,
                                     DeltaBaseSource* bases = nullptr);
// Reads it back; checks that the sizes add up to `expected_bytes`. Throws Error(kDamaged).
std::vector<ChunkRef> read_ref_list(Repository& repo, const std::vector<ChunkRef>& list, uint64_t expected_bytes,
                                    const std::string& what);

}  // namespace coffer
