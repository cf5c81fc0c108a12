#include "source/files/tree_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string_view>
#include <utility>

#include "coffer/error.h"

namespace coffer::files {

namespace {

namespace fs = std::filesystem;

// Directory levels kept open in the cache; below this only the deepest level stays open, so a
// very deep tree cannot exhaust file descriptors.
constexpr size_t kMaxOpenDepth = 64;
constexpr int kTempAttempts = 16;
constexpr std::string_view kTempPrefix = ".coffer-tmp-";
constexpr size_t kTempHexDigits = 32;
// A temporary file is locked (flock) from just after it is made until it is renamed or removed;
// one that nobody holds and whose inode has not changed for this long was left by a killed
// restore. (The age covers the moment between making a file and locking it.)
constexpr time_t kAbandonedAfterSeconds = 2;

[[noreturn]] void storage_error(const std::string& action, const std::string& shown, int err) {
  fail(ErrorCategory::kStorage, action + " " + shown + ": " + std::strerror(err));
}

[[noreturn]] void exists_error(const std::string& shown) {
  fail(ErrorCategory::kInput, shown + " exists; use --overwrite to replace it");
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes and reports close()'s error (which may carry a delayed write error).
  int close_checked() { return ::close(std::exchange(fd_, -1)); }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return parts;
    start = slash + 1;
  }
}

std::string temp_name() {
  static thread_local std::random_device rd;
  static const char* digits = "0123456789abcdef";
  std::string name(kTempPrefix);
  for (int i = 0; i < 4; ++i) {
    uint32_t r = rd();
    for (int k = 0; k < 4; ++k, r >>= 8) {
      name += digits[(r >> 4) & 0xf];
      name += digits[r & 0xf];
    }
  }
  return name;
}

// Only names temp_name() makes: the prefix and 32 lower-case hex digits.
bool is_temp_name(std::string_view name) {
  if (name.size() != kTempPrefix.size() + kTempHexDigits || name.substr(0, kTempPrefix.size()) != kTempPrefix)
    return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(kTempPrefix.size()), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Whether the temp `name` in `dir` was abandoned: old enough and, for a file, not locked.
bool abandoned(int dir, const char* name) {
  struct stat st;
  if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (::time(nullptr) - st.st_ctime < kAbandonedAfterSeconds) return false;
  if (S_ISLNK(st.st_mode)) return true;  // a symlink's temp lives for a moment only
  if (!S_ISREG(st.st_mode)) return false;
  const int fd = ::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);  // releases the lock we may have taken; removing the name needs none
  return free;
}

struct timespec to_timespec(int64_t ns) {
  int64_t sec = ns / 1'000'000'000;
  int64_t rem = ns % 1'000'000'000;
  if (rem < 0) {  // before 1970: tv_nsec must stay in [0, 1e9)
    rem += 1'000'000'000;
    sec -= 1;
  }
  return {static_cast<time_t>(sec), static_cast<long>(rem)};
}

void expect_type(const FileEntry& e, EntryType type, const char* operation) {
  if (e.type != type) fail(ErrorCategory::kInternal, std::string(operation) + " called for another entry type");
}

bool may_chown(const WriterOptions& o) { return o.restore_owner && ::geteuid() == 0; }

// Moves `tmp` to `name` in `dir`. Without overwrite, an existing `name` is never replaced.
void rename_into_place(int dir, const std::string& tmp, const std::string& name, const std::string& shown,
                       bool overwrite) {
  if (overwrite) {
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) storage_error("cannot rename into", shown, errno);
    return;
  }
  if (::renameat2(dir, tmp.c_str(), dir, name.c_str(), RENAME_NOREPLACE) == 0) return;
  const int err = errno;
  if (err == EEXIST) exists_error(shown);
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP) storage_error("cannot rename into", shown, err);
  // A file system without RENAME_NOREPLACE: check, then rename (a small race remains).
  struct stat st;
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) exists_error(shown);
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) storage_error("cannot rename into", shown, errno);
}

// Removes a temporary name unless released.
class TempGuard {
 public:
  TempGuard(int dir, std::string name) : dir_(dir), name_(std::move(name)) {}
  ~TempGuard() {
    if (!name_.empty()) ::unlinkat(dir_, name_.c_str(), 0);
  }
  void release() { name_.clear(); }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;

 private:
  int dir_;
  std::string name_;
};

class FileWriterImpl final : public FileWriter {
 public:
  FileWriterImpl(Fd dir, std::string tmp, std::string name, std::string shown, Fd file, const FileEntry& e,
                 const WriterOptions& options)
      : dir_(std::move(dir)),
        tmp_(std::move(tmp)),
        name_(std::move(name)),
        shown_(std::move(shown)),
        file_(std::move(file)),
        mode_(e.mode & 07777),
        uid_(e.uid),
        gid_(e.gid),
        mtime_ns_(e.mtime_ns),
        options_(options) {
    // Without the lock (a file system without flock: ENOLCK) the restore goes on; the temp then
    // relies on the age rule alone, which a file being written keeps young.
    lock_ = Fd(::fcntl(file_.get(), F_DUPFD_CLOEXEC, 0));
    if (lock_.valid() && ::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) lock_.reset();
  }

  ~FileWriterImpl() override {
    file_.reset();
    if (!committed_) ::unlinkat(dir_.get(), tmp_.c_str(), 0);
    lock_.reset();  // after the name is gone: a sweep never sees it unlocked
  }

  // All-zero blocks are skipped (left as holes) rather than written; commit() sets the size.
  void write(ByteView data) override {
    if (!file_.valid()) fail(ErrorCategory::kInternal, "write after commit to " + shown_);
    while (!data.empty()) {
      // Runs of whole file blocks: alternately data (written with one call) and zeros (skipped).
      size_t run = 0;
      const bool zero = is_zero(block_at(data, 0));
      while (run < data.size()) {
        const ByteView block = block_at(data, run);
        if (is_zero(block) != zero) break;
        run += block.size();
      }
      if (!zero) write_at(data.first(run));
      offset_ += run;
      data = data.subspan(run);
    }
  }

  void commit() override {
    if (!file_.valid()) fail(ErrorCategory::kInternal, "commit called twice for " + shown_);
    // chown first: it clears set-user-ID and set-group-ID bits that fchmod then sets.
    if (may_chown(options_) && ::fchown(file_.get(), uid_, gid_) != 0) {
      storage_error("cannot set the owner of", shown_, errno);
    }
    if (::fchmod(file_.get(), mode_) != 0) storage_error("cannot set the mode of", shown_, errno);
    // A file ending in a hole: the size comes from here, not from a write.
    if (::ftruncate(file_.get(), static_cast<off_t>(offset_)) != 0) storage_error("cannot write", shown_, errno);
    const struct timespec times[2] = {{0, UTIME_OMIT}, to_timespec(mtime_ns_)};
    if (::futimens(file_.get(), times) != 0) storage_error("cannot set the time of", shown_, errno);
    if (file_.close_checked() != 0) storage_error("cannot write", shown_, errno);
    rename_into_place(dir_.get(), tmp_, name_, shown_, options_.overwrite);
    committed_ = true;
    lock_.reset();
  }

 private:
  static constexpr uint64_t kBlock = 4096;

  // The part of `data` from `at` up to the next file block boundary.
  ByteView block_at(ByteView data, size_t at) const {
    const uint64_t pos = offset_ + at;
    return data.subspan(at, std::min<uint64_t>(data.size() - at, kBlock - pos % kBlock));
  }

  static bool is_zero(ByteView b) {
    return b.empty() || (b[0] == 0 && std::memcmp(b.data(), b.data() + 1, b.size() - 1) == 0);
  }

  void write_at(ByteView data) {
    uint64_t at = offset_;
    while (!data.empty()) {
      const ssize_t n = ::pwrite(file_.get(), data.data(), data.size(), static_cast<off_t>(at));
      if (n < 0) {
        if (errno == EINTR) continue;
        storage_error("cannot write", shown_, errno);
      }
      data = data.subspan(static_cast<size_t>(n));
      at += static_cast<uint64_t>(n);
    }
  }

  uint64_t offset_ = 0;  // bytes of the file given so far (written or left as a hole)
  Fd dir_;  // our own descriptor for the parent: the writer's cache may close its own
  Fd lock_;  // a duplicate of the file's descriptor: keeps its flock after file_ is closed
  std::string tmp_, name_, shown_;
  Fd file_;
  uint32_t mode_, uid_, gid_;
  int64_t mtime_ns_;
  WriterOptions options_;
  bool committed_ = false;
};

}  // namespace

Existing::Existing(Existing&& o) noexcept
    : kind(o.kind), size(o.size), link_target(std::move(o.link_target)), fd(std::exchange(o.fd, -1)) {}

Existing::~Existing() {
  if (fd >= 0) ::close(fd);
}

struct TreeWriter::Impl {
  struct Level {
    std::string name;
    Fd fd;  // invalid for levels past kMaxOpenDepth that are not the deepest
  };
  struct PendingDir {
    std::string path;
    size_t depth;
    uint32_t mode, uid, gid;
    int64_t mtime_ns;
  };

  fs::path target;
  WriterOptions options;
  Fd root;
  std::vector<Level> chain;  // the directory last resolved, one open fd per level
  std::vector<PendingDir> dirs;

  std::string shown(const std::string& rel) const { return display_path((target / rel).native()); }

  void check_safe(const std::string& path) const {
    if (!is_safe_relative_path(path)) {
      fail(ErrorCategory::kInput, "refusing to restore unsafe path \"" + display_path(path) +
                                      "\" (absolute, empty, or with \".\"/\"..\" parts; the backup may "
                                      "have been tampered with)");
    }
  }

  // Opens `name` in `parent` as a directory without following symlinks; creates it if allowed.
  int open_child_dir(int parent, const std::string& name, bool create, const std::string& rel) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) return fd;
      const int err = errno;
      if (err == ENOENT && create) {
        if (::mkdirat(parent, name.c_str(), 0700) == 0 || errno == EEXIST) continue;
        storage_error("cannot create directory", shown(rel), errno);
      }
      if (err == ENOENT) fail(ErrorCategory::kNotFound, shown(rel) + " does not exist");
      if (err == ELOOP || err == ENOTDIR) {
        struct stat st;
        if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
          fail(ErrorCategory::kInput, "refusing to restore through symlink " + shown(rel) +
                                          " (remove it, or restore into an empty directory)");
        }
        fail(ErrorCategory::kInput, shown(rel) + " exists and is not a directory (remove it, or restore "
                                                 "into an empty directory)");
      }
      storage_error("cannot open directory", shown(rel), err);
    }
    storage_error("cannot create directory", shown(rel), EAGAIN);
  }

  // The directory made of the first `count` components, reusing the cached chain's common prefix.
  // The returned fd is borrowed: valid until the next call.
  int open_dir(const std::vector<std::string>& comps, size_t count, bool create) {
    size_t keep = 0;
    while (keep < chain.size() && keep < count && chain[keep].name == comps[keep]) ++keep;
    chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(keep), chain.end());
    size_t start = keep;
    while (start > 0 && !chain[start - 1].fd.valid()) --start;
    std::string rel;
    for (size_t i = 0; i < start; ++i) rel += (i ? "/" : "") + comps[i];
    for (size_t i = start; i < count; ++i) {
      const int base = i == 0 ? root.get() : chain[i - 1].fd.get();
      rel += (i ? "/" : "") + comps[i];
      Fd fd(open_child_dir(base, comps[i], create, rel));
      if (i < chain.size()) {
        chain[i].fd = std::move(fd);
      } else {
        chain.push_back({comps[i], std::move(fd)});
      }
      if (i > kMaxOpenDepth) chain[i - 1].fd.reset();
    }
    return count == 0 ? root.get() : chain[count - 1].fd.get();
  }

  // Fails early when `name` exists and may not (or cannot) be replaced.
  void check_replaceable(int dir, const std::string& name, const std::string& rel) const {
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return;
      storage_error("cannot check", shown(rel), errno);
    }
    if (!options.overwrite) exists_error(shown(rel));
    if (S_ISDIR(st.st_mode)) {
      fail(ErrorCategory::kInput, shown(rel) + " is a directory; refusing to replace it (remove it first)");
    }
  }

  void set_link_metadata(int dir, const std::string& name, const FileEntry& e, const std::string& rel) {
    if (may_chown(options) && ::fchownat(dir, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      storage_error("cannot set the owner of", shown(rel), errno);
    }
    const struct timespec times[2] = {{0, UTIME_OMIT}, to_timespec(e.mtime_ns)};
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      storage_error("cannot set the time of", shown(rel), errno);
    }
  }
};

TreeWriter::TreeWriter(fs::path target, WriterOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->target = std::move(target);
  impl_->options = options;
  const std::string shown = display_path(impl_->target.native());
  std::error_code ec;
  fs::create_directories(impl_->target, ec);
  if (ec) fail(ErrorCategory::kStorage, "cannot create restore target " + shown + ": " + ec.message());
  impl_->root = Fd(::open(impl_->target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!impl_->root.valid()) storage_error("cannot open restore target", shown, errno);
}

TreeWriter::~TreeWriter() = default;

void TreeWriter::make_directory(const FileEntry& e) {
  expect_type(e, EntryType::kDirectory, "make_directory");
  impl_->check_safe(e.path);
  const auto comps = split(e.path);
  const int parent = impl_->open_dir(comps, comps.size() - 1, true);
  const char* name = comps.back().c_str();
  bool created = ::mkdirat(parent, name, 0700) == 0;
  if (!created) {
    if (errno != EEXIST) storage_error("cannot create directory", impl_->shown(e.path), errno);
    struct stat st;
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      storage_error("cannot check", impl_->shown(e.path), errno);
    }
    if (!S_ISDIR(st.st_mode)) {  // existing directories merge; anything else is replaced on request
      if (!impl_->options.overwrite) exists_error(impl_->shown(e.path));
      if (::unlinkat(parent, name, 0) != 0 || ::mkdirat(parent, name, 0700) != 0) {
        storage_error("cannot replace", impl_->shown(e.path), errno);
      }
      created = true;
    }
  }
  // A directory that was already there keeps its metadata unless we may overwrite.
  if (created || impl_->options.overwrite) {
    impl_->dirs.push_back({e.path, comps.size(), e.mode & 07777, e.uid, e.gid, e.mtime_ns});
  }
}

std::unique_ptr<FileWriter> TreeWriter::begin_file(const FileEntry& e) {
  expect_type(e, EntryType::kFile, "begin_file");
  impl_->check_safe(e.path);
  const auto comps = split(e.path);
  const int parent = impl_->open_dir(comps, comps.size() - 1, true);
  impl_->check_replaceable(parent, comps.back(), e.path);
  Fd dir(::fcntl(parent, F_DUPFD_CLOEXEC, 0));
  if (!dir.valid()) storage_error("cannot open the directory of", impl_->shown(e.path), errno);
  for (int attempt = 0; attempt < kTempAttempts; ++attempt) {
    std::string tmp = temp_name();
    Fd file(::openat(dir.get(), tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (file.valid()) {
      return std::make_unique<FileWriterImpl>(std::move(dir), std::move(tmp), comps.back(), impl_->shown(e.path),
                                              std::move(file), e, impl_->options);
    }
    if (errno != EEXIST) storage_error("cannot create a temporary file for", impl_->shown(e.path), errno);
  }
  storage_error("cannot create a temporary file for", impl_->shown(e.path), EEXIST);
}

void TreeWriter::make_symlink(const FileEntry& e) {
  expect_type(e, EntryType::kSymlink, "make_symlink");
  impl_->check_safe(e.path);
  if (e.link_target.empty() || e.link_target.find('\0') != std::string::npos) {
    fail(ErrorCategory::kInput, "symlink " + impl_->shown(e.path) + " has an invalid target");
  }
  const auto comps = split(e.path);
  const int parent = impl_->open_dir(comps, comps.size() - 1, true);
  impl_->check_replaceable(parent, comps.back(), e.path);
  for (int attempt = 0; attempt < kTempAttempts; ++attempt) {
    const std::string tmp = temp_name();
    if (::symlinkat(e.link_target.c_str(), parent, tmp.c_str()) != 0) {
      if (errno == EEXIST) continue;
      storage_error("cannot create symlink", impl_->shown(e.path), errno);
    }
    TempGuard guard(parent, tmp);
    impl_->set_link_metadata(parent, tmp, e, e.path);
    rename_into_place(parent, tmp, comps.back(), impl_->shown(e.path), impl_->options.overwrite);
    guard.release();
    return;
  }
  storage_error("cannot create symlink", impl_->shown(e.path), EEXIST);
}

void TreeWriter::make_hardlink(const FileEntry& e) {
  expect_type(e, EntryType::kHardlink, "make_hardlink");
  impl_->check_safe(e.path);
  impl_->check_safe(e.hardlink_target);
  const auto from = split(e.hardlink_target);
  const std::string from_shown = impl_->shown(e.hardlink_target);
  Fd from_dir(::fcntl(impl_->open_dir(from, from.size() - 1, false), F_DUPFD_CLOEXEC, 0));
  if (!from_dir.valid()) storage_error("cannot open the directory of", from_shown, errno);
  struct stat st;
  if (::fstatat(from_dir.get(), from.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      fail(ErrorCategory::kNotFound, "hard link target " + from_shown + " was not restored (needed by " +
                                         impl_->shown(e.path) + ")");
    }
    storage_error("cannot check", from_shown, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    fail(ErrorCategory::kInput, "hard link target " + from_shown + " is not a regular file");
  }

  const auto comps = split(e.path);
  const int parent = impl_->open_dir(comps, comps.size() - 1, true);
  impl_->check_replaceable(parent, comps.back(), e.path);
  for (int attempt = 0; attempt < kTempAttempts; ++attempt) {
    const std::string tmp = temp_name();
    if (::linkat(from_dir.get(), from.back().c_str(), parent, tmp.c_str(), 0) != 0) {
      if (errno == EEXIST) continue;
      storage_error("cannot create hard link", impl_->shown(e.path), errno);
    }
    // Not released: when the destination already was this inode, rename() leaves tmp behind.
    TempGuard guard(parent, tmp);
    rename_into_place(parent, tmp, comps.back(), impl_->shown(e.path), impl_->options.overwrite);
    return;
  }
  storage_error("cannot create hard link", impl_->shown(e.path), EEXIST);
}

Existing TreeWriter::inspect(const std::string& path, bool open_file) {
  impl_->check_safe(path);
  const auto comps = split(path);
  Existing found;
  int parent;
  try {
    parent = impl_->open_dir(comps, comps.size() - 1, false);
  } catch (const Error& e) {
    if (e.category() == ErrorCategory::kNotFound) return found;  // a folder on the way is missing
    throw;
  }
  const char* name = comps.back().c_str();
  struct stat st;
  if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return found;
    storage_error("cannot check", impl_->shown(path), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    found.kind = Existing::Kind::kDirectory;
  } else if (S_ISREG(st.st_mode)) {
    found.kind = Existing::Kind::kFile;
    found.size = static_cast<uint64_t>(st.st_size);
    if (!open_file) return found;
    found.fd = ::openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (found.fd < 0) storage_error("cannot read", impl_->shown(path), errno);
  } else if (S_ISLNK(st.st_mode)) {
    found.kind = Existing::Kind::kSymlink;
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    const ssize_t n = ::readlinkat(parent, name, target.data(), target.size());
    if (n < 0) storage_error("cannot read symlink", impl_->shown(path), errno);
    target.resize(static_cast<size_t>(n));
    found.link_target = std::move(target);
  } else {
    found.kind = Existing::Kind::kOther;
  }
  return found;
}

std::vector<std::string> TreeWriter::remove_abandoned_temps(const std::string& path) {
  std::vector<std::string> removed;
  const int dir = path.empty() ? impl_->root.get() : impl_->open_dir(split(path), split(path).size(), false);
  Fd listing(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing.valid()) storage_error("cannot read directory", impl_->shown(path), errno);
  DIR* d = ::fdopendir(listing.get());
  if (d == nullptr) storage_error("cannot read directory", impl_->shown(path), errno);
  listing.release();  // now owned by d: closedir closes it
  std::vector<std::string> names;
  while (const struct dirent* e = ::readdir(d))
    if (is_temp_name(e->d_name)) names.emplace_back(e->d_name);
  ::closedir(d);
  for (const std::string& name : names) {
    if (!abandoned(dir, name.c_str()) || ::unlinkat(dir, name.c_str(), 0) != 0) continue;
    removed.push_back(impl_->shown(path.empty() ? name : path + "/" + name));
  }
  return removed;
}

void TreeWriter::set_overwrite(bool overwrite) { impl_->options.overwrite = overwrite; }

std::string TreeWriter::shown(const std::string& path) const { return impl_->shown(path); }

void TreeWriter::finish() {
  auto& dirs = impl_->dirs;
  // Deepest first: setting a child's metadata does not touch its parent's mtime, but creating
  // the child did, and a read-only parent would have blocked restoring into it.
  std::stable_sort(dirs.begin(), dirs.end(), [](const auto& a, const auto& b) { return a.depth > b.depth; });
  for (const auto& d : dirs) {
    const auto comps = split(d.path);
    const int fd = impl_->open_dir(comps, comps.size(), false);
    if (may_chown(impl_->options) && ::fchown(fd, d.uid, d.gid) != 0) {
      storage_error("cannot set the owner of", impl_->shown(d.path), errno);
    }
    if (::fchmod(fd, d.mode) != 0) storage_error("cannot set the mode of", impl_->shown(d.path), errno);
    const struct timespec times[2] = {{0, UTIME_OMIT}, to_timespec(d.mtime_ns)};
    if (::futimens(fd, times) != 0) storage_error("cannot set the time of", impl_->shown(d.path), errno);
  }
  dirs.clear();
  impl_->chain.clear();
}

}  // namespace coffer::files
