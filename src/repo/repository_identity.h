// Which repository a config object belongs to: its `repository_id`, written by init and never
// changed (config objects are immutable). A config without one (none is known; init has always
// written it) is named by the SHA-256 of its bytes instead, which is just as unique and fixed.
#pragma once

#include <string>

#include "util/bytes.h"

namespace coffer {

// "<32 hex>" from the config's repository_id, or "config-sha256:<first 32 hex>" when the config
// has none or is not JSON. Never throws.
std::string repository_id_of(ByteView config_bytes);

}  // namespace coffer
