// Sizes as coffer shows them to people: in messages, progress lines and command output.
#pragma once

#include <cstdint>
#include <string>

namespace coffer {

// "512 B", "1.5 MiB", "2.0 GiB".
std::string human_bytes(uint64_t n);

}  // namespace coffer
