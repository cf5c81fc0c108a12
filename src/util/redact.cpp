#include "coffer/redact.h"

namespace coffer {

std::string redact_url_credentials(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t sep = text.find("://", pos);
    if (sep == std::string_view::npos) break;
    const size_t start = sep + 3;
    // The authority ends at the path, query, fragment, or anything that cannot be in a URL.
    size_t end = start;
    while (end < text.size() && std::string_view("/?#\"' \t\r\n<>").find(text[end]) == std::string_view::npos) ++end;
    const size_t at = text.rfind('@', end == start ? start : end - 1);
    out.append(text.substr(pos, start - pos));
    if (at != std::string_view::npos && at >= start && at < end) {
      out += "***";
      pos = at;  // the '@' and the host stay
    } else {
      pos = start;
    }
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace coffer
