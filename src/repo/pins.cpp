#include "repo/pins.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "coffer/clock.h"
#include "repo/manifest.h"

namespace coffer {

std::string pin_key(const std::string& backup_id) { return "pins/" + backup_id; }

std::set<std::string> read_pins(Storage& storage) {
  std::set<std::string> out;
  for (const ObjectInfo& o : storage.list("pins/")) {
    std::string id = o.key.substr(5);
    if (is_valid_backup_id(id)) out.insert(id);
  }
  return out;
}

bool add_pin(Storage& storage, const std::string& backup_id) {
  nlohmann::json j{{"backup_id", backup_id},
                   {"pinned_at", format_iso8601_utc(std::chrono::system_clock::now())}};
  return storage.put_if_absent(pin_key(backup_id), as_bytes(j.dump()));
}

bool remove_pin(Storage& storage, const std::string& backup_id) {
  if (!storage.head(pin_key(backup_id))) return false;
  storage.remove(pin_key(backup_id));
  return true;
}

}  // namespace coffer
