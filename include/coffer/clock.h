// Wall-clock time for coffer's jobs, with a test hook: when the environment variable COFFER_NOW
// holds an ISO 8601 UTC time ("2024-12-01T02:00:00Z"), job_now() returns it instead of the
// system time, so integration tests can make backups "on" simulated days and run cleanup "later".
// Locks never use it: their times must be comparable across processes (src/repo/repo_lock.h).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace coffer {

using TimePoint = std::chrono::system_clock::time_point;

// COFFER_NOW when set, else the system clock. Throws Error(kConfig) naming COFFER_NOW when it
// is set but not a valid time.
TimePoint job_now();

// "2024-12-01T02:00:00.123456Z": UTC with microseconds (the format backups and locks use).
std::string format_iso8601_utc(TimePoint t);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (UTC only, as coffer writes it). nullopt when invalid.
std::optional<TimePoint> parse_iso8601_utc(const std::string& text);

}  // namespace coffer
