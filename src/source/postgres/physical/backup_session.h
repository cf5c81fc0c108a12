// The server's side of a physical base backup: pg_backup_start on a session held open while the
// data folder is read, pg_backup_stop at the end (non-exclusive: a backup that dies leaves the
// server as it was). backup_label and tablespace_map come back from pg_backup_stop and go into
// the backup, never into the live data folder. PostgreSQL 15+ names (pg_start_backup /
// pg_stop_backup with exclusive = false before).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_connection.h"

namespace coffer::pg::physical {

struct Tablespace {
  std::string oid;       // pg_tblspc/<oid>
  std::string location;  // where its symlink points
};

struct BackupStart {
  uint64_t lsn = 0;
  uint32_t timeline = 0;
  std::string wal_file;  // the segment holding the start LSN
  std::string time;      // the server's clock, ISO 8601 UTC
  uint64_t system_identifier = 0;
  std::string data_directory;  // SHOW data_directory ("" when the role may not read it)
  uint64_t wal_segment_bytes = 0;
  bool data_checksums = false;
  std::vector<Tablespace> tablespaces;
};

struct BackupStop {
  uint64_t lsn = 0;
  std::string wal_file;  // the segment holding the stop LSN: the backup needs WAL up to it
  std::string time;
  std::string backup_label;
  std::string tablespace_map;
};

class BackupSession {
 public:
  // Connects (to the maintenance database) and checks what a physical backup needs, each with
  // a clear error: wal_level replica or logical, archive_mode on and an archive_command that
  // runs coffer wal-push, server 13 or newer, and a role with every privilege the backup uses
  // (backup_privileges.h; `needs_data_directory`: DB_DATA_DIR is unset, so SHOW data_directory
  // must be readable).
  BackupSession(const Connection& conn, bool needs_data_directory);
  // `fast`: an immediate checkpoint rather than a spread one.
  BackupStart start(const std::string& label, bool fast);
  BackupStop stop();
  // Closes the current WAL segment so the archiver takes it (pg_switch_wal), when it holds
  // anything since the last switch.
  void switch_wal();
  // Whether the archiver has archived `wal_file` (pg_stat_archiver's last_archived_wal is at or
  // past it); coffer also checks the repository itself.
  std::string last_archived_wal();
  int server_version_num() { return session_.server_version_num(); }
  std::string server_version() { return session_.server_version(); }

 private:
  Session session_;
  int version_ = 0;
  bool started_ = false;
};

}  // namespace coffer::pg::physical
