// Writing a whole buffer to a file descriptor, across short writes and EINTR.
#pragma once

#include <string>

#include "util/bytes.h"

namespace coffer {

// Returns 0, or the errno of the failed write.
int write_fully(int fd, ByteView data);

// The same, throwing Error(kStorage) "cannot write <what>: <reason>" on failure.
void write_all(int fd, ByteView data, const std::string& what);

// Creates `path` for writing, mode 0600; it must not exist yet. Throws Error(kStorage) naming it.
int create_new_file(const std::string& path);
// Closes a file written to; a failure (the last data not stored) throws Error(kStorage).
void close_written(int fd, const std::string& path);
// A new file (as create_new_file) holding `data`.
void write_new_file(const std::string& path, ByteView data);

}  // namespace coffer
