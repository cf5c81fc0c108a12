#include "source/postgres/pg_connection.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "coffer/error.h"

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

// Writes `line` to a new 0600 file in the temp folder and returns its path.
std::string write_private_temp_file(const std::string& line) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "coffer-pgpass-XXXXXX").string();
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);  // creates the file with mode 0600
  if (fd < 0)
    fail(ErrorCategory::kStorage, "cannot create a temporary password file in " +
                                      std::filesystem::temp_directory_path().string() + ": " +
                                      std::strerror(errno) + " (set TMPDIR to a writable folder)");
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(tmpl.c_str());
    fail(ErrorCategory::kStorage, "cannot write temporary password file " + tmpl + ": " + std::strerror(err));
  }
  return tmpl;
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
  passfile_ = write_private_temp_file(line);
}

Connection::~Connection() {
  if (!passfile_.empty()) ::unlink(passfile_.c_str());
}

std::map<std::string, std::string> Connection::child_env(const std::string& dbname) const {
  std::map<std::string, std::string> env;
  if (!host_.empty()) env["PGHOST"] = host_;
  env["PGPORT"] = std::to_string(port_);
  if (!user_.empty()) env["PGUSER"] = user_;
  env["PGDATABASE"] = dbname.empty() ? db_name_ : dbname;
  if (!passfile_.empty()) env["PGPASSFILE"] = passfile_;
  env["PGAPPNAME"] = "coffer";
  return env;
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
