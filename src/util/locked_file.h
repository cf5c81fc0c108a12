// Small state files that several processes update (backup_log.json, wal_push_state.json): an
// flock on "<file>.lock" around read-change-write, and a write through a temp file and a rename
// so a reader sees the old file or the new one, never half of one.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace coffer {

// Runs `fn` holding an exclusive flock on `lock_path` (created 0600 when missing). Throws
// Error(kStorage) naming the file when it cannot be opened or locked.
void with_file_lock(const std::filesystem::path& lock_path, const std::function<void()>& fn);

// Replaces `path` by `text` (0600): "<path>.tmp", fsync when `sync`, rename. Throws
// Error(kStorage) naming the file; the temp file is removed then.
void replace_file(const std::filesystem::path& path, const std::string& text, bool sync);

}  // namespace coffer
