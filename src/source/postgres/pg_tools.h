// Finds pg_dump, pg_dumpall, pg_restore and psql, and checks their versions against the server.
// Debian installs one set per major version under /usr/lib/postgresql/<major>/bin; we pick the
// newest one whose major version is >= the server's (pg_dump must not be older than the server).
#pragma once

#include <string>
#include <vector>

namespace coffer::pg {

struct Tools {
  std::string bin_dir;      // folder holding the binaries
  int major = 0;            // their major version, e.g. 15
  std::string version;      // "pg_dump (PostgreSQL) 15.18" → "15.18"
  std::string pg_dump() const { return bin_dir + "/pg_dump"; }
  std::string pg_dumpall() const { return bin_dir + "/pg_dumpall"; }
  std::string pg_restore() const { return bin_dir + "/pg_restore"; }
  std::string psql() const { return bin_dir + "/psql"; }
};

// `server_version_num` as from Session::server_version_num() (e.g. 150018). Throws
// Error(kDatabase) when no pg_dump is found, or when the newest is older than the server:
// "pg_dump 13.4 is older than the server (15.18): install postgresql-client-15".
// Respects COFFER_PG_BIN (a folder) when set, for unusual installs.
Tools find_tools(int server_version_num);

// Major version of a server_version_num: 150018 -> 15; 90624 -> 9.
int major_of(int server_version_num);

// The pieces of find_tools, exposed for tests.
// "15.18" -> 150018, "9.6.24" -> 90624, "16beta1" -> 160000; 0 when not a version.
int version_num_of(const std::string& version);
// 150018 -> "15.18", 90624 -> "9.6.24".
std::string version_text(int version_num);
// Reads `pg_dump --version` output ("pg_dump (PostgreSQL) 15.18 (Debian ...)") into
// tools.version and tools.major; false when it is not one.
bool parse_tool_version(const std::string& output, Tools* tools);
// Folders holding a pg_dump: <pg_lib_root>/<major>/bin (newest first), then those on `path_env`.
std::vector<std::string> candidate_dirs(const std::string& pg_lib_root, const std::string& path_env);
// The newest candidate, if it is not older than the server; else throws Error(kDatabase).
Tools select_tools(const std::vector<Tools>& candidates, int server_version_num);
// Runs <dir>/pg_dump --version for each folder and selects among them.
Tools find_tools_in(const std::vector<std::string>& dirs, int server_version_num);

// The end of a tool's stderr, where it says why it failed, on as few lines as it takes (for
// error messages: at most 2000 characters, newlines made spaces, "(no message)" when empty).
std::string tool_message(const std::string& stderr_text);

}  // namespace coffer::pg
