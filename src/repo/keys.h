// The repository's master keys and the key file that stores them.
//
// Key file (keys/<id>), plaintext JSON:
//   {"version":1, "kdf":"argon2id", "memory_kib":..., "iterations":..., "parallelism":...,
//    "salt":"<hex>", "data":"<hex of seal(kek, master-keys JSON, aad "coffer-key")>"}
// or, for an unencrypted repository, {"version":1, "kdf":"none", "data":"<hex of master JSON>"}.
// The master keys never change; a passphrase change writes a new key file (no data rewrite).
#pragma once

#include <optional>
#include <string>

#include "codec/crypto.h"
#include "util/bytes.h"

namespace coffer {

struct MasterKeys {
  Key encryption{};  // AES-256-GCM key for every sealed object
  Key id{};          // HMAC key for chunk ids and, unencrypted, object integrity tags
  Key chunker{};     // seed of the chunker's gear table
};

MasterKeys generate_master_keys();

// The master keys as JSON text ({"encryption","id","chunker"}: hex) and back; the parser throws
// std::exception on anything malformed (callers say which object was damaged).
std::string master_keys_to_text(const MasterKeys& keys);
MasterKeys master_keys_from_text(const std::string& text);

// Serialises the master keys into a key file, wrapped by a key derived from `passphrase`;
// with no passphrase the keys are stored in the clear (unencrypted repository).
std::string make_key_file(const MasterKeys& keys, const std::optional<std::string>& passphrase,
                          const KdfParams& kdf);

// Unwraps a key file. Throws Error(kAuth) on a wrong passphrase, Error(kConfig) when the file
// needs a passphrase and none was given, Error(kDamaged) when it cannot be parsed.
MasterKeys open_key_file(const std::string& text, const std::optional<std::string>& passphrase,
                         const std::string& name);

}  // namespace coffer
