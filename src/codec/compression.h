// Compression of chunk and metadata payloads. The codec id is stored in the repository format
// (one byte before each compressed payload), so the values below never change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/bytes.h"

namespace coffer {

enum class Codec : uint8_t { kNone = 0, kZstd = 1, kGzip = 2, kLz4 = 3 };

// Every codec, in the order users are offered them (settings, their messages and docs).
inline constexpr Codec kAllCodecs[] = {Codec::kZstd, Codec::kGzip, Codec::kLz4, Codec::kNone};

struct CompressionSpec {
  Codec codec = Codec::kZstd;
  int level = 3;  // codec-specific; zstd 1..19 (default 3), gzip 1..9 (default 6), lz4 ignored
};

// "zstd", "gzip", "lz4", "none". nullopt for anything else.
std::optional<Codec> codec_from_name(std::string_view name);
const char* codec_name(Codec c);
// Default level for a codec and the valid [min, max] range (both 0 for none/lz4).
int default_level(Codec c);
std::pair<int, int> level_range(Codec c);

// Encodes `data` as: 1 byte codec id, then the codec's payload. When compressing does not
// shrink the data (already-compressed input), the output uses Codec::kNone instead, so
// incompressible chunks cost one byte and no decompression time.
Bytes encode_payload(const CompressionSpec& spec, ByteView data);
// The same, in a buffer of the calling thread's that the next call on this thread overwrites:
// for the backup's hot path, which seals the payload straight into a pack.
ByteView encode_payload_scratch(const CompressionSpec& spec, ByteView data);

// Whether `data` looks already compressed (photos, PDFs, archives): the order-0 entropy of a
// few samples is near 8 bits per byte. encode_payload compresses such data at zstd level 1,
// which gives the same size as higher levels on it, faster.
bool looks_like_noise(ByteView data);

// Inverse of encode_payload. `max_size` bounds the decompressed size (protection against
// decompression bombs in a hostile repository). Throws Error(kDamaged) on any malformed input.
Bytes decode_payload(ByteView encoded, size_t max_size);

}  // namespace coffer
