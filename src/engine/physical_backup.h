// The physical database part of a backup (DB_BACKUP_MODE=physical; docs/pitr.md): a base backup
// of the whole cluster between pg_backup_start and pg_backup_stop, read straight from the data
// folder and the tablespaces, relation files in page-aligned chunks and their pages checked; done
// only once the WAL that makes it consistent is in the archive.
#pragma once

#include <functional>
#include <string>

#include "coffer/backup_config.h"
#include "coffer/backup_types.h"
#include "repo/chunk_store.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace coffer {

// Relation files are cut into fixed 64 KiB chunks (8 pages): a changed page changes one chunk.
inline constexpr ChunkerParams kRelationChunker{65536, 65536, 65536};

struct PhysicalBackupHooks {
  std::function<void(const std::string&)> warn;
  std::function<void(const std::string& source, const std::string& message)> unreadable;
  std::function<void(const Progress&)> on_progress;
};

// Throws coffer::Error (the store is then to be aborted): a server that cannot take one (with
// what to set), DB_DATA_DIR of another cluster, WAL not archived within ARCHIVE_TIMEOUT.
// `last`: the newest earlier physical backup of this cluster, if any; a relation file's changed
// chunks are stored as deltas against its chunks at the same place (null: stored whole).
PhysicalPart backup_physical(Repository& repo, ChunkStore& store, const BackupConfig& config,
                             const PhysicalBackupHooks& hooks, const Manifest* last);

}  // namespace coffer
