// Turns plaintext repository objects (blobs, pack headers, index files, manifests) into stored
// bytes and back. Encrypted: AES-256-GCM with a random nonce and the object kind as AAD.
// Unencrypted: the plaintext followed by HMAC-SHA-256(id key, kind || plaintext), so damage is
// still detected. Either way, open() throws Error(kDamaged) naming `what` when a check fails.
#pragma once

#include <string>
#include <string_view>

#include "repo/keys.h"

namespace coffer {

class ObjectSealer {
 public:
  ObjectSealer(const MasterKeys& keys, bool encrypted) : keys_(keys), encrypted_(encrypted) {}

  Bytes seal(std::string_view kind, ByteView plaintext) const;
  // seal() into `out`, which has room for plaintext.size() + overhead() bytes.
  void seal_to(std::string_view kind, ByteView plaintext, uint8_t* out) const;
  Bytes open(std::string_view kind, ByteView stored, const std::string& what) const;
  size_t overhead() const { return encrypted_ ? kSealOverhead : 32; }
  bool encrypted() const { return encrypted_; }
  const MasterKeys& keys() const { return keys_; }

 private:
  Digest tag(std::string_view kind, ByteView plaintext) const;
  MasterKeys keys_;
  bool encrypted_;
};

}  // namespace coffer
