#include "repo/key_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "codec/crypto.h"
#include "util/fd_io.h"

namespace coffer {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kAad = "coffer-key-cache";

Key cache_key(const std::string& passphrase, ByteView salt) {
  Bytes material(passphrase.begin(), passphrase.end());
  material.insert(material.end(), salt.begin(), salt.end());
  return blake3_derive_key("coffer 2026-12 key cache", material);
}

std::string key_file_digest(const std::string& key_file_text) { return to_hex(sha256(as_bytes(key_file_text))); }

bool safe_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
      return false;
  return true;
}

}  // namespace

fs::path KeyCache::default_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "coffer" / "keys";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "coffer" / "keys";
  return {};
}

std::optional<MasterKeys> KeyCache::load(const std::string& repository_id, const std::string& key_file_text,
                                         const std::string& passphrase) const {
  if (dir_.empty() || !safe_id(repository_id)) return std::nullopt;
  std::ifstream in(dir_ / repository_id);
  if (!in) return std::nullopt;
  try {
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(text.str());
    if (j.at("version").get<int>() != 1 || j.at("key_file").get<std::string>() != key_file_digest(key_file_text))
      return std::nullopt;
    const Bytes salt = from_hex(j.at("salt").get<std::string>());
    const Bytes plain = open(cache_key(passphrase, salt), from_hex(j.at("data").get<std::string>()), as_bytes(kAad));
    return master_keys_from_text(to_string(plain));
  } catch (const std::exception&) {
    return std::nullopt;  // wrong passphrase, another format, damage: a miss, never an error
  }
}

bool KeyCache::store(const std::string& repository_id, const std::string& key_file_text, const std::string& passphrase,
                     const MasterKeys& keys) const {
  if (dir_.empty() || !safe_id(repository_id)) return false;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || ::chmod(dir_.c_str(), 0700) != 0) return false;
  const Bytes salt = random_bytes(16);
  nlohmann::json j{{"version", 1},
                   {"key_file", key_file_digest(key_file_text)},
                   {"salt", to_hex(salt)},
                   {"data", to_hex(seal(cache_key(passphrase, salt), as_bytes(master_keys_to_text(keys)), as_bytes(kAad)))}};
  const fs::path tmp = dir_ / (repository_id + ".tmp-" + std::to_string(::getpid()));
  try {
    write_new_file(tmp.string(), as_bytes(j.dump()));  // 0600
  } catch (const std::exception&) {
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), (dir_ / repository_id).c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace coffer
