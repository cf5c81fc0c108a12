#include "engine/wal_jobs.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "coffer/error.h"
#include "source/postgres/wal/cluster_id.h"
#include "source/postgres/wal/wal_archive.h"
#include "source/postgres/wal/wal_names.h"
#include "util/fd_io.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

// A WAL file mapped into memory, read-only: a segment is 16 MiB, and reading it into a buffer of
// our own would cost a copy and the faults of fresh pages, every call the archiver waits for.
class MappedFile {
 public:
  explicit MappedFile(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(ErrorCategory::kInput, "cannot read WAL file " + path.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(ErrorCategory::kInput, "WAL file " + path.string() + " is not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (data_ == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        fail(ErrorCategory::kStorage, "cannot read WAL file " + path.string() + ": " + std::strerror(err));
      }
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (size_ > 0) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ByteView bytes() const { return {static_cast<const uint8_t*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

CompressionSpec wal_compression(const CompressionSpec& configured) {
  return {configured.codec, level_range(configured.codec).first};
}

WalPushOutcome push_wal_file(Repository& repo, const fs::path& file, const fs::path& data_dir,
                             const CompressionSpec& compression) {
  WalPushOutcome out;
  out.name = file.filename().string();
  std::optional<pg::wal::FileName> kind = pg::wal::parse_file_name(out.name);
  if (!kind)
    fail(ErrorCategory::kInput, "'" + file.string() + "' is not a WAL file (archive_command passes %p: a path "
                                "ending in a segment, .partial, .backup or .history name)");
  const pg::wal::ClusterId cluster = pg::wal::read_cluster_id(data_dir);
  out.cluster = cluster.name();
  const MappedFile mapped(file);
  const ByteView content = mapped.bytes();
  out.bytes = content.size();
  if (kind->kind == pg::wal::FileKind::kSegment || kind->kind == pg::wal::FileKind::kPartial) {
    std::optional<uint64_t> sysid = pg::wal::segment_system_identifier(content);
    if (!sysid)
      fail(ErrorCategory::kInput, "WAL file " + file.string() + " does not start with a segment header: not archived");
    if (*sysid != cluster.system_identifier)
      fail(ErrorCategory::kInput, "WAL file " + file.string() + " belongs to the cluster with system identifier " +
                                      std::to_string(*sysid) + ", not to the one in " + data_dir.string() + " (" +
                                      std::to_string(cluster.system_identifier) +
                                      "): not archived. Check DB_DATA_DIR (wal-push runs in the data folder)");
  }
  pg::wal::WalArchive archive(repo, out.cluster);
  out.already_archived = archive.push(out.name, content, compression) == pg::wal::WalArchive::Pushed::kAlreadyThere;
  return out;
}

bool fetch_wal_file(Repository& repo, const std::string& name, const fs::path& data_dir, const fs::path& destination) {
  const pg::wal::ClusterId cluster = pg::wal::read_cluster_id(data_dir);
  pg::wal::WalArchive archive(repo, cluster.name());
  std::optional<Bytes> content = archive.fetch(name);
  if (!content) return false;
  const fs::path folder = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
  const fs::path tmp = folder / (".coffer-wal-fetch-" + std::to_string(::getpid()));
  ::unlink(tmp.c_str());  // a killed fetch of this pid's namesake
  write_new_file(tmp.string(), *content);
  if (::rename(tmp.c_str(), destination.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorCategory::kStorage, "cannot write " + destination.string() + ": " + std::strerror(err));
  }
  return true;
}

}  // namespace coffer
