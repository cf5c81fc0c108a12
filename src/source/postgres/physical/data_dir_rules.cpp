#include "source/postgres/physical/data_dir_rules.h"

#include <algorithm>
#include <array>
#include <vector>

namespace coffer::pg::physical {
namespace {

// Folders kept empty: their contents are rebuilt or not needed by a restored server.
constexpr std::array<std::string_view, 9> kEmptiedFolders = {
    "pg_wal", "pg_dynshmem", "pg_notify", "pg_replslot", "pg_serial",
    "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_xlog"};
// Files left out wherever they are in the top folder.
constexpr std::array<std::string_view, 11> kExcludedTopFiles = {
    "postmaster.pid", "postmaster.opts", "recovery.signal", "standby.signal", "backup_label",
    "backup_label.old", "tablespace_map", "tablespace_map.old", "backup_manifest", "recovery.conf",
    "pg_control.old"};

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// "t3_16384" (a temporary relation of backend 3), with fork and segment suffixes.
bool temporary_relation(std::string_view name) {
  if (name.size() < 4 || name[0] != 't') return false;
  const size_t us = name.find('_');
  if (us == std::string_view::npos || !all_digits(name.substr(1, us - 1))) return false;
  std::string_view rest = name.substr(us + 1);
  return !rest.empty() && rest[0] >= '0' && rest[0] <= '9';
}

}  // namespace

std::optional<RelationFile> relation_file(std::string_view path) {
  const std::vector<std::string_view> p = split(path);
  std::string_view name;
  size_t folder_parts = 0;
  if (p.size() == 3 && p[0] == "base" && all_digits(p[1])) {
    name = p[2];
    folder_parts = 2;
  } else if (p.size() == 2 && p[0] == "global") {
    name = p[1];
    folder_parts = 1;
  } else if (p.size() == 5 && p[0] == "pg_tblspc" && all_digits(p[1]) && starts_with(p[2], "PG_") && all_digits(p[3])) {
    name = p[4];
    folder_parts = 4;
  } else {
    return std::nullopt;
  }
  RelationFile r;
  std::string_view base = name;
  if (const size_t dot = base.find('.'); dot != std::string_view::npos) {
    std::string_view seg = base.substr(dot + 1);
    if (!all_digits(seg) || seg.size() > 9) return std::nullopt;
    r.segment = static_cast<uint32_t>(std::stoul(std::string(seg)));
    base = base.substr(0, dot);
  }
  if (const size_t us = base.find('_'); us != std::string_view::npos) {
    r.fork = std::string(base.substr(us + 1));
    if (r.fork != "fsm" && r.fork != "vm" && r.fork != "init") return std::nullopt;
    base = base.substr(0, us);
  }
  if (!all_digits(base)) return std::nullopt;
  std::string folder;
  for (size_t i = 0; i < folder_parts; ++i) folder += std::string(p[i]) + "/";
  r.relation = folder + std::string(base);
  return r;
}

bool excluded(std::string_view path, const std::set<std::string>& unlogged) {
  const std::vector<std::string_view> p = split(path);
  if (p.empty() || p[0].empty()) return false;
  // The contents of the emptied folders (the folders themselves stay).
  if (p.size() >= 2 && std::find(kEmptiedFolders.begin(), kEmptiedFolders.end(), p[0]) != kEmptiedFolders.end())
    return true;
  if (p.size() == 1 && std::find(kExcludedTopFiles.begin(), kExcludedTopFiles.end(), p[0]) != kExcludedTopFiles.end())
    return true;
  const std::string_view name = p.back();
  // Temp files and folders anywhere (pgsql_tmp in base/ and in tablespaces), the relation
  // cache init files (rebuilt at start).
  for (std::string_view part : p)
    if (starts_with(part, "pgsql_tmp")) return true;
  if (starts_with(name, "pg_internal.init")) return true;
  if (p.size() >= 2 && temporary_relation(name)) return true;
  if (std::optional<RelationFile> r = relation_file(path); r && r->fork != "init" && unlogged.count(r->relation))
    return true;
  return false;
}

}  // namespace coffer::pg::physical
