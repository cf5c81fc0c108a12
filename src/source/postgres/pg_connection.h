// How to reach the database: DB_* settings, with libpq's own ways (PG* variables, PGPASSFILE,
// ~/.pgpass, sslmode) still working underneath. The password never appears in argv, logs,
// messages or on disk: libpq reads it from a 0600 passfile in memory (a memfd) that lives as
// long as this object; children get it through PGPASSFILE and a descriptor they keep.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coffer/backup_config.h"
#include "util/subprocess.h"

namespace coffer::pg {

class Connection {
 public:
  // Uses config.db_host/db_port/db_name/db_user/db_password. Throws Error(kConfig) when DB_NAME
  // is empty ("set DB_NAME to the database to back up").
  explicit Connection(const BackupConfig& config);
  ~Connection();  // closes the passfile (nothing else holds it then: it is gone)
  Connection(const Connection&) = delete;  // one owner for the passfile
  Connection& operator=(const Connection&) = delete;

  // How to run pg_dump / pg_restore / psql (`argv`) against `dbname` (or DB_NAME): tool_spec()'s
  // environment with PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSFILE when a password is set, PGAPPNAME=coffer
  // (never PGPASSWORD), and the passfile's descriptor kept for the child, without which
  // PGPASSFILE names nothing.
  ProcessSpec child_spec(std::vector<std::string> argv, const std::string& dbname = "") const;
  // A libpq conninfo string for `dbname` (or DB_NAME). It names the passfile (passfile=...)
  // rather than holding the password, so it is safe to keep around; still never log it.
  std::string conninfo(const std::string& dbname = "") const;

  const std::string& db_name() const { return db_name_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  // "host:port/dbname" for messages.
  std::string describe(const std::string& dbname = "") const;
  // The passfile's path, /proc/self/fd/N ("" without DB_PASSWORD); for tests and messages.
  const std::string& passfile() const { return passfile_; }

 private:
  std::string host_, user_, db_name_;
  int port_ = 5432;
  int passfile_fd_ = -1;  // -1 when no password was configured
  std::string passfile_;  // "" when no password was configured
};

// A ProcessSpec for a PostgreSQL client tool that passes on only what such a tool needs from
// coffer's environment (PATH, locale, TZ, HOME, TMPDIR, the PG* and Kerberos settings of libpq,
// LD_LIBRARY_PATH): never BACKUP_PASSPHRASE, DB_PASSWORD, AWS_* or any other secret coffer reads.
ProcessSpec tool_spec(std::vector<std::string> argv);

// `value` as a single-quoted libpq conninfo value (backslash-escapes ' and \).
std::string quote_conninfo_value(const std::string& value);

}  // namespace coffer::pg
