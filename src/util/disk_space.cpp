#include "util/disk_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"
#include "coffer/human_bytes.h"

namespace coffer {


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
  fail(ErrorCategory::kStorage, what + " needs " + human_bytes(needed) + " in " + dir.string() + ", which has " +
                                    human_bytes(available) + " free: " + remedy);
}

}  // namespace coffer
