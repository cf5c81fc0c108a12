// Where a database restore writes, and how its result takes the target's place: never by
// emptying the target first. A whole-database restore goes into a scratch database
// (coffer_restore_<hex>) that takes the target's name only after pg_restore and the row-count
// check succeeded, in one transaction of two renames; the replaced database is dropped
// afterwards. A failure leaves the target exactly as it was and drops the scratch database.
// When the scratch way cannot be taken (some tables only, into a database that stays; or a user
// who may not create or rename databases), pg_restore runs in one transaction (-1, so -j1) in
// the target itself: a failure rolls everything back.
// A drill (engine/drill_job.h) restores into a scratch database of its own that is never
// committed: it is checked, then dropped, whatever happened; the target is not looked at.
#pragma once

#include <functional>
#include <string>

#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_database_props.h"

namespace coffer {
namespace pg {
class Session;
}

class RestoreTarget {
 public:
  struct Request {
    std::string dbname;     // the database to restore into (created when missing)
    bool clean = false;     // replace a database that has tables
    bool some_tables = false;  // --table: the rest of the target stays
    std::string backup_id;  // for the scratch database's comment
    // A drill: restore into `scratch` (coffer_drill_<hex> when empty), a database that must not
    // exist; dbname is then only the database the backup came from.
    bool drill = false;
    std::string scratch;
  };
  // Checks the target and prepares the scratch database. Throws Error(kInput) when the target has
  // tables and !clean, or when another session uses a database that would be replaced;
  // Error(kDatabase) when PostgreSQL refuses. Scratch databases that killed restores of this host
  // left behind are dropped first by a restore, those of killed drills by a drill (each one
  // reported through `warn`). A drill's scratch name that exists (and is not such a leftover)
  // throws Error(kInput).
  RestoreTarget(const pg::Connection& conn, Request request, const std::function<void(const std::string&)>& warn);
  ~RestoreTarget();  // drops the scratch database unless committed or kept (a drill's: always)
  RestoreTarget(const RestoreTarget&) = delete;
  RestoreTarget& operator=(const RestoreTarget&) = delete;

  // The database pg_restore writes to (the scratch one, or the target in place).
  const std::string& restore_into() const { return into_; }
  // In place: pg_restore must run as one transaction (--single-transaction, one job).
  bool single_transaction() const { return in_place_; }
  // "into a scratch database, then renamed into place" / "in place, in one transaction".
  std::string method() const;

  // The restore succeeded: the scratch database gets the target's properties and takes its name;
  // the replaced database is dropped (a warning, not an error, when that fails). Throws
  // Error(kInput) when sessions keep the target busy: the restored copy is then kept under its
  // scratch name, and the message says how to finish by hand.
  void commit();
  // The restore finished but is not trusted (row counts differ): the scratch database is kept for
  // inspection, marked so that no sweep removes it. Returns its name ("" in place).
  std::string keep_for_inspection(const std::string& why);
  // What a failure message adds: the target's state after this restore gave up.
  std::string state_after_failure() const;

 private:
  const pg::Connection& conn_;
  Request request_;
  std::function<void(const std::string&)> warn_;
  bool target_existed_ = false;
  bool in_place_ = false;
  bool done_ = false;   // committed, or kept for inspection
  std::string into_;
  pg::DatabaseProps props_;  // the target's, when it existed

  void start_drill(pg::Session& admin);  // creates the drill's scratch database, marked as in progress
};

// The scratch databases' name prefixes (coffer_restore_<hex>, coffer_drill_<hex>).
inline constexpr const char* kScratchDatabasePrefix = "coffer_restore_";
inline constexpr const char* kDrillDatabasePrefix = "coffer_drill_";

}  // namespace coffer
