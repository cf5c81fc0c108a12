// Writing a whole buffer to a file descriptor, across short writes and EINTR.
#pragma once

#include <string>

#include "util/bytes.h"

namespace coffer {

// Returns 0, or the errno of the failed write.
int write_fully(int fd, ByteView data);

// The same, throwing Error(kStorage) "cannot write <what>: <reason>" on failure.
void write_all(int fd, ByteView data, const std::string& what);

}  // namespace coffer
