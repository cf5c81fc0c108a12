#include "util/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace coffer {

void failpoint(std::string_view name) {
  const char* spec = std::getenv("COFFER_FAILPOINT");
  if (!spec || !*spec) return;
  std::string_view rest(spec);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::string_view action;
    if (size_t colon = item.find(':'); colon != std::string_view::npos) {
      action = item.substr(colon + 1);
      item = item.substr(0, colon);
    }
    if (item != name) continue;
    if (action.empty()) {
      ::kill(::getpid(), SIGKILL);
      ::pause();  // SIGKILL cannot be caught; never returns
    }
    constexpr std::string_view kSleep = "sleep=";
    if (action.substr(0, kSleep.size()) == kSleep) {
      long ms = 0;
      std::string_view digits = action.substr(kSleep.size());
      std::from_chars(digits.data(), digits.data() + digits.size(), ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }
}

}  // namespace coffer
