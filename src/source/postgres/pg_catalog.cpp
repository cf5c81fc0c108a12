#include "source/postgres/pg_catalog.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "coffer/error.h"

namespace coffer::pg {
namespace {

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running..."):
// one line reads better inside ours.
std::string trimmed(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Owns a PGresult.
struct Result {
  PGresult* res;
  explicit Result(PGresult* r) : res(r) {}
  ~Result() { PQclear(res); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
};

// User tables as pg_dump sees them: ordinary tables and partitions (relkind 'r'); partitioned
// parents hold no rows themselves. System and temporary schemas are left out.
constexpr const char* kUserTablesWhere =
    "c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

}  // namespace

Session::Session(const Connection& conn, const std::string& dbname) : target_(conn.describe(dbname)) {
  conn_ = PQconnectdb((conn.conninfo(dbname) + " client_encoding='UTF8'").c_str());
  if (!conn_) fail(ErrorCategory::kDatabase, "cannot connect to PostgreSQL at " + target_ + ": out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(conn_));
    // libpq names our temporary passfile, which means nothing to someone who set DB_PASSWORD.
    std::string passfile_note = "password retrieved from file \"" + conn.passfile() + "\"";
    if (size_t at = why.find(passfile_note); !conn.passfile().empty() && at != std::string::npos)
      why.replace(at, passfile_note.size(), "(password from DB_PASSWORD)");
    PQfinish(conn_);
    conn_ = nullptr;
    fail(ErrorCategory::kDatabase, "cannot connect to PostgreSQL at " + target_ + ": " + why +
                                       " (check DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME)");
  }
  // Server notices ("schema ... already exists, skipping") are not for coffer's users.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

Session::~Session() {
  if (conn_) PQfinish(conn_);
}

namespace {

// Runs `sql` with optional text parameters; throws with the server's message on failure.
PGresult* exec_checked(PGconn* conn, const std::string& target, const std::string& sql,
                       const std::vector<std::string>& params = {}) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* res = params.empty() ? PQexec(conn, sql.c_str())
                                 : PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                                values.data(), nullptr, nullptr, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
  std::string why = trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  PQclear(res);
  fail(ErrorCategory::kDatabase, "query on " + target + " failed: " + why);
}

std::string quote_identifier(PGconn* conn, const std::string& name) {
  char* quoted = PQescapeIdentifier(conn, name.c_str(), name.size());
  if (!quoted) fail(ErrorCategory::kDatabase, "cannot quote identifier: " + trimmed(PQerrorMessage(conn)));
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

}  // namespace

std::string Session::query_value(const std::string& sql) {
  Result r(exec_checked(conn_, target_, sql));
  if (PQntuples(r.res) == 0 || PQnfields(r.res) == 0 || PQgetisnull(r.res, 0, 0)) return "";
  return PQgetvalue(r.res, 0, 0);
}

void Session::execute(const std::string& sql, const std::vector<std::string>& params) {
  Result r(exec_checked(conn_, target_, sql, params));
}

std::vector<std::vector<std::string>> Session::query_rows(const std::string& sql,
                                                          const std::vector<std::string>& params) {
  Result r(exec_checked(conn_, target_, sql, params));
  std::vector<std::vector<std::string>> rows(PQntuples(r.res));
  for (int i = 0; i < PQntuples(r.res); ++i)
    for (int j = 0; j < PQnfields(r.res); ++j) rows[i].push_back(PQgetisnull(r.res, i, j) ? "" : PQgetvalue(r.res, i, j));
  return rows;
}

void Session::drop_database(const std::string& name) {
  Result r(exec_checked(conn_, target_, "DROP DATABASE IF EXISTS " + quote_identifier(conn_, name)));
}

std::vector<std::string> Session::sessions_on(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& row : query_rows("SELECT pid, coalesce(nullif(application_name, ''), 'no application name') "
                                    "FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
                                    "ORDER BY pid",
                                    {name}))
    out.push_back(row[0] + " (" + row[1] + ")");
  return out;
}

int Session::server_version_num() { return PQserverVersion(conn_); }

std::string Session::server_version() {
  // "15.18 (Debian 15.18-0+deb12u1)" -> "15.18"
  std::string v = query_value("SHOW server_version");
  return v.substr(0, v.find(' '));
}

uint64_t Session::database_size() {
  return std::strtoull(query_value("SELECT pg_database_size(current_database())").c_str(), nullptr, 10);
}

std::vector<TableInfo> Session::user_tables() {
  std::vector<TableInfo> tables;
  Result r(exec_checked(conn_, target_,
                        std::string("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
                                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ") +
                            kUserTablesWhere));
  for (int i = 0; i < PQntuples(r.res); ++i) tables.push_back({PQgetvalue(r.res, i, 0), PQgetvalue(r.res, i, 1), 0});
  // Byte order, not the server's collation, so the list is the same everywhere.
  std::sort(tables.begin(), tables.end(),
            [](const TableInfo& a, const TableInfo& b) { return std::tie(a.schema, a.name) < std::tie(b.schema, b.name); });
  return tables;
}

uint64_t Session::count_rows(const TableInfo& t) {
  std::string sql = "SELECT count(*) FROM " + quote_identifier(conn_, t.schema) + "." + quote_identifier(conn_, t.name);
  return std::strtoull(query_value(sql).c_str(), nullptr, 10);
}

std::vector<TableInfo> Session::tables_with_row_counts() {
  std::vector<TableInfo> tables = user_tables();
  for (auto& t : tables) t.rows = count_rows(t);
  return tables;
}

std::vector<TableInfo> Session::tables_with_inserted_rows() {
  Result r(exec_checked(conn_, target_,
                        std::string("SELECT n.nspname, c.relname, s.n_tup_ins FROM pg_catalog.pg_class c "
                                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                    "JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid "
                                    "WHERE s.n_tup_upd = 0 AND s.n_tup_del = 0 "
                                    "AND current_setting('track_counts')::bool AND ") +
                            kUserTablesWhere));
  std::vector<TableInfo> tables;
  for (int i = 0; i < PQntuples(r.res); ++i)
    tables.push_back({PQgetvalue(r.res, i, 0), PQgetvalue(r.res, i, 1),
                      std::strtoull(PQgetvalue(r.res, i, 2), nullptr, 10)});
  std::sort(tables.begin(), tables.end(),
            [](const TableInfo& a, const TableInfo& b) { return std::tie(a.schema, a.name) < std::tie(b.schema, b.name); });
  return tables;
}

bool Session::has_user_tables() {
  return query_value(std::string("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
                                 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ") +
                     kUserTablesWhere + ")") == "t";
}

bool Session::database_exists(const std::string& name) {
  Result r(exec_checked(conn_, target_, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", {name}));
  return PQntuples(r.res) > 0;
}

void Session::create_database(const std::string& name) {
  // template0: a restore must not meet objects someone added to template1.
  Result r(exec_checked(conn_, target_, "CREATE DATABASE " + quote_identifier(conn_, name) + " TEMPLATE template0"));
}

void Session::create_schema_if_missing(const std::string& name) {
  Result r(exec_checked(conn_, target_, "CREATE SCHEMA IF NOT EXISTS " + quote_identifier(conn_, name)));
}

bool Session::can_read_roles() {
  return query_value("SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')") == "t";
}

std::string Session::begin_snapshot() {
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE)
    fail(ErrorCategory::kInternal, "begin_snapshot on " + target_ + ": a transaction is already open");
  Result begin(exec_checked(conn_, target_, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  return query_value("SELECT pg_catalog.pg_export_snapshot()");
}

void Session::import_snapshot(const std::string& id) {
  // Snapshot ids are hex groups and dashes ("00000003-0000001B-1"); anything else is not one.
  if (id.empty() || id.find_first_not_of("0123456789ABCDEFabcdef-") != std::string::npos)
    fail(ErrorCategory::kInternal, "import_snapshot on " + target_ + ": '" + id + "' is not a snapshot id");
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE)
    fail(ErrorCategory::kInternal, "import_snapshot on " + target_ + ": a transaction is already open");
  Result begin(exec_checked(conn_, target_, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  Result set(exec_checked(conn_, target_, "SET TRANSACTION SNAPSHOT '" + id + "'"));
}

void Session::end_snapshot() {
  PGTransactionStatusType st = PQtransactionStatus(conn_);
  if (st == PQTRANS_INTRANS) Result r(exec_checked(conn_, target_, "COMMIT"));
  if (st == PQTRANS_INERROR) Result r(exec_checked(conn_, target_, "ROLLBACK"));
}

}  // namespace coffer::pg
