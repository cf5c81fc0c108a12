#include "util/disk_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"

namespace coffer {

namespace {
std::string human(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}
}  // namespace

uint64_t free_bytes(const std::filesystem::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0)
    fail(ErrorCategory::kStorage, "cannot read the free space of " + dir.string() + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

void require_free_space(const std::filesystem::path& dir, uint64_t needed, const std::string& what,
                        const std::string& remedy) {
  const uint64_t available = free_bytes(dir);
  if (available >= needed) return;
  fail(ErrorCategory::kStorage, what + " needs " + human(needed) + " in " + dir.string() + ", which has " +
                                    human(available) + " free: " + remedy);
}

}  // namespace coffer
