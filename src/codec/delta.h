// Delta payloads: a chunk compressed by zstd with an earlier chunk (its base) as a raw prefix
// dictionary. A database dump's chunk that differs from yesterday's in a few rows then costs a
// few hundred bytes instead of a whole compressed chunk.
//
//   payload = 1 byte codec id (kDeltaCodecId), then one zstd frame (with its content size)
//
// Decoding needs the base's plaintext; the pack header and index name the base (pack.h, index.h).
#pragma once

#include <cstdint>

#include "util/bytes.h"

namespace coffer {

// Never used by encode_payload's codecs (compression.h), so decode_payload refuses it by name.
constexpr uint8_t kDeltaCodecId = 4;

// zstd `level` (clamped to 1..19) against `base`.
Bytes encode_delta_payload(int level, ByteView base, ByteView data);

bool is_delta_payload(ByteView encoded);

// Inverse of encode_delta_payload. `max_size` bounds the output. Throws Error(kDamaged) when the
// payload is malformed or not a delta. Another base than the encoder's gives wrong bytes, not an
// error: callers check the result against the chunk id (open_blob does).
Bytes decode_delta_payload(ByteView encoded, ByteView base, size_t max_size);

}  // namespace coffer
