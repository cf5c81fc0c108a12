// Chunk ids: HMAC-SHA-256 of the chunk's plaintext under the repository's id key.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace coffer {

using ChunkId = std::array<uint8_t, 32>;

// A reference from a file (or stream) to one of its chunks, in order.
struct ChunkRef {
  ChunkId id{};
  uint32_t size = 0;  // plaintext length
  bool operator==(const ChunkRef&) const = default;
};

struct ChunkIdHash {
  size_t operator()(const ChunkId& id) const noexcept {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);  // ids are uniformly random already
    return h;
  }
};

}  // namespace coffer
