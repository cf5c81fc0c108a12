// How to reach the database: DB_* settings, with libpq's own ways (PG* variables, PGPASSFILE,
// ~/.pgpass, sslmode) still working underneath. The password never appears in argv, logs or
// messages: children get it through a 0600 temporary passfile (PGPASSFILE) that lives as long
// as this object.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "coffer/backup_config.h"

namespace coffer::pg {

class Connection {
 public:
  // Uses config.db_host/db_port/db_name/db_user/db_password. Throws Error(kConfig) when DB_NAME
  // is empty ("set DB_NAME to the database to back up").
  explicit Connection(const BackupConfig& config);
  ~Connection();  // removes the temporary passfile
  Connection(const Connection&) = delete;  // one owner for the passfile
  Connection& operator=(const Connection&) = delete;

  // Environment for pg_dump / pg_restore / psql: PGHOST, PGPORT, PGUSER, PGDATABASE (= `dbname`
  // or DB_NAME), PGPASSFILE when a password is set, PGAPPNAME=coffer. Never PGPASSWORD.
  std::map<std::string, std::string> child_env(const std::string& dbname = "") const;
  // A libpq conninfo string for `dbname` (or DB_NAME). It names the passfile (passfile=...)
  // rather than holding the password, so it is safe to keep around; still never log it.
  std::string conninfo(const std::string& dbname = "") const;

  const std::string& db_name() const { return db_name_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  // "host:port/dbname" for messages.
  std::string describe(const std::string& dbname = "") const;
  // The temporary passfile ("" without DB_PASSWORD); for tests.
  const std::string& passfile() const { return passfile_; }

 private:
  std::string host_, user_, db_name_;
  int port_ = 5432;
  std::string passfile_;  // "" when no password was configured
};

// `value` as a single-quoted libpq conninfo value (backslash-escapes ' and \).
std::string quote_conninfo_value(const std::string& value);

}  // namespace coffer::pg
