// Where a point-in-time restore stops, and the recovery settings that tell PostgreSQL (12+:
// postgresql.auto.conf and recovery.signal). A time must carry its UTC offset: an ambiguous
// time restores the wrong moment (pgBackRest #2452, #2117), so one without is refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "coffer/clock.h"

namespace coffer::pg::physical {

struct RecoveryTarget {
  enum class Kind { kLatest, kImmediate, kTime, kLsn, kXid, kName };
  Kind kind = Kind::kLatest;
  std::optional<TimePoint> time;  // kTime, in UTC
  std::optional<uint64_t> lsn;    // kLsn
  std::string xid;                // kXid: a transaction id (digits)
  std::string name;               // kName: a restore point (pg_create_restore_point)
  std::string action = "pause";   // recovery_target_action: pause, promote or shutdown
  std::string timeline = "latest";  // recovery_target_timeline: latest, current or a number
};

// "2026-12-05 10:42:17+01", "2026-12-05T10:42:17.25Z", "2026-12-05 10:42:17 -05:30". Throws
// Error(kInput) naming the text: without an offset, or not a time.
TimePoint parse_target_time(const std::string& text);

// Checks the parts that are text (xid digits, a name without quotes or newlines, action,
// timeline); throws Error(kInput) naming the option and what it takes.
void validate(const RecoveryTarget& target);

// The lines to append to postgresql.auto.conf: restore_command, recovery_target_* and
// recovery_target_action, recovery_target_timeline. `restore_command` is used as given (it may
// hold quotes: they are escaped for the configuration file). The target kinds not used are set
// empty (before the one used: PostgreSQL refuses a second target once one is set), so a target
// left in postgresql.conf does not apply as well.
std::string recovery_settings(const RecoveryTarget& target, const std::string& restore_command);

// `conf` (the postgresql.auto.conf a backup brought along) with the settings recovery_settings
// writes commented out. A cluster restored before still holds that restore's settings (PostgreSQL
// leaves them after promotion): its old target would otherwise stop the new recovery early.
std::string without_recovery_settings(const std::string& conf);

// What the target is, for messages and --json ("time 2026-12-05 09:42:17.000000+00").
std::string describe(const RecoveryTarget& target);

}  // namespace coffer::pg::physical
