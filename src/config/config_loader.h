// What the library itself needs of the configuration, beyond the public loader
// (coffer/config_loader.h: sources, load, describe, service settings).
#pragma once

#include <string>
#include <vector>

#include "coffer/config_loader.h"
#include "config/passphrase.h"  // read_passphrase, for the loader's callers

namespace coffer::config {

// Names of all settings coffer reads, in display order.
const std::vector<std::string>& setting_names();

}  // namespace coffer::config
