#include "source/postgres/wal/cluster_id.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "coffer/error.h"

namespace coffer::pg::wal {
namespace {

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

ClusterId read_cluster_id(const std::filesystem::path& data_dir) {
  const std::string why = " (DB_DATA_DIR or --pgdata names the cluster's data folder)";
  ClusterId id;
  {
    std::ifstream version(data_dir / "PG_VERSION");
    if (!version)
      fail(ErrorCategory::kInput, data_dir.string() + " is not a PostgreSQL data folder: no readable PG_VERSION" + why);
    std::string text;
    std::getline(version, text);
    try {
      size_t used = 0;
      id.major = std::stoi(text, &used);
      if (used != text.size() || id.major < 9) throw std::invalid_argument("range");
    } catch (const std::exception&) {
      fail(ErrorCategory::kInput, data_dir.string() + "/PG_VERSION does not hold a major version ('" + text + "')");
    }
  }
  std::ifstream control(data_dir / "global" / "pg_control", std::ios::binary);
  uint8_t head[8];
  if (!control || !control.read(reinterpret_cast<char*>(head), sizeof head))
    fail(ErrorCategory::kInput,
         "cannot read " + (data_dir / "global" / "pg_control").string() + ": " + std::strerror(errno) + why);
  id.system_identifier = le64(head);
  return id;
}

std::optional<uint64_t> segment_system_identifier(ByteView segment) {
  constexpr uint16_t kLongHeader = 0x0002;  // XLP_LONG_HEADER
  if (segment.size() < 40) return std::nullopt;
  const uint16_t info = static_cast<uint16_t>(segment[2] | (segment[3] << 8));
  if (!(info & kLongHeader)) return std::nullopt;
  return le64(segment.data() + 24);
}

}  // namespace coffer::pg::wal
