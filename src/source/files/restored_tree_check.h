// Compares a restored tree on disk with the backup's record of it (a drill's files check,
// engine/drill_job.h): each regular file is read back from disk (what the restore wrote, not
// what it meant to write) and cut at its recorded chunk sizes, and each piece's id must be the
// recorded chunk id; symlinks must point where they pointed, hard links must share the inode of
// their first link, folders must be there.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "repo/file_entry.h"
#include "util/bytes.h"

namespace coffer::files {

struct TreeCheck {
  uint64_t entries = 0;  // entries looked at
  uint64_t files = 0;    // regular files whose content was compared
  uint64_t bytes = 0;    // bytes read back
  // "path: what differs", in tree order; at most `max_problems`, then `more_problems` counts.
  std::vector<std::string> problems;
  uint64_t more_problems = 0;
};

// `root`: the folder the entries' paths are under (a restore's --target). `chunk_id`: the
// repository's id function (Repository::sealer().chunk_id).
TreeCheck check_restored_tree(const std::filesystem::path& root, const std::vector<FileEntry>& entries,
                              const std::function<ChunkId(ByteView)>& chunk_id, size_t max_problems = 20);

}  // namespace coffer::files
