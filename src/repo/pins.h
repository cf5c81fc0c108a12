// Pins: a pinned backup is never removed by cleanup (`coffer create --keep`, `coffer pin`).
// Manifests are immutable, so a pin is an object of its own, `pins/<backup id>`, holding
// plaintext JSON {"backup_id", "pinned_at"}; its existence is what counts.
#pragma once

#include <set>
#include <string>

#include "storage/storage.h"

namespace coffer {

std::string pin_key(const std::string& backup_id);  // "pins/<id>"
std::set<std::string> read_pins(Storage& storage);   // pinned backup ids
// Return false when there was nothing to do (already pinned / not pinned).
bool add_pin(Storage& storage, const std::string& backup_id);
bool remove_pin(Storage& storage, const std::string& backup_id);

}  // namespace coffer
