// pg_dump's custom archive format as coffer reads it (pg_archive_offsets fills in a staged
// archive's data offsets, pg_archive_rows counts rows in a streamed one): the constants of
// PostgreSQL's pg_backup_archiver.h / pg_backup_custom.c, and the header and table-of-contents
// layout of its ReadHead / ReadToc. Formats 1.12-1.15 with 8-byte offsets.
//
// The readers are templates over the caller's pull reader, which needs byte(), read_int() (a sign
// byte, then int_size little-endian bytes), read_str() (length, negative for null, then bytes),
// skip_str() (false for a null string), pos() and a public `int int_size`. Anything else than
// what they know throws Unparseable with the reason.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace coffer::pg::archive {

constexpr int kOffsetNotSet = 1;
constexpr int kOffsetSet = 2;
constexpr int kOffsetNoData = 3;
constexpr int kBlockData = 1;
constexpr int kBlockBlobs = 3;

struct Unparseable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A reader needs `need` bytes (counted from the start of its span) to parse the current item.
struct NeedMore {
  size_t need;
};

// Pull reader over bytes held in memory. Running out of them is Unparseable, or, for a span that
// may yet grow (`partial`: a stream's head being buffered), NeedMore.
class SpanReader {
 public:
  explicit SpanReader(ByteView bytes, bool partial = false) : bytes_(bytes), partial_(partial) {}
  uint64_t pos() const { return pos_; }
  int byte() {
    want(1);
    return bytes_[pos_++];
  }
  // pg_dump's WriteInt: a sign byte, then int_size little-endian bytes.
  int64_t read_int() {
    want(1 + static_cast<uint64_t>(int_size));
    const bool negative = bytes_[pos_++] != 0;
    uint64_t v = 0;
    for (int i = 0; i < int_size; ++i) v |= uint64_t(bytes_[pos_++]) << (8 * i);
    if (v > INT32_MAX) throw Unparseable("an integer in the header or table of contents is out of range");
    return negative ? -int64_t(v) : int64_t(v);
  }
  // Length (negative: null), then the bytes.
  std::optional<std::string> read_str() {
    int64_t len = read_int();
    if (len < 0) return std::nullopt;
    want(static_cast<uint64_t>(len));
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(len));
    pos_ += static_cast<uint64_t>(len);
    return s;
  }
  bool skip_str() {  // false for a null string
    int64_t len = read_int();
    if (len > 0) {
      want(static_cast<uint64_t>(len));
      pos_ += static_cast<uint64_t>(len);
    }
    return len >= 0;
  }
  int int_size = 4;

 private:
  void want(uint64_t n) {
    if (bytes_.size() - pos_ >= n) return;
    if (partial_) throw NeedMore{static_cast<size_t>(pos_ + n)};
    throw Unparseable("the archive ends early");
  }
  ByteView bytes_;
  bool partial_;
  uint64_t pos_ = 0;
};

// pg_dump's WriteInt (a sign byte, then int_size little-endian bytes) read from a stream that
// may split it across pieces: the data blocks, which are walked as they stream.
class SplitInt {
 public:
  enum class Got { kMore, kValue, kOutOfRange };
  // Consumes bytes from `p` (up to `end`); kValue with `value` once the integer is complete.
  // A large-object oid above 2^31 is written as a negative int, INT_MIN included: anything
  // beyond a C int is kOutOfRange.
  Got take(const uint8_t*& p, const uint8_t* end, int int_size, int64_t& value) {
    const int total = 1 + int_size;
    if (got_ == 0 && end - p >= total) {  // the usual case, once per row: all here
      negative_ = p[0] != 0;
      magnitude_ = 0;
      for (int i = 0; i < int_size; ++i) magnitude_ |= uint64_t(p[1 + i]) << (8 * i);
      p += total;
    } else {
      for (; p < end && got_ < total; ++p, ++got_) {
        if (got_ == 0) {
          negative_ = *p != 0;
          magnitude_ = 0;
        } else {
          magnitude_ |= uint64_t(*p) << (8 * (got_ - 1));
        }
      }
      if (got_ < total) return Got::kMore;
      got_ = 0;
    }
    if (magnitude_ > uint64_t(INT32_MAX) + (negative_ ? 1 : 0)) return Got::kOutOfRange;
    value = negative_ ? -int64_t(magnitude_) : int64_t(magnitude_);
    return Got::kValue;
  }

 private:
  int got_ = 0;  // bytes of a split integer read so far (sign byte included)
  bool negative_ = false;
  uint64_t magnitude_ = 0;
};

// pg_dump's WriteInt: a sign byte, then int_size little-endian bytes.
inline void write_int(Bytes& out, int64_t v, int int_size) {
  out.push_back(v < 0 ? 1 : 0);
  uint64_t m = static_cast<uint64_t>(v < 0 ? -v : v);
  for (int i = 0; i < int_size; ++i) out.push_back(static_cast<uint8_t>(m >> (8 * i)));
}

constexpr size_t kFormatBytePos = 10;  // "PGDMP", version (3 bytes), int size, offset size, format
constexpr int kFormatCustom = 1;
constexpr int kFormatDirectory = 3;  // as pg_dump --format=directory writes it

struct Header {
  int vmin = 0;              // format 1.<vmin>
  int64_t compression = 0;   // from 1.15 the algorithm, before it the level; 0: none
  int64_t toc_entries = 0;
};

// Reads the header up to and including the entry count; sets r.int_size. `format`: the archive
// format expected (kFormatCustom, or kFormatDirectory for a directory archive's toc.dat).
template <class Reader>
Header read_header(Reader& r, int expected_format = kFormatCustom) {
  char magic[5];
  for (char& c : magic) c = static_cast<char>(r.byte());
  if (std::memcmp(magic, "PGDMP", 5) != 0) throw Unparseable("not a custom-format archive (no PGDMP magic)");
  Header h;
  const int vmaj = r.byte();
  h.vmin = r.byte();
  r.byte();  // revision
  if (vmaj != 1 || h.vmin < 12 || h.vmin > 15)
    throw Unparseable("archive format " + std::to_string(vmaj) + "." + std::to_string(h.vmin) +
                      " is not one we know (1.12-1.15)");
  r.int_size = r.byte();
  const int off_size = r.byte();
  const int format = r.byte();
  if (r.int_size < 1 || r.int_size > 8 || off_size != 8 || format != expected_format)
    throw Unparseable("unexpected integer size " + std::to_string(r.int_size) + ", offset size " +
                      std::to_string(off_size) + " or format " + std::to_string(format));
  h.compression = h.vmin >= 15 ? r.byte() : r.read_int();
  for (int i = 0; i < 7; ++i) r.read_int();  // creation time
  r.skip_str();                              // database name
  r.skip_str();                              // server version
  r.skip_str();                              // pg_dump version
  h.toc_entries = r.read_int();
  if (h.toc_entries < 0) throw Unparseable("negative table-of-contents entry count");
  return h;
}

// pg_dump's sections (teSection).
constexpr int kSectionPostData = 4;

struct TocEntry {
  int64_t dump_id = 0;
  int section = 0;
  std::optional<std::string> tag, desc, copy_statement, schema;
  std::vector<std::string> deps;  // dump ids this entry depends on, as written
  int offset_flag = 0;            // kOffsetNotSet, kOffsetSet or kOffsetNoData
  std::string data_file;          // directory archives: the data file's name ("" for none)
  // Reader positions: the entry's start (its dump id), the field after the dump id, the
  // dependency list, and the format-specific part (custom: the offset flag, 8 bytes after it).
  uint64_t start_pos = 0, after_id_pos = 0, deps_pos = 0, offset_flag_pos = 0;
};

// Reads one table-of-contents entry, its format-specific part included: a custom archive's
// data offset, or a directory archive's data file name.
template <class Reader>
TocEntry read_toc_entry(Reader& r, int vmin, int format = kFormatCustom) {
  TocEntry e;
  e.start_pos = r.pos();
  e.dump_id = r.read_int();
  e.after_id_pos = r.pos();
  r.read_int();  // has data dumper
  r.skip_str();  // table oid
  r.skip_str();  // oid
  e.tag = r.read_str();
  e.desc = r.read_str();
  e.section = static_cast<int>(r.read_int());
  r.skip_str();  // defn
  r.skip_str();  // drop statement
  e.copy_statement = r.read_str();
  e.schema = r.read_str();
  r.skip_str();                  // tablespace
  if (vmin >= 14) r.skip_str();  // table access method
  r.skip_str();                  // owner
  r.skip_str();                  // "with oids" ("false")
  e.deps_pos = r.pos();
  while (std::optional<std::string> dep = r.read_str()) e.deps.push_back(std::move(*dep));  // ended by a null
  e.offset_flag_pos = r.pos();
  if (format == kFormatDirectory) {
    e.data_file = r.read_str().value_or("");
    e.offset_flag = e.data_file.empty() ? kOffsetNoData : kOffsetNotSet;
    return e;
  }
  e.offset_flag = r.byte();
  for (int i = 0; i < 8; ++i) r.byte();  // the offset: "not set" when pg_dump wrote to a pipe
  if (e.offset_flag != kOffsetNotSet && e.offset_flag != kOffsetSet && e.offset_flag != kOffsetNoData)
    throw Unparseable("unknown data offset flag " + std::to_string(e.offset_flag) + " in entry " +
                      std::to_string(e.dump_id));
  return e;
}

}  // namespace coffer::pg::archive
