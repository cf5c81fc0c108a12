#include "repo/keys.h"

#include <nlohmann/json.hpp>

#include "coffer/error.h"

namespace coffer {
namespace {

constexpr std::string_view kKeyAad = "coffer-key";

nlohmann::json keys_to_json(const MasterKeys& k) {
  return {{"encryption", to_hex(k.encryption)}, {"id", to_hex(k.id)}, {"chunker", to_hex(k.chunker)}};
}

Key key_from_hex(const nlohmann::json& j, const char* field) {
  Bytes b = from_hex(j.at(field).get<std::string>());
  if (b.size() != kKeySize) throw std::runtime_error(std::string("bad length of ") + field);
  Key k;
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

}  // namespace

MasterKeys generate_master_keys() { return {random_key(), random_key(), random_key()}; }

std::string master_keys_to_text(const MasterKeys& keys) { return keys_to_json(keys).dump(); }

MasterKeys master_keys_from_text(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text);
  return {key_from_hex(j, "encryption"), key_from_hex(j, "id"), key_from_hex(j, "chunker")};
}

std::string make_key_file(const MasterKeys& keys, const std::optional<std::string>& passphrase,
                          const KdfParams& kdf) {
  std::string master = master_keys_to_text(keys);
  nlohmann::json file{{"version", 1}};
  if (!passphrase) {
    file["kdf"] = "none";
    file["data"] = to_hex(as_bytes(master));
    return file.dump(2);
  }
  Bytes salt = random_bytes(16);
  Key kek = derive_key(*passphrase, salt, kdf);
  file["kdf"] = "argon2id";
  file["memory_kib"] = kdf.memory_kib;
  file["iterations"] = kdf.iterations;
  file["parallelism"] = kdf.parallelism;
  file["salt"] = to_hex(salt);
  file["data"] = to_hex(seal(kek, as_bytes(master), as_bytes(kKeyAad)));
  return file.dump(2);
}

MasterKeys open_key_file(const std::string& text, const std::optional<std::string>& passphrase,
                         const std::string& name) {
  nlohmann::json file;
  try {
    file = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail(ErrorCategory::kDamaged, "key file " + name + " is damaged: " + e.what());
  }
  std::string master;
  try {
    std::string kdf = file.at("kdf").get<std::string>();
    Bytes data = from_hex(file.at("data").get<std::string>());
    if (kdf == "none") {
      master = to_string(data);
    } else if (kdf == "argon2id") {
      if (!passphrase)
        fail(ErrorCategory::kConfig,
             "the repository is encrypted: set BACKUP_PASSPHRASE_FILE or BACKUP_PASSPHRASE to its passphrase");
      KdfParams p{file.at("memory_kib").get<uint32_t>(), file.at("iterations").get<uint32_t>(),
                  file.at("parallelism").get<uint32_t>()};
      if (p.memory_kib > 4u * 1024 * 1024 || p.iterations > 100 || p.parallelism > 64)
        fail(ErrorCategory::kDamaged, "key file " + name + " has implausible KDF parameters");
      Bytes salt = from_hex(file.at("salt").get<std::string>());
      Key kek = derive_key(*passphrase, salt, p);
      Bytes plain;
      try {
        plain = open(kek, data, as_bytes(kKeyAad));
      } catch (const Error&) {
        fail(ErrorCategory::kAuth, "wrong passphrase: it does not open the repository's key (" + name + ")");
      }
      master = to_string(plain);
    } else {
      fail(ErrorCategory::kDamaged, "key file " + name + " uses an unknown KDF '" + kdf + "'");
    }
    return master_keys_from_text(master);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCategory::kDamaged, "key file " + name + " is damaged: " + e.what());
  }
}

}  // namespace coffer
