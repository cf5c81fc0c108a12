// A cache of a repository's unwrapped master keys on this machine, for the commands PostgreSQL
// runs once per WAL file (wal-push, wal-fetch): the passphrase's Argon2id derivation costs about
// 0.1 s, as much as storing a 16 MiB segment, so every call paying it would halve archiving.
//
// One file per repository, <dir>/<repository id>, 0600 in a 0700 folder, written atomically:
//   {"version":1, "key_file":"<sha-256 of the key file it was opened from>", "salt":"<hex>",
//    "data":"<hex of seal(BLAKE3-derive(passphrase, salt), master keys JSON)>"}
// Reading it still needs the passphrase, but a fast hash guards it where the key file has
// Argon2id: whoever steals the file can guess passphrases much faster. WAL_KEY_CACHE=off turns
// the cache off. A changed key file (a new passphrase) makes the entry unusable.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "repo/keys.h"

namespace coffer {

class KeyCache {
 public:
  explicit KeyCache(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // $XDG_CACHE_HOME/coffer/keys, else $HOME/.cache/coffer/keys; empty when neither is set.
  static std::filesystem::path default_dir();

  // The keys cached for this repository, key file and passphrase; nullopt when there is no
  // usable entry (missing, other key file, wrong passphrase, damaged: all just a miss).
  std::optional<MasterKeys> load(const std::string& repository_id, const std::string& key_file_text,
                                 const std::string& passphrase) const;
  // Stores them. Best effort: returns false (and changes nothing) when the folder cannot be
  // made or written; the command then goes on without a cache.
  bool store(const std::string& repository_id, const std::string& key_file_text, const std::string& passphrase,
             const MasterKeys& keys) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace coffer
