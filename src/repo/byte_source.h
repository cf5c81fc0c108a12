// The source seam: anything that yields a stream of bytes (a file, a pg_dump pipe).
#pragma once

#include <cstddef>
#include <cstdint>

namespace coffer {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; returns 0 at end of stream. Throws coffer::Error.
  virtual size_t read(uint8_t* buf, size_t n) = 0;
};

}  // namespace coffer
