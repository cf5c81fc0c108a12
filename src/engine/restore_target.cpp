#include "engine/restore_target.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "coffer/error.h"
#include "util/host.h"
#include "source/postgres/pg_catalog.h"

namespace coffer {
namespace {

// The comment a scratch database carries while its restore or drill runs: what the sweep of a
// later run looks for (with this host and a pid that is gone).
constexpr const char* kInProgress = "coffer restore in progress: ";
constexpr const char* kDrillInProgress = "coffer drill in progress: ";
constexpr const char* kReplacedPrefix = "coffer_replaced_";

std::string random_suffix() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}

// The maintenance database to run CREATE / RENAME / DROP DATABASE from: never the one renamed.
std::string admin_db_for(const std::string& dbname) { return dbname == "postgres" ? "template1" : "postgres"; }

std::string joined(const std::vector<std::string>& items, size_t max) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += ", ...";
  return out;
}

// "key=value" out of a marker comment ("" when absent).
std::string marker_field(const std::string& comment, const std::string& key) {
  size_t at = comment.find(" " + key + "=");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  return comment.substr(at, comment.find(' ', at) - at);
}

// Drops `name`, ending the sessions still on it where the server can (PostgreSQL 13+): only for
// coffer's own scratch databases.
void drop_scratch(pg::Session& admin, const std::string& name) {
  std::string sql = "DROP DATABASE IF EXISTS " + pg::sql_identifier(name);
  if (admin.server_version_num() >= 130000) sql += " WITH (FORCE)";
  admin.execute(sql);
}

// Removes the scratch databases that restores (or, for a drill, drills) of this host, no longer
// running, left (a drill's may have any name: --scratch-db). Each kind sweeps its own: a killed
// restore's copy stays for the next restore, which says so where it is looked for.
void sweep_scratch_databases(pg::Session& admin, const std::function<void(const std::string&)>& warn, bool drill) {
  auto rows = admin.query_rows(
      "SELECT datname, coalesce(pg_catalog.shobj_description(oid, 'pg_database'), '') FROM pg_catalog.pg_database "
      "WHERE pg_catalog.shobj_description(oid, 'pg_database') LIKE 'coffer % in progress: %' ORDER BY datname");
  for (const auto& row : rows) {
    const std::string& name = row[0];
    const std::string& comment = row[1];
    const bool restore = comment.rfind(kInProgress, 0) == 0 && name.rfind(kScratchDatabasePrefix, 0) == 0;
    if (drill ? comment.rfind(kDrillInProgress, 0) != 0 : !restore) continue;  // another kind's, kept, or not ours
    const int64_t pid = std::strtoll(marker_field(comment, "pid").c_str(), nullptr, 10);
    if (marker_field(comment, "host") != this_host() || !process_gone(pid)) continue;
    try {
      drop_scratch(admin, name);
      if (warn)
        warn("dropped database " + name + ", the scratch database of a " + (restore ? "restore" : "drill") +
             " that was killed (" + comment + ")");
    } catch (const Error& e) {
      if (warn) warn("cannot drop database " + name + " that a killed restore left: " + e.what());
    }
  }
}

// Other sessions on `name`, waiting up to `patience` for them to end.
std::vector<std::string> sessions_after(pg::Session& admin, const std::string& name, std::chrono::seconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (true) {
    std::vector<std::string> s = admin.sessions_on(name);
    if (s.empty() || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

RestoreTarget::RestoreTarget(const pg::Connection& conn, Request request,
                             const std::function<void(const std::string&)>& warn)
    : conn_(conn), request_(std::move(request)), warn_(warn) {
  const std::string& db = request_.dbname;
  pg::Session admin(conn_, admin_db_for(db));
  sweep_scratch_databases(admin, warn_, request_.drill);
  if (request_.drill) {
    start_drill(admin);
    return;
  }
  target_existed_ = admin.database_exists(db);
  if (target_existed_) {
    {
      pg::Session target(conn_, db);
      if (target.has_user_tables() && !request_.clean)
        fail(ErrorCategory::kInput, "database " + db + " on " + conn_.describe(db) +
                                        " already has tables: restore into a new database with --target-db NAME, "
                                        "or replace its contents with --clean");
    }
    bool may_swap = admin.query_rows(
                             "SELECT r.rolsuper OR (r.rolcreatedb AND pg_catalog.pg_has_role(current_user, d.datdba, "
                             "'MEMBER')) FROM pg_catalog.pg_roles r, pg_catalog.pg_database d "
                             "WHERE r.rolname = current_user AND d.datname = $1",
                             {db})
                        .at(0)
                        .at(0) == "t";
    if (request_.some_tables) {
      in_place_ = true;
    } else if (!may_swap) {
      in_place_ = true;
      if (warn_)
        warn_("restoring into " + db + " in place, in one transaction (pg_restore --single-transaction, one job): " +
              (conn_.user().empty() ? std::string("the connecting user") : "user " + conn_.user()) +
              " may not create and rename databases owned by its owner, which the faster way (a scratch database "
              "renamed into place) needs");
    } else {
      // A session that just closed (ours above, a script's) stays listed for a moment.
      std::vector<std::string> busy = sessions_after(admin, db, std::chrono::seconds(3));
      if (!busy.empty())
        fail(ErrorCategory::kInput,
             std::to_string(busy.size()) + " session(s) are connected to database " + db + " (pid " +
                 joined(busy, 5) + "): coffer puts the restored database in its place by renaming, which PostgreSQL "
                 "allows only when nobody is connected. Stop the application (or end the sessions: SELECT "
                 "pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "') and run the restore again");
      props_ = pg::read_database_props(admin, db);
    }
  }
  if (in_place_) {
    into_ = db;
    return;
  }
  into_ = kScratchDatabasePrefix + random_suffix();
  admin.execute(target_existed_ ? pg::create_database_sql(into_, props_)
                                : "CREATE DATABASE " + pg::sql_identifier(into_) + " TEMPLATE template0");
  try {
    admin.execute("COMMENT ON DATABASE " + pg::sql_identifier(into_) + " IS " +
                  pg::sql_literal(std::string(kInProgress) + "backup=" + request_.backup_id + " target=" + db +
                                  " host=" + this_host() + " pid=" + std::to_string(::getpid())));
  } catch (...) {
    drop_scratch(admin, into_);
    throw;
  }
}

void RestoreTarget::start_drill(pg::Session& admin) {
  into_ = request_.scratch.empty() ? kDrillDatabasePrefix + random_suffix() : request_.scratch;
  if (admin.database_exists(into_))
    fail(ErrorCategory::kInput, "database " + into_ + " on " + conn_.describe(into_) +
                                    " exists and is not the scratch database of a drill that was killed: a drill "
                                    "only writes to a database it creates; name a new one with --scratch-db, or "
                                    "leave it out (coffer_drill_<random>)");
  admin.execute("CREATE DATABASE " + pg::sql_identifier(into_) + " TEMPLATE template0");
  try {
    admin.execute("COMMENT ON DATABASE " + pg::sql_identifier(into_) + " IS " +
                  pg::sql_literal(std::string(kDrillInProgress) + "backup=" + request_.backup_id +
                                  " host=" + this_host() + " pid=" + std::to_string(::getpid())));
  } catch (...) {
    drop_scratch(admin, into_);
    throw;
  }
}

RestoreTarget::~RestoreTarget() {
  if (done_ || in_place_ || into_.empty()) return;
  try {
    pg::Session admin(conn_, admin_db_for(request_.dbname));
    drop_scratch(admin, into_);
  } catch (const std::exception& e) {
    if (warn_)
      warn_("cannot drop the scratch database " + into_ + ": " + e.what() + " (the next " +
            (request_.drill ? "drill" : "restore") + " of this host drops it)");
  }
}

std::string RestoreTarget::method() const {
  if (request_.drill) return "into a scratch database, dropped afterwards";
  if (in_place_) return "in place, in one transaction";
  return target_existed_ ? "into a scratch database, then swapped into place" : "into a scratch database, then renamed";
}

void RestoreTarget::commit() {
  if (request_.drill) fail(ErrorCategory::kInternal, "a drill's scratch database is never committed");
  if (done_) return;
  if (in_place_) {
    done_ = true;
    return;
  }
  const std::string& db = request_.dbname;
  pg::Session admin(conn_, admin_db_for(db));
  if (target_existed_) {
    for (const std::string& sql : pg::finish_database_sql(into_, props_)) admin.execute(sql);
  } else {
    admin.execute("COMMENT ON DATABASE " + pg::sql_identifier(into_) + " IS NULL");
  }
  const std::string finish_by_hand =
      "the restored database is kept as " + into_ + "; to finish by hand: ALTER DATABASE " + pg::sql_identifier(db) +
      " RENAME TO " + pg::sql_identifier(db + "_old") + "; ALTER DATABASE " + pg::sql_identifier(into_) +
      " RENAME TO " + pg::sql_identifier(db);
  if (!target_existed_) {
    done_ = true;  // from here on, a failure keeps the restored database (the message names it)
    try {
      admin.execute("ALTER DATABASE " + pg::sql_identifier(into_) + " RENAME TO " + pg::sql_identifier(db));
    } catch (const Error& e) {
      fail(ErrorCategory::kDatabase, std::string("cannot give the restored database its name: ") + e.what() +
                                         "; it is kept as " + into_ + ": rename it with ALTER DATABASE " +
                                         pg::sql_identifier(into_) + " RENAME TO " + pg::sql_identifier(db));
    }
    return;
  }
  done_ = true;  // from here on, a failure keeps the restored database (the message names it)
  std::vector<std::string> busy = sessions_after(admin, db, std::chrono::seconds(10));
  if (!busy.empty())
    fail(ErrorCategory::kInput, "database " + db + " was left as it was: " + std::to_string(busy.size()) +
                                    " session(s) connected to it while the restore ran (pid " + joined(busy, 5) +
                                    ") and did not end within 10 s; " + finish_by_hand +
                                    " (once nobody is connected), then drop the old one");
  const std::string replaced = kReplacedPrefix + random_suffix();
  // Both renames in one transaction: the target's name always names a whole database.
  try {
    admin.execute("BEGIN");
    admin.execute("ALTER DATABASE " + pg::sql_identifier(db) + " RENAME TO " + pg::sql_identifier(replaced));
    admin.execute("ALTER DATABASE " + pg::sql_identifier(into_) + " RENAME TO " + pg::sql_identifier(db));
    admin.execute("COMMIT");
  } catch (const Error& e) {
    try {
      admin.execute("ROLLBACK");
    } catch (const Error&) {
      // ignored on purpose: the rename's own error is the one to report
    }
    fail(ErrorCategory::kDatabase, "database " + db + " was left as it was: cannot swap the restored database in (" +
                                       e.what() + "); " + finish_by_hand);
  }
  try {
    admin.execute("DROP DATABASE " + pg::sql_identifier(replaced));
  } catch (const Error& e) {
    if (warn_)
      warn_("the replaced database is kept as " + replaced + " (" + e.what() + "): drop it with DROP DATABASE " +
            pg::sql_identifier(replaced));
  }
}

std::string RestoreTarget::keep_for_inspection(const std::string& why) {
  if (done_ || in_place_ || request_.drill) return "";
  done_ = true;
  pg::Session admin(conn_, admin_db_for(request_.dbname));
  admin.execute("COMMENT ON DATABASE " + pg::sql_identifier(into_) + " IS " +
                pg::sql_literal("coffer restore of backup " + request_.backup_id + " into " + request_.dbname +
                                ", kept for inspection: " + why));
  return into_;
}

std::string RestoreTarget::state_after_failure() const {
  const std::string& db = request_.dbname;
  if (request_.drill) return "the drill's scratch database " + into_ + " is dropped";
  if (in_place_) return "database " + db + " was left as it was (the restore ran in one transaction, rolled back)";
  if (target_existed_)
    return "database " + db + " was left as it was (the restore went into a scratch database, which was dropped)";
  return "database " + db + " was not created (the restore went into a scratch database, which was dropped)";
}

}  // namespace coffer
