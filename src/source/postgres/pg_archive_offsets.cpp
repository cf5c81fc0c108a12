#include "source/postgres/pg_archive_offsets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <stdexcept>
#include <vector>

#include "source/postgres/pg_archive_format.h"

namespace coffer::pg {
namespace {

using archive::kBlockBlobs;
using archive::kBlockData;
using archive::kOffsetNotSet;
using archive::kOffsetSet;
using archive::Unparseable;

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
  bool skip_str() {  // false for a null string
    int64_t len = read_int();
    if (len > 0) skip(static_cast<uint64_t>(len));
    return len >= 0;
  }
  std::optional<std::string> read_str() {
    int64_t len = read_int();
    if (len < 0) return std::nullopt;
    // Only names and COPY statements are read whole: far below this, unless the archive is damaged.
    if (len > (16 << 20)) throw Unparseable("a string in the table of contents is implausibly long");
    std::string s(static_cast<size_t>(len), '\0');
    for (char& c : s) c = static_cast<char>(byte());
    return s;
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
    const archive::Header h = archive::read_header(r);
    if (h.toc_entries > 10'000'000) throw Unparseable("implausible entry count");
    std::map<int64_t, uint64_t> flag_pos_of;  // dump id -> file position of its offset flag
    for (int64_t i = 0; i < h.toc_entries; ++i) {
      const archive::TocEntry e = archive::read_toc_entry(r, h.vmin);
      if (e.offset_flag == kOffsetNotSet) flag_pos_of[e.dump_id] = e.offset_flag_pos;
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
