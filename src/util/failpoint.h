// Fail points: named places in long operations where a test can make coffer die or pause, to
// prove that a crash at that exact point leaves the repository consistent. Driven by the
// environment variable COFFER_FAILPOINT, a comma-separated list of
//   <name>             SIGKILL this process when <name> is reached
//   <name>:sleep=<ms>  pause there for <ms> milliseconds (to hold a lock while a test acts)
// Unset (the normal case) costs one getenv per call. A testing hook, not a user setting.
#pragma once

#include <string_view>

namespace coffer {

void failpoint(std::string_view name);

}  // namespace coffer
