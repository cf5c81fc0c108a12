// The source seam: anything that yields a stream of bytes (a file, a pg_dump pipe). A utility
// (util/ depends on nothing above it): sources and util/subprocess.h implement it, repo/ reads it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "util/bytes.h"

namespace coffer {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; returns 0 at end of stream. Throws coffer::Error.
  virtual size_t read(uint8_t* buf, size_t n) = 0;
};

// Reads bytes held in memory; the caller keeps them alive while the source is used.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  explicit MemorySource(ByteView data) : data_(reinterpret_cast<const char*>(data.data()), data.size()) {}
  size_t read(uint8_t* buf, size_t n) override {
    n = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace coffer
