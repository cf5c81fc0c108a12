// What a physical backup takes from a data folder: what pg_basebackup takes (PostgreSQL's
// basebackup.c excludes), and which files are relations, cut into page-aligned chunks.
// Paths are relative to the data folder, '/'-separated; a tablespace's files are under
// "pg_tblspc/<oid>/" as the symlink there leads to them.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace coffer::pg::physical {

// Whether `path` (a file or folder of the data folder) is left out of a base backup. Folders
// whose contents are left out but which are kept empty (pg_wal, pg_stat_tmp, ...) are not
// excluded themselves: their children are. `unlogged` holds the relations (as relation_id())
// that have an _init fork: only that fork of them is taken; the server rebuilds the rest.
bool excluded(std::string_view path, const std::set<std::string>& unlogged);

struct RelationFile {
  std::string relation;  // the relation's path without fork and segment ("base/5/16384")
  std::string fork;      // "", "fsm", "vm" or "init"
  uint32_t segment = 0;  // the 1 GiB segment: ".1" -> 1
};
// The relation a data file belongs to: base/<db>/<n>, global/<n>, pg_tblspc/<oid>/<version
// folder>/<db>/<n>, each with an optional _fsm, _vm or _init fork and .<segment>. nullopt for
// anything else (including temporary relations t<backend>_<n>, which are excluded).
std::optional<RelationFile> relation_file(std::string_view path);

}  // namespace coffer::pg::physical
