#include "repo/object_sealer.h"

#include <cstring>

#include "coffer/error.h"

namespace coffer {

ObjectSealer::ObjectSealer(const MasterKeys& keys, bool encrypted, ChunkIdFunction id_hash)
    : keys_(keys), encrypted_(encrypted), id_hash_(id_hash) {
  // Its own key (BLAKE3's key derivation mode), so no chunk id, a MAC of public-in-the-index
  // plaintext under the id key, can ever be a valid tag.
  if (!encrypted_ && id_hash_ == ChunkIdFunction::kKeyedBlake3)
    tag_key_ = blake3_derive_key("coffer 2026-11 object tag", keys_.id);
}

Digest ObjectSealer::tag(std::string_view kind, ByteView plaintext) const {
  // Length-prefix the kind so (kind, plaintext) pairs cannot collide.
  const uint8_t kind_length = static_cast<uint8_t>(kind.size());
  if (id_hash_ == ChunkIdFunction::kKeyedBlake3)
    return keyed_blake3(tag_key_, {ByteView(&kind_length, 1), as_bytes(kind), plaintext});  // no copy of the blob
  Bytes msg;
  msg.reserve(1 + kind.size() + plaintext.size());
  msg.push_back(static_cast<uint8_t>(kind.size()));
  msg.insert(msg.end(), kind.begin(), kind.end());
  msg.insert(msg.end(), plaintext.begin(), plaintext.end());
  return hmac_sha256(keys_.id, msg);
}

Bytes ObjectSealer::seal(std::string_view kind, ByteView plaintext) const {
  Bytes out(plaintext.size() + overhead());
  seal_to(kind, plaintext, out.data());
  return out;
}

void ObjectSealer::seal_to(std::string_view kind, ByteView plaintext, uint8_t* out) const {
  if (encrypted_) return coffer::seal_to(keys_.encryption, plaintext, as_bytes(kind), out);
  if (!plaintext.empty()) std::memcpy(out, plaintext.data(), plaintext.size());
  Digest t = tag(kind, plaintext);
  std::memcpy(out + plaintext.size(), t.data(), t.size());
}

Bytes ObjectSealer::open(std::string_view kind, ByteView stored, const std::string& what) const {
  if (encrypted_) {
    try {
      return coffer::open(keys_.encryption, stored, as_bytes(kind));
    } catch (const Error&) {
      fail(ErrorCategory::kDamaged, what + " is damaged: authentication failed");
    }
  }
  if (stored.size() < 32) fail(ErrorCategory::kDamaged, what + " is damaged: too short");
  ByteView plain = stored.first(stored.size() - 32);
  Digest t = tag(kind, plain);
  if (!equal_ct(t, stored.last(32))) fail(ErrorCategory::kDamaged, what + " is damaged: integrity check failed");
  return Bytes(plain.begin(), plain.end());
}

}  // namespace coffer
