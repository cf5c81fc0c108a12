// pg_restore run on an archive on local disk (a custom-format file or a directory archive's
// folder) into an existing database, with coffer's choices: stop at the first error, one job
// in a single transaction, and one run per schema for a table selection.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_tools.h"

namespace coffer::pg {

struct RestoreRequest {
  std::string archive_path;        // a custom-format archive on local disk (seekable: -j works),
                                   // or a directory-format archive's folder
  std::string dbname;              // target database (must exist)
  std::vector<std::string> tables; // restore only these (pg_restore -t), empty = everything
  bool clean = false;              // --clean --if-exists
  int jobs = 2;                    // pg_restore -j
  bool single_transaction = false; // --single-transaction (one job): a failure changes nothing
  std::function<void(pid_t)> on_start;  // told each pg_restore's pid (to stop it early)
};
// Runs pg_restore; throws Error(kDatabase) with its stderr on failure.
void run_pg_restore(const Tools& tools, const Connection& conn, const RestoreRequest& request);

}  // namespace coffer::pg
