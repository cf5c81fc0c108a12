// This host's record of its WAL pushes, BACKUP_DIR/wal_push_state.json, for `status` and the
// metrics (as pg_stat_archiver is the server's): per cluster the last file stored and when, and
// the failures since then. It is a note, not a journal: no fsync (a push must stay quick), and
// failing to write it never fails a push.
//
//   {"<sysid>-<major>": {"last_archived": "0000000100000000000000A3", "last_archived_time": "...Z",
//                        "last_failed": "...", "last_failed_time": "...Z", "last_error": "...",
//                        "failed_pushes": 3}}
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "coffer/backup_types.h"
#include "coffer/clock.h"

namespace coffer {

class WalPushState {
 public:
  explicit WalPushState(std::filesystem::path backup_dir);

  // A push of `name` stored it (or found it stored): the failures before it are cleared.
  void stored(const std::string& cluster, const std::string& name, TimePoint when);
  // A push of `name` failed with `error`. Returns true when this is the first failure of `name`
  // since the last success (the caller logs that one; the archiver retries every few seconds).
  bool failed(const std::string& cluster, const std::string& name, TimePoint when, const std::string& error);
  // Cluster -> the state's fields of WalArchiveStatus (cluster, last_*, failed_pushes); empty
  // when there is no state file or it cannot be read.
  std::map<std::string, WalArchiveStatus> read() const;

 private:
  std::filesystem::path path_;
};

}  // namespace coffer
