// Free space checks before work that writes a known amount to a local folder (a database restore
// stages the whole dump in TMPDIR): fail at once with what is needed, rather than midway with
// ENOSPC after minutes of work.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace coffer {

// Bytes an unprivileged process may still write in the file system holding `dir`.
uint64_t free_bytes(const std::filesystem::path& dir);

// Throws Error(kStorage) when `dir` has less than `needed` bytes free. `what` says what needs the
// room and `remedy` how to give it ("set TMPDIR to a folder with room").
void require_free_space(const std::filesystem::path& dir, uint64_t needed, const std::string& what,
                        const std::string& remedy);

}  // namespace coffer
