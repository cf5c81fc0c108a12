// Which cluster a data folder or a WAL segment belongs to: the system identifier initdb chose
// and the major version. coffer keeps one WAL archive per cluster, so two clusters (or one
// cluster before and after a major upgrade) never mix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "util/bytes.h"

namespace coffer::pg::wal {

struct ClusterId {
  uint64_t system_identifier = 0;
  int major = 0;  // 15 for PostgreSQL 15.x
  // "<system identifier>-<major>", the archive's name in the repository.
  std::string name() const { return std::to_string(system_identifier) + "-" + std::to_string(major); }
  bool operator==(const ClusterId&) const = default;
};

// Reads `data_dir`/global/pg_control (its first 8 bytes: the system identifier) and PG_VERSION.
// Throws Error(kInput) naming the folder and what is missing when it is not a data folder.
ClusterId read_cluster_id(const std::filesystem::path& data_dir);

// The system identifier in a WAL segment's first page (a long page header: xlp_info has
// XLP_LONG_HEADER, xlp_sysid at offset 24); nullopt when the bytes do not start with one.
std::optional<uint64_t> segment_system_identifier(ByteView segment);

}  // namespace coffer::pg::wal
