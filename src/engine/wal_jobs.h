// The two commands PostgreSQL runs for the WAL archive (docs/pitr.md): wal-push as
// archive_command (%p), wal-fetch as restore_command (%f %p). Each is one call per file, so each
// does only what that file needs: no lock, no index, the keys from the key cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "codec/compression.h"
#include "repo/repository.h"

namespace coffer {

struct WalPushOutcome {
  std::string name;     // the file's name (%f)
  std::string cluster;  // "<system identifier>-<major>"
  bool already_archived = false;  // the same content was there already (a repeated push)
  uint64_t bytes = 0;   // the file's size
};

// Archives `file` (absolute, or relative to the working folder, where PostgreSQL runs
// archive_command: the data folder) into the archive of the cluster in `data_dir`. A segment
// whose header names another cluster is refused (Error kInput), as is a file that is not a WAL
// file. Returns once the object is durably stored.
WalPushOutcome push_wal_file(Repository& repo, const std::filesystem::path& file,
                             const std::filesystem::path& data_dir, const CompressionSpec& compression);

// Writes WAL file `name` of the cluster in `data_dir` to `destination` (through a temp name in
// its folder, so a killed fetch never leaves part of a file under that name). Returns false
// when the archive does not hold it.
bool fetch_wal_file(Repository& repo, const std::string& name, const std::filesystem::path& data_dir,
                    const std::filesystem::path& destination);

// The compression WAL gets: the repository's codec at its fastest level (PostgreSQL waits for
// every push; WAL compresses about as well at level 1 as at 3).
CompressionSpec wal_compression(const CompressionSpec& configured);

}  // namespace coffer
