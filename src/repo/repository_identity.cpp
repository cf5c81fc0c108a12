#include "repo/repository_identity.h"

#include <nlohmann/json.hpp>

#include "codec/crypto.h"

namespace coffer {

std::string repository_id_of(ByteView config_bytes) {
  nlohmann::json config = nlohmann::json::parse(config_bytes.begin(), config_bytes.end(), nullptr, false);
  if (config.is_object() && config.contains("repository_id") && config["repository_id"].is_string() &&
      !config["repository_id"].get<std::string>().empty())
    return config["repository_id"].get<std::string>();
  Digest d = sha256(config_bytes);
  return "config-sha256:" + to_hex(ByteView(d.data(), 16));
}

}  // namespace coffer
