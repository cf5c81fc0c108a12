#include "source/postgres/restored_checks.h"

#include <cstdlib>

#include "coffer/error.h"
#include "source/postgres/pg_database_props.h"

namespace coffer::pg {
namespace {

std::string qualified(const std::string& schema, const std::string& name) {
  return sql_identifier(schema) + "." + sql_identifier(name);
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

bool is_comment_or_blank(const std::string& line) {
  const std::string t = trimmed(line);
  return t.empty() || t.rfind("--", 0) == 0;
}

}  // namespace

std::vector<TableRead> read_every_row(Session& session) {
  // The planner must not answer from an index (an index-only scan would not read the rows).
  session.execute("SET enable_indexscan = off");
  session.execute("SET enable_indexonlyscan = off");
  session.execute("SET enable_bitmapscan = off");
  std::vector<TableRead> out;
  for (const TableInfo& t : session.user_tables()) {
    TableRead read{t, 0, ""};
    try {
      auto rows = session.query_rows("SELECT count(*), coalesce(sum(octet_length(r::text)), 0) FROM ONLY " +
                                     qualified(t.schema, t.name) + " AS r");
      read.table.rows = std::strtoull(rows.at(0).at(0).c_str(), nullptr, 10);
      read.bytes = std::strtoull(rows.at(0).at(1).c_str(), nullptr, 10);
    } catch (const Error& e) {
      read.error = e.what();
    }
    out.push_back(std::move(read));
  }
  return out;
}

IndexCheck check_btree_indexes(Session& session) {
  IndexCheck check;
  std::string schema;
  try {
    session.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
    schema = session.query_value(
        "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'amcheck'");
  } catch (const Error& e) {
    check.why_unavailable = e.what();
    return check;
  }
  check.available = true;
  auto indexes = session.query_rows(
      "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_index i "
      "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "JOIN pg_catalog.pg_am a ON a.oid = c.relam "
      "WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't' "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
      "ORDER BY n.nspname, c.relname");
  for (const auto& row : indexes) {
    try {
      session.execute("SELECT " + sql_identifier(schema) + ".bt_index_check(index => $1::oid::regclass, "
                      "heapallindexed => true)", {row[0]});
      ++check.checked;
    } catch (const Error& e) {
      check.failures.push_back(row[1] + "." + row[2] + ": " + e.what());
    }
  }
  return check;
}

std::vector<Probe> parse_probes(const std::string& text, const std::string& file) {
  std::vector<Probe> probes;
  Probe current;
  size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (current.sql.empty() && is_comment_or_blank(line)) continue;
    if (current.sql.empty()) current.line = number;
    current.sql += (current.sql.empty() ? "" : "\n") + line;
    std::string t = trimmed(current.sql);
    if (!t.empty() && t.back() == ';') {
      t.pop_back();
      current.sql = trimmed(t);
      if (!current.sql.empty()) probes.push_back(current);
      current = Probe{};
    }
  }
  if (!trimmed(current.sql).empty())
    fail(ErrorCategory::kConfig, "DRILL_SQL file " + file + ": the query on line " + std::to_string(current.line) +
                                     " has no ';' at the end of a line (each probe is a query that ends with ';')");
  return probes;
}

std::string run_probe(Session& session, const Probe& probe) {
  std::vector<std::vector<std::string>> rows;
  try {
    session.execute("BEGIN READ ONLY");
    rows = session.query_rows(probe.sql);
    session.execute("ROLLBACK");
  } catch (const Error& e) {
    try {
      session.execute("ROLLBACK");
    } catch (const Error&) {
      // ignored on purpose: the probe's own error is the one to report
    }
    return e.what();
  }
  if (rows.size() != 1 || rows[0].size() != 1)
    return "returned " + std::to_string(rows.size()) + " row(s) of " +
           std::to_string(rows.empty() ? 0 : rows[0].size()) + " column(s), not one true value";
  if (rows[0][0] == "t") return "";
  return "returned " + (rows[0][0].empty() ? std::string("NULL or ''") : "'" + rows[0][0] + "'") + ", not true";
}

}  // namespace coffer::pg
