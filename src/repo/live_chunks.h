// The chunks a set of backups references, found by walking each manifest the way restore does:
// the tree stream's chunks, every file's chunks, the database dump list's chunks and the dump
// chunks it lists, and the globals' chunks.
#pragma once

#include <vector>

#include "repo/prune_plan.h"
#include "repo/repository.h"

namespace coffer {

// `repo` must have its index loaded. Throws Error(kDamaged) naming the backup when a file list
// or dump list cannot be read: then nobody can tell what that backup needs.
ChunkSet referenced_chunks(Repository& repo, const std::vector<Manifest>& backups);

}  // namespace coffer
