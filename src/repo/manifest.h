// A backup's manifest: the commit point of a backup (DESIGN.md invariant 3). Stored sealed
// ("manifest") as JSON at snapshots/<backup id>, written only after every chunk it refers to
// is in a pack listed by an index file.
#pragma once

#include <string>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "coffer/backup_types.h"
#include "repo/chunk_id.h"

namespace coffer {

struct ManifestRoot {
  std::string name;    // first path component inside the backup
  std::string source;  // absolute path it was read from
};

// The database part: a pg_dump custom-format archive (and, when readable, the globals) stored
// as chunk streams, with what the server said about itself at backup time.
struct DatabasePart {
  DatabaseInfo info;
  // The dump is cut into small chunks (dedup of scattered row changes), so its chunk list is
  // long; it is stored as a stream of its own (see repo/tree_stream.h) and the manifest keeps
  // only that stream's chunks. `dump` is filled by whoever loads the list.
  std::vector<ChunkRef> dump_list;
  std::vector<ChunkRef> dump;     // pg_dump --format=custom stream (not serialized)
  std::vector<ChunkRef> globals;  // pg_dumpall --globals-only SQL (empty when not included)
  // Offset in the dump of each entry's data block, by dump id, so a restore can read one
  // table's data alone. Empty when the dump could not be walked, or the backup is older.
  std::map<int64_t, uint64_t> data_blocks;
};

// The physical part: the data folder (root "pgdata") and each tablespace (root "tblspc-<oid>")
// as one tree stream, like the files part's, with what recovery needs from pg_backup_stop.
struct PhysicalPart {
  PhysicalInfo info;
  std::vector<ChunkRef> tree;  // chunks of the tree stream (JSON lines of files::FileEntry)
  std::string backup_label;    // written into the restored data folder, never the live one
  std::string tablespace_map;
  struct Tablespace {
    std::string oid;
    std::string location;  // at backup time
  };
  std::vector<Tablespace> tablespaces;
};

struct Manifest {
  int format_version = 1;
  BackupInfo info;
  std::vector<ManifestRoot> roots;
  std::vector<ChunkRef> tree;   // chunks of the tree stream (JSON lines of files::FileEntry)
  std::optional<DatabasePart> database;
  std::optional<PhysicalPart> physical;
  nlohmann::json metadata = nlohmann::json::object();  // compression, encryption, tool version
};

nlohmann::json manifest_to_json(const Manifest& m);
// Validates types and values; throws Error(kDamaged) naming `what`.
Manifest manifest_from_json(const nlohmann::json& j, const std::string& what);

std::string manifest_key(const std::string& backup_id);  // "snapshots/<id>"

// True for ids made by make_backup_id (letters, digits, '_' only; no path tricks).
bool is_valid_backup_id(const std::string& id);

}  // namespace coffer
