// A backup's file list as a stream of JSON lines (one files::FileEntry per line), stored as
// chunks like file content. Unchanged stretches of the list dedup against earlier backups.
#pragma once

#include <functional>
#include <vector>

#include "repo/chunk_store.h"
#include "repo/file_entry.h"

namespace coffer {

// Serialises one entry at a time as the store reads: the list's text never exists whole.
std::vector<ChunkRef> write_tree(ChunkStore& store, const ChunkerParams& params,
                                 const std::vector<files::FileEntry>& entries);

// Reads and validates every entry (files::from_json). Throws Error(kDamaged) naming the backup.
std::vector<files::FileEntry> read_tree(Repository& repo, const std::vector<ChunkRef>& tree,
                                        const std::string& backup_id);
// The same, one entry at a time in stored order, reading one chunk at a time: for callers that
// need not hold the whole list. `on_entry` may move from the entry.
void for_each_tree_entry(Repository& repo, const std::vector<ChunkRef>& tree, const std::string& backup_id,
                         const std::function<void(files::FileEntry&)>& on_entry);

// A long chunk list (a database dump's) as a stream of its own: 36 bytes per ref (id, u32 size).
// `bases` (optional): the last dump's list, to store changed stretches as deltas.
std::vector<ChunkRef> write_ref_list(ChunkStore& store, const ChunkerParams& params, const std::vector<ChunkRef>& refs,
                                     DeltaBaseSource* bases = nullptr);
// Reads it back; checks that the sizes add up to `expected_bytes`. Throws Error(kDamaged).
std::vector<ChunkRef> read_ref_list(Repository& repo, const std::vector<ChunkRef>& list, uint64_t expected_bytes,
                                    const std::string& what);

}  // namespace coffer
