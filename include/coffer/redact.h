// Credentials written into a URL (`http://user:secret@host:9000`) must never be shown: every
// place that shows an endpoint, an error or a log record passes its text through here.
#pragma once

#include <string>
#include <string_view>

namespace coffer {

// Replaces the user-info part of every URL in `text` ("scheme://user:secret@host") by "***"
// ("scheme://***@host"). Text without such a URL comes back unchanged.
std::string redact_url_credentials(std::string_view text);

}  // namespace coffer
