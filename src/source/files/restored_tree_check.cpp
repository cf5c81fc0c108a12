#include "source/files/restored_tree_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace coffer::files {
namespace fs = std::filesystem;
namespace {

// Reads exactly `n` bytes (fewer only at the end of the file).
size_t read_up_to(int fd, uint8_t* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// "" when the file's content is the recorded one; else what differs.
std::string compare_content(const std::string& path, const FileEntry& e,
                            const std::function<ChunkId(ByteView)>& chunk_id, uint64_t& bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == EACCES) {  // restored with its mode (e.g. 0000): ours to read all the same
    ::chmod(path.c_str(), (e.mode & 07777) | S_IRUSR);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return std::string("cannot open: ") + std::strerror(errno);
  struct stat st;
  std::string problem;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problem = "not a regular file";
  } else if (static_cast<uint64_t>(st.st_size) != e.size) {
    problem = std::to_string(st.st_size) + " bytes, " + std::to_string(e.size) + " recorded";
  } else {
    std::vector<uint8_t> buf;
    uint64_t offset = 0;
    for (size_t i = 0; i < e.chunks.size() && problem.empty(); ++i) {
      const ChunkRef& ref = e.chunks[i];
      buf.resize(ref.size);
      const size_t got = read_up_to(fd, buf.data(), ref.size);
      bytes += got;
      if (got != ref.size)
        problem = "ends at byte " + std::to_string(offset + got) + ", " + std::to_string(e.size) + " recorded";
      else if (chunk_id(ByteView(buf.data(), got)) != ref.id)
        problem = "content differs from the backup's in bytes " + std::to_string(offset) + ".." +
                  std::to_string(offset + got);
      offset += got;
    }
  }
  ::close(fd);
  return problem;
}

}  // namespace

TreeCheck check_restored_tree(const fs::path& root, const std::vector<FileEntry>& entries,
                              const std::function<ChunkId(ByteView)>& chunk_id, size_t max_problems) {
  TreeCheck check;
  std::unordered_map<std::string, ino_t> inodes;  // path in the backup -> restored inode (files)
  auto problem = [&](const FileEntry& e, const std::string& what) {
    if (check.problems.size() < max_problems)
      check.problems.push_back(display_path(e.path) + ": " + what);
    else
      ++check.more_problems;
  };
  for (const FileEntry& e : entries) {
    ++check.entries;
    const std::string path = (root / e.path).string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      problem(e, std::string("missing after the restore (") + std::strerror(errno) + ")");
      continue;
    }
    switch (e.type) {
      case EntryType::kDirectory:
        if (!S_ISDIR(st.st_mode)) problem(e, "not a folder");
        break;
      case EntryType::kSymlink: {
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = S_ISLNK(st.st_mode) ? ::readlink(path.c_str(), target.data(), target.size()) : -1;
        if (n < 0)
          problem(e, "not a symbolic link");
        else if (target.substr(0, static_cast<size_t>(n)) != e.link_target)
          problem(e, "points to " + display_path(target.substr(0, static_cast<size_t>(n))) + ", not " +
                         display_path(e.link_target));
        break;
      }
      case EntryType::kHardlink: {
        auto first = inodes.find(e.hardlink_target);
        if (first != inodes.end() && first->second != st.st_ino)
          problem(e, "is not a hard link of " + display_path(e.hardlink_target));
        break;
      }
      case EntryType::kFile: {
        inodes[e.path] = st.st_ino;
        ++check.files;
        std::string differs = compare_content(path, e, chunk_id, check.bytes);
        if (!differs.empty()) problem(e, differs);
        break;
      }
    }
  }
  return check;
}

}  // namespace coffer::files
