#include "source/postgres/wal/wal_names.h"

#include <cstdio>

namespace coffer::pg::wal {
namespace {

bool upper_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

uint64_t hex_value(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = v * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'A' + 10);
  return v;
}

uint64_t segments_per_log(uint64_t segment_bytes) { return 0x100000000ull / segment_bytes; }

}  // namespace

std::optional<FileName> parse_file_name(std::string_view name) {
  FileName f;
  if (name.size() == 16 && name.substr(8) == ".history" && upper_hex(name.substr(0, 8))) {
    f.kind = FileKind::kTimelineHistory;
    f.timeline = static_cast<uint32_t>(hex_value(name.substr(0, 8)));
    return f;
  }
  if (name.size() < 24 || !upper_hex(name.substr(0, 24))) return std::nullopt;
  std::string_view rest = name.substr(24);
  if (rest.empty()) {
    f.kind = FileKind::kSegment;
  } else if (rest == ".partial") {
    f.kind = FileKind::kPartial;
  } else if (rest.size() == 16 && rest[0] == '.' && upper_hex(rest.substr(1, 8)) && rest.substr(9) == ".backup") {
    f.kind = FileKind::kBackupHistory;
  } else {
    return std::nullopt;
  }
  f.timeline = static_cast<uint32_t>(hex_value(name.substr(0, 8)));
  f.log = hex_value(name.substr(8, 8));
  f.seg = static_cast<uint32_t>(hex_value(name.substr(16, 8)));
  return f;
}

uint64_t segment_number(const FileName& f, uint64_t segment_bytes) {
  return f.log * segments_per_log(segment_bytes) + f.seg;
}

std::string segment_name(uint32_t timeline, uint64_t number, uint64_t segment_bytes) {
  const uint64_t per_log = segments_per_log(segment_bytes);
  char buf[25];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<unsigned>(number / per_log),
                static_cast<unsigned>(number % per_log));
  return buf;
}

uint64_t segment_of_lsn(uint64_t lsn, uint64_t segment_bytes) { return lsn / segment_bytes; }

std::optional<uint64_t> parse_lsn(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view hi = text.substr(0, slash), lo = text.substr(slash + 1);
  auto valid = [](std::string_view s) {
    if (s.empty() || s.size() > 8) return false;
    for (char c : s)
      if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))) return false;
    return true;
  };
  if (!valid(hi) || !valid(lo)) return std::nullopt;
  auto value = [](std::string_view s) {
    uint64_t v = 0;
    for (char c : s) v = v * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    return v;
  };
  return (value(hi) << 32) | value(lo);
}

std::string format_lsn(uint64_t lsn) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

}  // namespace coffer::pg::wal
