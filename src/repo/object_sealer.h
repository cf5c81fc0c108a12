// Turns plaintext repository objects (blobs, pack headers, index files, manifests) into stored
// bytes and back. Encrypted: AES-256-GCM with a random nonce and the object kind as AAD.
// Unencrypted: the plaintext followed by a MAC of (kind, plaintext), so damage is still
// detected: keyed BLAKE3 under a key derived for tags alone in format 3, HMAC-SHA-256 under the id
// key before. Either way, open() throws Error(kDamaged) naming `what` when a check fails.
#pragma once

#include <string>
#include <string_view>

#include "repo/chunk_id.h"
#include "repo/keys.h"

namespace coffer {

// How chunk ids are computed from a chunk's plaintext, under the id key: HMAC-SHA-256 in
// repository formats 1 and 2, keyed BLAKE3 from format 3.
enum class ChunkIdFunction { kHmacSha256, kKeyedBlake3 };

class ObjectSealer {
 public:
  ObjectSealer(const MasterKeys& keys, bool encrypted, ChunkIdFunction id_hash);

  Bytes seal(std::string_view kind, ByteView plaintext) const;
  // seal() into `out`, which has room for plaintext.size() + overhead() bytes.
  void seal_to(std::string_view kind, ByteView plaintext, uint8_t* out) const;
  Bytes open(std::string_view kind, ByteView stored, const std::string& what) const;
  size_t overhead() const { return encrypted_ ? kSealOverhead : 32; }
  bool encrypted() const { return encrypted_; }
  const MasterKeys& keys() const { return keys_; }
  // The id of a chunk with this plaintext.
  ChunkId chunk_id(ByteView plaintext) const {
    return id_hash_ == ChunkIdFunction::kKeyedBlake3 ? keyed_blake3(keys_.id, plaintext) : hmac_sha256(keys_.id, plaintext);
  }
  ChunkIdFunction chunk_id_function() const { return id_hash_; }

 private:
  Digest tag(std::string_view kind, ByteView plaintext) const;
  MasterKeys keys_;
  bool encrypted_;
  ChunkIdFunction id_hash_;
  Key tag_key_{};  // format 3, unencrypted: the tag MAC's own key
};

}  // namespace coffer
