#include "source/postgres/pg_archive_offsets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

namespace coffer::pg {
namespace {

// Format constants from PostgreSQL's pg_backup_archiver.h / pg_backup_custom.c.
constexpr int kOffsetNotSet = 1;
constexpr int kOffsetSet = 2;
constexpr int kOffsetNoData = 3;
constexpr int kBlockData = 1;
constexpr int kBlockBlobs = 3;

struct Unparseable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Buffered sequential reader with a position, over a file descriptor.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  int byte() {
    if (pos_in_buf_ == buf_len_) fill();
    ++pos_;
    return buf_[pos_in_buf_++];
  }
  bool at_eof() {
    if (pos_in_buf_ < buf_len_) return false;
    fill(false);
    return buf_len_ == 0;
  }
  void skip(uint64_t n) {
    while (n > 0) {
      if (pos_in_buf_ == buf_len_) {
        // Skip whole buffers by seeking rather than reading.
        if (n > sizeof buf_) {
          if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) throw Unparseable("seek failed");
          pos_ += n;
          return;
        }
        fill();
      }
      uint64_t take = std::min<uint64_t>(n, buf_len_ - pos_in_buf_);
      pos_in_buf_ += take;
      pos_ += take;
      n -= take;
    }
  }
  uint64_t pos() const { return pos_; }

  int int_size = 4;
  // pg_dump's WriteInt: a sign byte, then int_size little-endian bytes.
  int64_t read_int() {
    int sign = byte();
    uint64_t v = 0;
    for (int i = 0; i < int_size; ++i) v |= uint64_t(byte()) << (8 * i);
    if (v > INT32_MAX) throw Unparseable("integer out of range");
    return sign ? -int64_t(v) : int64_t(v);
  }
  void skip_str() {
    int64_t len = read_int();
    if (len > 0) skip(static_cast<uint64_t>(len));
  }
  bool str_is_null() {
    int64_t len = read_int();
    if (len > 0) skip(static_cast<uint64_t>(len));
    return len < 0;
  }

 private:
  void fill(bool must = true) {
    ssize_t n = ::read(fd_, buf_, sizeof buf_);
    if (n < 0) throw Unparseable("read failed");
    buf_len_ = static_cast<size_t>(n);
    pos_in_buf_ = 0;
    if (must && n == 0) throw Unparseable("archive ends early");
  }
  int fd_;
  uint8_t buf_[1 << 16];
  size_t buf_len_ = 0, pos_in_buf_ = 0;
  uint64_t pos_ = 0;
};

}  // namespace

OffsetRepair fill_in_data_offsets(const std::string& path) {
  OffsetRepair result;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    result.reason = std::string("cannot open the archive: ") + std::strerror(errno);
    return result;
  }
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  try {
    Reader r(fd);
    char magic[5];
    for (char& c : magic) c = static_cast<char>(r.byte());
    if (std::memcmp(magic, "PGDMP", 5) != 0) throw Unparseable("not a custom-format archive");
    int vmaj = r.byte(), vmin = r.byte();
    r.byte();  // revision
    if (vmaj != 1 || vmin < 12 || vmin > 15)
      throw Unparseable("archive format " + std::to_string(vmaj) + "." + std::to_string(vmin) + " is not one we know");
    r.int_size = r.byte();
    int off_size = r.byte();
    int format = r.byte();
    if (r.int_size < 1 || r.int_size > 8 || off_size != 8 || format != 1) throw Unparseable("unexpected sizes or format");
    if (vmin >= 15)
      r.byte();  // compression algorithm
    else
      r.read_int();  // compression level
    for (int i = 0; i < 7; ++i) r.read_int();  // creation time
    r.skip_str();                              // database name
    r.skip_str();                              // server version
    r.skip_str();                              // pg_dump version

    int64_t count = r.read_int();
    if (count < 0 || count > 10'000'000) throw Unparseable("implausible entry count");
    std::map<int64_t, uint64_t> flag_pos_of;  // dump id -> file position of its offset flag
    for (int64_t i = 0; i < count; ++i) {
      int64_t dump_id = r.read_int();
      r.read_int();                                  // has data dumper
      r.skip_str();                                  // table oid
      r.skip_str();                                  // oid
      r.skip_str();                                  // tag
      r.skip_str();                                  // desc
      r.read_int();                                  // section
      for (int s = 0; s < 5; ++s) r.skip_str();      // defn, drop, copy, namespace, tablespace
      if (vmin >= 14) r.skip_str();                  // table access method
      r.skip_str();                                  // owner
      r.skip_str();                                  // "with oids" ("false")
      while (!r.str_is_null()) {                     // dependencies, ended by a null string
      }
      uint64_t flag_pos = r.pos();
      int flag = r.byte();
      r.skip(8);
      if (flag == kOffsetNotSet)
        flag_pos_of[dump_id] = flag_pos;
      else if (flag != kOffsetNoData && flag != kOffsetSet)
        throw Unparseable("unknown offset flag");
    }

    // The data blocks follow: BLK_DATA or BLK_BLOBS, the dump id, then length-prefixed pieces.
    std::map<int64_t, uint64_t> data_pos_of;
    while (!r.at_eof()) {
      uint64_t block_pos = r.pos();
      int type = r.byte();
      int64_t dump_id = r.read_int();
      if (type == kBlockData) {
        for (int64_t len = r.read_int(); len != 0; len = r.read_int()) {
          if (len < 0) throw Unparseable("negative data length");
          r.skip(static_cast<uint64_t>(len));
        }
      } else if (type == kBlockBlobs) {
        for (int64_t oid = r.read_int(); oid != 0; oid = r.read_int())
          for (int64_t len = r.read_int(); len != 0; len = r.read_int()) {
            if (len < 0) throw Unparseable("negative blob length");
            r.skip(static_cast<uint64_t>(len));
          }
      } else {
        throw Unparseable("unknown block type");
      }
      data_pos_of[dump_id] = block_pos;
    }
    for (const auto& [id, pos] : flag_pos_of)
      if (!data_pos_of.count(id)) throw Unparseable("an entry's data block is missing");

    // Everything understood: write the offsets (flag "set" + 8 little-endian bytes).
    for (const auto& [id, flag_pos] : flag_pos_of) {
      uint8_t field[9];
      field[0] = kOffsetSet;
      uint64_t v = data_pos_of[id];
      for (int i = 0; i < 8; ++i) field[1 + i] = static_cast<uint8_t>(v >> (8 * i));
      if (::pwrite(fd, field, sizeof field, static_cast<off_t>(flag_pos)) != static_cast<ssize_t>(sizeof field))
        throw std::runtime_error(std::string("cannot write the archive: ") + std::strerror(errno));
      ++result.entries;
    }
    result.repaired = true;
  } catch (const Unparseable& e) {
    result.reason = e.what();
  }
  return result;
}

}  // namespace coffer::pg
