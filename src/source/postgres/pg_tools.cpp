#include "source/postgres/pg_tools.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "coffer/error.h"
#include "source/postgres/pg_connection.h"
#include "util/subprocess.h"

namespace coffer::pg {
namespace {

namespace fs = std::filesystem;

bool has_pg_dump(const std::string& dir) {
  std::error_code ec;
  std::string path = dir + "/pg_dump";
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// Reads a decimal number at `pos`, advancing it; -1 when there is none.
int read_number(const std::string& s, size_t& pos) {
  if (pos >= s.size() || !std::isdigit(static_cast<unsigned char>(s[pos]))) return -1;
  int n = 0;
  for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos)
    if (n < 100000) n = n * 10 + (s[pos] - '0');
  return n;
}

// Comparable release level: 15.x -> 1500, 9.6.x -> 906 (before 10, x.y was the major version).
int release_level(int version_num) { return version_num >= 100000 ? version_num / 10000 * 100 : version_num / 100; }

}  // namespace

int major_of(int server_version_num) { return server_version_num / 10000; }

int version_num_of(const std::string& version) {
  size_t pos = 0;
  int major = read_number(version, pos);
  if (major <= 0) return 0;
  int minor = 0, patch = 0;
  if (pos < version.size() && version[pos] == '.') {
    ++pos;
    minor = std::max(read_number(version, pos), 0);
    if (major < 10 && pos < version.size() && version[pos] == '.') {
      ++pos;
      patch = std::max(read_number(version, pos), 0);
    }
  }
  return major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100 + patch;
}

std::string version_text(int version_num) {
  int major = version_num / 10000;
  if (major >= 10) return std::to_string(major) + "." + std::to_string(version_num % 10000);
  return std::to_string(major) + "." + std::to_string(version_num / 100 % 100) + "." +
         std::to_string(version_num % 100);
}

bool parse_tool_version(const std::string& output, Tools* tools) {
  // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": the version follows the product name.
  const std::string marker = "(PostgreSQL) ";
  size_t start = output.find(marker);
  start = start == std::string::npos ? output.find_first_of("0123456789") : start + marker.size();
  if (start == std::string::npos) return false;
  size_t end = output.find_first_of(" \t\r\n", start);
  std::string token = output.substr(start, end == std::string::npos ? std::string::npos : end - start);
  int num = version_num_of(token);
  if (num == 0) return false;
  tools->version = token;
  tools->major = major_of(num);
  return true;
}

std::vector<std::string> candidate_dirs(const std::string& pg_lib_root, const std::string& path_env) {
  std::vector<std::pair<int, std::string>> versioned;
  std::error_code ec;
  for (fs::directory_iterator it(pg_lib_root, ec), end; !ec && it != end; it.increment(ec)) {
    std::string bin = (it->path() / "bin").string();
    if (has_pg_dump(bin)) versioned.emplace_back(version_num_of(it->path().filename().string()), bin);
  }
  std::sort(versioned.begin(), versioned.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> dirs;
  std::vector<fs::path> programs;  // each candidate's pg_dump, symlinks resolved
  auto program_of = [](const std::string& dir) {
    std::error_code unresolved;
    fs::path p = fs::canonical(fs::path(dir) / "pg_dump", unresolved);
    return unresolved ? fs::path(dir) / "pg_dump" : p;
  };
  for (auto& [num, dir] : versioned) {
    dirs.push_back(dir);
    programs.push_back(program_of(dir));
  }
  // Every candidate is run once to learn its version (50 ms each for Debian's Perl wrapper), so a
  // PATH entry is left out when it is the same program as one already listed (/bin and /usr/bin
  // on a merged /usr), or Debian's pg_wrapper while versioned folders exist: the wrapper runs
  // the newest of those, already listed first.
  size_t start = 0;
  while (start < path_env.size()) {
    size_t stop = path_env.find(':', start);
    if (stop == std::string::npos) stop = path_env.size();
    std::string dir = path_env.substr(start, stop - start);
    start = stop + 1;
    if (dir.empty() || !has_pg_dump(dir) || std::find(dirs.begin(), dirs.end(), dir) != dirs.end()) continue;
    fs::path program = program_of(dir);
    if (std::find(programs.begin(), programs.end(), program) != programs.end()) continue;
    if (!versioned.empty() && program.filename() == "pg_wrapper") continue;
    dirs.push_back(dir);
    programs.push_back(program);
  }
  return dirs;
}

Tools select_tools(const std::vector<Tools>& candidates, int server_version_num) {
  std::string client_package = "postgresql-client-" + std::to_string(major_of(server_version_num));
  if (candidates.empty())
    fail(ErrorCategory::kDatabase, "no pg_dump found: install " + client_package +
                                       " (or set COFFER_PG_BIN to the folder holding pg_dump)");
  // The first of the newest wins, so /usr/lib/postgresql/<major>/bin beats a PATH wrapper.
  const Tools* best = &candidates.front();
  for (const auto& t : candidates)
    if (version_num_of(t.version) > version_num_of(best->version)) best = &t;
  if (release_level(version_num_of(best->version)) < release_level(server_version_num))
    fail(ErrorCategory::kDatabase, "pg_dump " + best->version + " is older than the server (" +
                                       version_text(server_version_num) + "): install " + client_package);
  return *best;
}

Tools find_tools_in(const std::vector<std::string>& dirs, int server_version_num) {
  std::vector<Tools> found;
  for (const auto& dir : dirs) {
    Tools t;
    t.bin_dir = dir;
    ProcessSpec spec = tool_spec({t.pg_dump(), "--version"});
    std::string out;
    try {
      if (run_process(spec, &out, nullptr) != 0) continue;
    } catch (const Error&) {
      continue;  // not runnable: try the other folders
    }
    if (parse_tool_version(out, &t)) found.push_back(t);
  }
  return select_tools(found, server_version_num);
}

Tools find_tools(int server_version_num) {
  const char* override_dir = std::getenv("COFFER_PG_BIN");
  if (override_dir && *override_dir) {
    std::string dir = override_dir;
    if (!has_pg_dump(dir)) fail(ErrorCategory::kConfig, "COFFER_PG_BIN=" + dir + " holds no executable pg_dump");
    return find_tools_in({dir}, server_version_num);
  }
  const char* path = std::getenv("PATH");
  return find_tools_in(candidate_dirs("/usr/lib/postgresql", path ? path : ""), server_version_num);
}

std::string tool_message(const std::string& stderr_text) {
  constexpr size_t kMax = 2000;
  std::string s = stderr_text.size() > kMax ? "..." + stderr_text.substr(stderr_text.size() - kMax) : stderr_text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s.empty() ? "(no message)" : s;
}

}  // namespace coffer::pg
