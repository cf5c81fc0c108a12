// One entry of a backed-up file tree, as stored in a backup's tree stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "repo/chunk_id.h"

namespace coffer::files {

enum class EntryType { kDirectory, kFile, kSymlink, kHardlink };

struct FileEntry {
  // Path inside the backup: '/'-separated, relative, no "." or ".." components, no empty
  // components. The first component is the name of the backup root (e.g. "uploads").
  // May contain any byte but '/' and NUL (spaces, unicode, newlines, invalid UTF-8).
  std::string path;
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;      // permission bits (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;   // change detection only; not restored
  uint64_t inode = 0;     // change detection only
  uint64_t dev = 0;       // change detection only
  uint64_t size = 0;      // regular files: bytes
  std::string link_target;      // kSymlink: the link's target, verbatim
  std::string hardlink_target;  // kHardlink: path (inside the backup) of the first link
  std::vector<ChunkRef> chunks; // kFile: content, in order; sizes sum to `size`
};

// JSON form used in tree streams. Non-UTF-8 strings are stored hex-encoded under a "_hex" key.
nlohmann::json to_json(const FileEntry& e);
// Validates everything: throws Error(kDamaged) on a missing/ill-typed field, a path that is
// absolute or has "..", ".", empty or NUL components, chunk sizes that do not sum to size,
// or absurd values. A hostile manifest must not get past this.
FileEntry from_json(const nlohmann::json& j);

// True when `path` is a safe relative path per the rules above.
bool is_safe_relative_path(const std::string& path);

// File names are arbitrary bytes: control characters (and '\\') are escaped as \\xNN so that
// messages naming a file stay on one line.
std::string display_path(std::string_view s);

}  // namespace coffer::files
