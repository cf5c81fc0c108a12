// This host and its processes, as locks, markers and notifications name them.
#pragma once

#include <cstdint>
#include <string>

namespace coffer {

// The host name locks, backups and scratch databases record. Testing hook: COFFER_HOSTNAME lets
// one machine play several hosts (two-host lock tests).
std::string this_host();

// True when no process `pid` runs on this host (kill(pid, 0) says ESRCH); false for pid <= 0.
bool process_gone(int64_t pid);

}  // namespace coffer
