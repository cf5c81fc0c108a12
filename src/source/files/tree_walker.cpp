#include "source/files/tree_walker.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "coffer/error.h"
#include "source/files/dir_warmer.h"

namespace coffer::files {

namespace {

namespace fs = std::filesystem;

// Folder reads in flight ahead of the walk: a disk round trip each, so more than the cores.
constexpr unsigned kWarmerThreads = 8;

int64_t to_ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void fill_from_stat(const struct stat& st, FileEntry& entry) {
  if (S_ISDIR(st.st_mode)) entry.type = EntryType::kDirectory;
  if (S_ISREG(st.st_mode)) entry.type = EntryType::kFile;
  if (S_ISLNK(st.st_mode)) entry.type = EntryType::kSymlink;
  entry.mode = st.st_mode & 07777;
  entry.uid = st.st_uid;
  entry.gid = st.st_gid;
  entry.mtime_ns = to_ns(st.st_mtim);
  entry.ctime_ns = to_ns(st.st_ctim);
  entry.inode = st.st_ino;
  entry.dev = st.st_dev;
  // Only a regular file's size means content; a directory's size varies by file system.
  entry.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
}

// The kind of a file we do not back up, for the warning; nullptr for kinds we do.
const char* skipped_kind(mode_t mode) {
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISDIR(mode) || S_ISREG(mode) || S_ISLNK(mode)) return nullptr;
  return "file of unknown type";
}

bool read_link(const fs::path& source, size_t size_hint, std::string& target) {
  std::string buf(std::max<size_t>(size_hint + 1, 256), '\0');
  while (true) {
    const ssize_t n = ::readlink(source.c_str(), buf.data(), buf.size());
    if (n < 0) return false;
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      target = std::move(buf);
      return true;
    }
    buf.resize(buf.size() * 2);  // possibly truncated: the link changed since lstat
  }
}

class Walker {
 public:
  Walker(const WalkCallbacks& callbacks, DirWarmer* warmer) : cb_(callbacks), warmer_(warmer) {}

  void visit(const fs::path& source, const std::string& path) {
    struct stat st;
    if (::lstat(source.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        warn("vanished while reading: " + display_path(source.native()));
      } else {
        unreadable(source, "cannot read " + display_path(source.native()) + ": " + std::strerror(errno));
      }
      return;
    }
    if (cb_.exclude && cb_.exclude(source, st)) return;
    if (const char* kind = skipped_kind(st.st_mode)) {
      warn(std::string("skipped ") + kind + ": " + display_path(source.native()));
      return;
    }
    FileEntry entry;
    entry.path = path;
    fill_from_stat(st, entry);
    if (S_ISLNK(st.st_mode) &&
        !read_link(source, static_cast<size_t>(st.st_size), entry.link_target)) {
      unreadable(source, "cannot read symlink " + display_path(source.native()) + ": " + std::strerror(errno));
      return;
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      const auto [it, first] = first_links_.try_emplace({st.st_dev, st.st_ino}, path);
      if (!first) {
        entry.type = EntryType::kHardlink;
        entry.hardlink_target = it->second;
      }
    }
    if (cb_.on_entry) cb_.on_entry(entry, source);
    if (S_ISDIR(st.st_mode)) visit_children(source, path);
  }

 private:
  void visit_children(const fs::path& source, const std::string& path) {
    std::vector<std::string> names, subdirs;
    if (!list_directory(source, names, subdirs)) return;
    std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned char
    if (warmer_ && !subdirs.empty()) {
      std::sort(subdirs.begin(), subdirs.end());  // in the order the walk reaches them
      for (std::string& d : subdirs) d = (source / d).native();
      warmer_->add(std::move(subdirs));
    }
    for (const std::string& name : names) visit(source / name, path + "/" + name);
  }

  // Reads all names first and closes the directory, so deep trees do not hold one fd per level.
  // `subdirs`: the names the directory itself says are folders (d_type), for the warmer.
  bool list_directory(const fs::path& source, std::vector<std::string>& names, std::vector<std::string>& subdirs) {
    DIR* dir = ::opendir(source.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT) {
        warn("vanished while reading: " + display_path(source.native()));
      } else {
        unreadable(source, "cannot read directory " + display_path(source.native()) + ": " + std::strerror(errno));
      }
      return false;
    }
    while (true) {
      errno = 0;
      const struct dirent* d = ::readdir(dir);
      if (d == nullptr) break;
      const std::string_view name = d->d_name;
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
      if (d->d_type == DT_DIR) subdirs.emplace_back(name);
    }
    const int read_errno = errno;
    ::closedir(dir);
    if (read_errno != 0) {
      unreadable(source, "cannot read directory " + display_path(source.native()) + ": " +
                             std::strerror(read_errno) + " (some entries may be missing)");
    }
    return true;
  }

  void warn(const std::string& message) {
    if (cb_.on_warning) cb_.on_warning(message);
  }

  void unreadable(const fs::path& source, const std::string& message) {
    if (cb_.on_unreadable) {
      cb_.on_unreadable(source, message);
    } else {
      warn(message);
    }
  }

  const WalkCallbacks& cb_;
  DirWarmer* warmer_;
  std::map<std::pair<dev_t, ino_t>, std::string> first_links_;  // hard links: first path seen
};

}  // namespace

std::vector<WalkRoot> name_roots(const std::vector<fs::path>& paths) {
  std::vector<WalkRoot> roots;
  std::set<std::string> used;
  for (const fs::path& given : paths) {
    fs::path absolute = fs::absolute(given).lexically_normal();
    if (!absolute.has_filename() && absolute.has_relative_path()) absolute = absolute.parent_path();
    const std::string shown = display_path(given.native());
    // The root itself is followed if it is a symlink (the user named it); nothing below is.
    struct stat st;
    if (::stat(absolute.c_str(), &st) != 0) {
      fail(ErrorCategory::kConfig, "BACKUP_PATHS: cannot back up \"" + shown + "\": " +
                                       std::strerror(errno) + " (fix or remove this path)");
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
      fail(ErrorCategory::kConfig, "BACKUP_PATHS: \"" + shown +
                                       "\" is not a directory or regular file (remove this path)");
    }
    std::error_code ec;
    const fs::path source = fs::canonical(absolute, ec);
    if (ec) {
      fail(ErrorCategory::kConfig,
           "BACKUP_PATHS: cannot resolve \"" + shown + "\": " + ec.message() + " (fix or remove this path)");
    }
    const std::string base = absolute.has_filename() ? absolute.filename().native() : "root";
    std::string name = base;
    for (int n = 2; used.count(name) != 0; ++n) name = base + "-" + std::to_string(n);
    used.insert(name);
    roots.push_back({source, name});
  }
  return roots;
}

void walk(const std::vector<WalkRoot>& roots, const WalkCallbacks& callbacks) {
  DirWarmer warmer(kWarmerThreads);  // reads folders ahead of the walk (cold caches)
  Walker walker(callbacks, &warmer);  // one walker: hard links are matched across roots
  for (const WalkRoot& root : roots) walker.visit(root.source, root.name);
}

bool stat_entry(const fs::path& source, FileEntry& entry) {
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) return false;
  fill_from_stat(st, entry);
  return true;
}

}  // namespace coffer::files
