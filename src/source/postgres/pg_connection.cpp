#include "source/postgres/pg_connection.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <sys/mman.h>

#include "coffer/error.h"
#include "util/fd_io.h"

namespace coffer::pg {
namespace {

// A field of a libpq password file: ':' and '\' are escaped with '\'.
std::string passfile_escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Host and user fields: unset matches anything.
std::string passfile_field(const std::string& value) { return value.empty() ? "*" : passfile_escape(value); }

// `line` in a 0600 file that lives only in memory (memfd), closed on exec; returns its descriptor.
// Nothing reaches a disk, and nothing outlives coffer, even when it is killed.
int write_private_memory_file(const std::string& line) {
  int fd = ::memfd_create("coffer-pgpass", MFD_CLOEXEC);
  if (fd < 0)
    fail(ErrorCategory::kInternal, std::string("cannot create the in-memory password file: ") + std::strerror(errno));
  // Started with stdin, stdout or stderr closed (cron can), coffer could get 0-2 here, which a
  // child's own stdin/stdout/stderr would then replace: the child must find it at the same number.
  if (fd < 3) {
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    const int err = errno;
    ::close(fd);
    if (moved < 0)
      fail(ErrorCategory::kInternal, std::string("cannot create the in-memory password file: ") + std::strerror(err));
    fd = moved;
  }
  // libpq ignores a passfile that group or others may read.
  if (::fchmod(fd, 0600) != 0 || write_fully(fd, as_bytes(line)) != 0) {
    const int err = errno;
    ::close(fd);
    fail(ErrorCategory::kInternal, std::string("cannot write the in-memory password file: ") + std::strerror(err));
  }
  return fd;
}

}  // namespace

std::string quote_conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

Connection::Connection(const BackupConfig& config)
    : host_(config.db_host), user_(config.db_user), db_name_(config.db_name), port_(config.db_port) {
  if (db_name_.empty()) fail(ErrorCategory::kConfig, "DB_NAME is not set: set DB_NAME to the database to back up");
  if (port_ < 1 || port_ > 65535)
    fail(ErrorCategory::kConfig, "DB_PORT " + std::to_string(port_) + " is not a port number (1-65535)");
  if (!config.db_password) return;
  const std::string& password = *config.db_password;
  if (password.find_first_of("\r\n") != std::string::npos)
    fail(ErrorCategory::kConfig, "DB_PASSWORD contains a line break, which a libpq password file cannot hold");
  // host:port:database:user:password, matching any database so pg_dumpall and restores into
  // other databases find it too.
  std::string line = passfile_field(host_) + ":" + std::to_string(port_) + ":*:" + passfile_field(user_) + ":" +
                     passfile_escape(password) + "\n";
  passfile_fd_ = write_private_memory_file(line);
  // The same path names the file in coffer (libpq's passfile=) and in a child that keeps the
  // descriptor at the same number (child_spec()): /proc/self/fd/N opens the memfd anew.
  passfile_ = "/proc/self/fd/" + std::to_string(passfile_fd_);
  if (::access(passfile_.c_str(), R_OK) != 0) {
    ::close(passfile_fd_);
    fail(ErrorCategory::kConfig, "cannot hand DB_PASSWORD to libpq: " + passfile_ + " is not readable (" +
                                     std::strerror(errno) + "); coffer needs /proc mounted");
  }
}

Connection::~Connection() {
  if (passfile_fd_ >= 0) ::close(passfile_fd_);
}

ProcessSpec tool_spec(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  // PG*: libpq's own settings (PGSSLMODE, PGSERVICEFILE, ...), which the user may rely on.
  spec.env_allow = std::vector<std::string>{"PATH",   "HOME", "USER",  "LOGNAME",  "LANG",        "LANGUAGE",
                                            "LC_*",   "TZ",   "TZDIR", "TMPDIR",   "PG*",         "KRB5*",
                                            "LD_LIBRARY_PATH"};
  return spec;
}

ProcessSpec Connection::child_spec(std::vector<std::string> argv, const std::string& dbname) const {
  ProcessSpec spec = tool_spec(std::move(argv));
  std::map<std::string, std::string>& env = spec.env_set;
  if (!host_.empty()) env["PGHOST"] = host_;
  env["PGPORT"] = std::to_string(port_);
  if (!user_.empty()) env["PGUSER"] = user_;
  env["PGDATABASE"] = dbname.empty() ? db_name_ : dbname;
  if (passfile_fd_ >= 0) {
    env["PGPASSFILE"] = passfile_;
    spec.keep_fds = {passfile_fd_};
  }
  env["PGAPPNAME"] = "coffer";
  return spec;
}

std::string Connection::conninfo(const std::string& dbname) const {
  std::string info;
  if (!host_.empty()) info += "host=" + quote_conninfo_value(host_) + " ";
  info += "port=" + quote_conninfo_value(std::to_string(port_)) + " ";
  if (!user_.empty()) info += "user=" + quote_conninfo_value(user_) + " ";
  info += "dbname=" + quote_conninfo_value(dbname.empty() ? db_name_ : dbname) + " ";
  if (!passfile_.empty()) info += "passfile=" + quote_conninfo_value(passfile_) + " ";
  info += "application_name='coffer'";
  return info;
}

std::string Connection::describe(const std::string& dbname) const {
  return (host_.empty() ? std::string("localhost") : host_) + ":" + std::to_string(port_) + "/" +
         (dbname.empty() ? db_name_ : dbname);
}

}  // namespace coffer::pg
