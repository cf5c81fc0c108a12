// Little-endian binary encoding with bounds checks. Reader throws Error(kDamaged) naming
// `what` on any read past the end, so parsers of repository objects stay short and safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "coffer/error.h"
#include "util/bytes.h"

namespace coffer {

class BinaryWriter {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void raw(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
  Bytes& bytes() { return out_; }

 private:
  Bytes out_;
};

class BinaryReader {
 public:
  BinaryReader(ByteView in, std::string what) : in_(in), what_(std::move(what)) {}
  uint8_t u8() { return take(1)[0]; }
  uint32_t u32() {
    ByteView b = take(4);
    return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
  }
  uint64_t u64() {
    uint64_t lo = u32();
    return lo | uint64_t(u32()) << 32;
  }
  ByteView take(size_t n) {
    if (n > in_.size() - pos_) fail(ErrorCategory::kDamaged, what_ + " is damaged: truncated");
    ByteView b = in_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  template <size_t N>
  void copy_to(std::array<uint8_t, N>& a) {
    ByteView b = take(N);
    std::memcpy(a.data(), b.data(), N);
  }
  size_t remaining() const { return in_.size() - pos_; }
  const std::string& what() const { return what_; }

 private:
  ByteView in_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace coffer
