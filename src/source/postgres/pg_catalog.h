// Queries the backup needs, over libpq: server version, database size, tables with exact row
// counts, whether a database exists and has tables, creating a database.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "source/postgres/pg_connection.h"

typedef struct pg_conn PGconn;

namespace coffer::pg {

struct TableInfo {
  std::string schema;
  std::string name;
  uint64_t rows = 0;
  bool operator==(const TableInfo&) const = default;
};

// One libpq session. Throws Error(kDatabase) with the server's message (never the password)
// and the target ("host:port/db") when it cannot connect or a query fails.
class Session {
 public:
  Session(const Connection& conn, const std::string& dbname = "");
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  int server_version_num();              // e.g. 150018
  std::string server_version();          // e.g. "15.18"
  uint64_t database_size();              // pg_database_size(current_database())
  // Ordinary and partitioned-leaf tables outside pg_catalog/information_schema, with exact
  // count(*) each, sorted by schema then name.
  std::vector<TableInfo> tables_with_row_counts();
  // The same tables with rows left at 0, and one table's exact count(*).
  std::vector<TableInfo> user_tables();
  uint64_t count_rows(const TableInfo& table);
  // The same tables with the rows the server's statistics say were inserted into each
  // (pg_stat_user_tables.n_tup_ins), leaving out any table with updates or deletes counted, or
  // with statistics off. Cheap at any size, but a session's counts reach the statistics only
  // when it ends, so a missing or lower count is not a verdict: count_rows() gives one.
  std::vector<TableInfo> tables_with_inserted_rows();
  bool has_user_tables();
  bool database_exists(const std::string& name);
  void create_database(const std::string& name);  // identifier quoted safely
  void create_schema_if_missing(const std::string& name);  // pg_restore -t does not create it
  bool can_read_roles();                          // may run pg_dumpall --globals-only

  // Starts a REPEATABLE READ transaction and exports its snapshot (pg_export_snapshot()):
  // pg_dump --snapshot=<id> then dumps exactly what this session sees; row counts taken in this
  // session match the dump. The snapshot stays valid until end_snapshot() or destruction.
  std::string begin_snapshot();
  void end_snapshot();
  // Opens a read-only transaction that sees exactly snapshot `id` (begin_snapshot() of another
  // session, still open). end_snapshot() closes it.
  void import_snapshot(const std::string& id);

  // Runs a query returning one text value (tests and small checks).
  std::string query_value(const std::string& sql);
  // Runs a statement, or a query whose rows are returned as text ("" for NULL), with optional
  // text parameters ($1, $2, ...).
  void execute(const std::string& sql, const std::vector<std::string>& params = {});
  std::vector<std::vector<std::string>> query_rows(const std::string& sql,
                                                   const std::vector<std::string>& params = {});
  // Drops `name` (DROP DATABASE IF EXISTS, identifier quoted safely).
  void drop_database(const std::string& name);
  // Other sessions connected to `name` right now, as "pid (application)" (this one left out).
  std::vector<std::string> sessions_on(const std::string& name);

 private:
  PGconn* conn_ = nullptr;
  std::string target_;
};

}  // namespace coffer::pg
