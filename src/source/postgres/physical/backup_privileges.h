// What a role needs on the server for a physical base backup, checked before the backup starts
// (a backup that could not call pg_backup_stop at its end would have read the whole data folder
// for nothing): EXECUTE on the start and stop functions and on pg_switch_wal (revoked from
// PUBLIC by default), and the privileges of pg_read_all_settings when the data folder is found
// with SHOW data_directory (DB_DATA_DIR unset). A superuser has them all.
#pragma once

#include <string>
#include <vector>

namespace coffer::pg::physical {

struct Privilege {
  std::string check;  // a SQL boolean expression, true when the current role has it
  std::string what;   // for the message: "EXECUTE on pg_backup_stop(boolean)"
  std::string grant;  // what a superuser runs, with ROLE for the role's name
};

// The privileges a backup needs on a server of `server_version_num` (13 or newer).
std::vector<Privilege> backup_privileges(int server_version_num, bool needs_data_directory);

// The error text for `role` lacking `missing` (not empty): what is missing and the GRANTs to run.
std::string missing_privileges_message(const std::string& role, const std::vector<Privilege>& missing);

}  // namespace coffer::pg::physical
