// The names of the files PostgreSQL archives (archive_command's %f) and the arithmetic behind
// them: a segment name is timeline, log and segment number, 8 hex digits each; a timeline's
// history file is "<TLI>.history"; a backup history file "<segment>.<offset>.backup"; a partial
// segment (left by a promotion) "<segment>.partial".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coffer::pg::wal {

enum class FileKind { kSegment, kPartial, kBackupHistory, kTimelineHistory };

struct FileName {
  FileKind kind = FileKind::kSegment;
  uint32_t timeline = 0;
  // kSegment, kPartial, kBackupHistory: the 16 hex digits after the timeline (log and segment),
  // as a number: with segments of 16 MiB, log * 256 + segment.
  uint64_t log = 0;
  uint32_t seg = 0;
};

// nullopt for anything that is not one of the four kinds, in upper-case hex as PostgreSQL
// writes them (and so for any path trick: '/', "..").
std::optional<FileName> parse_file_name(std::string_view name);

// The segment number (log * segments per log + seg) of a segment-kind name, for ordering and gaps.
uint64_t segment_number(const FileName& f, uint64_t segment_bytes);
// The name of segment `number` on `timeline`.
std::string segment_name(uint32_t timeline, uint64_t number, uint64_t segment_bytes);
// The segment that holds `lsn`.
uint64_t segment_of_lsn(uint64_t lsn, uint64_t segment_bytes);

// "16/B374D848" <-> 0x16B374D848. nullopt when not two hex numbers of at most 8 digits.
std::optional<uint64_t> parse_lsn(std::string_view text);
std::string format_lsn(uint64_t lsn);

}  // namespace coffer::pg::wal
