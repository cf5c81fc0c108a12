#include "source/postgres/restored_checks.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

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

namespace {

// The planner must not answer from an index (an index-only scan would not read the rows).
void scan_rows_only(Session& session) {
  session.execute("SET enable_indexscan = off");
  session.execute("SET enable_indexonlyscan = off");
  session.execute("SET enable_bitmapscan = off");
}

void read_table(Session& session, TableRead& read) {
  try {
    auto rows = session.query_rows("SELECT count(*), coalesce(sum(octet_length(r::text)), 0) FROM ONLY " +
                                   qualified(read.table.schema, read.table.name) + " AS r");
    read.table.rows = std::strtoull(rows.at(0).at(0).c_str(), nullptr, 10);
    read.bytes = std::strtoull(rows.at(0).at(1).c_str(), nullptr, 10);
  } catch (const Error& e) {
    read.error = e.what();
  }
}

// A btree index to check: its oid, name ("schema.index") and the bytes a check reads.
struct IndexTask {
  std::string oid, name;
  uint64_t bytes = 0;
};

// Creates amcheck; returns its schema, or "" with `check` saying why it cannot be created.
std::string create_amcheck(Session& session, IndexCheck& check) {
  try {
    session.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
    check.available = true;
    return session.query_value(
        "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'amcheck'");
  } catch (const Error& e) {
    check.why_unavailable = e.what();
    return "";
  }
}

std::vector<IndexTask> btree_indexes(Session& session) {
  std::vector<IndexTask> out;
  for (const auto& row : session.query_rows(
           "SELECT c.oid, n.nspname || '.' || c.relname, pg_catalog.pg_relation_size(c.oid) + "
           "pg_catalog.pg_relation_size(i.indrelid) FROM pg_catalog.pg_index i "
           "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
           "JOIN pg_catalog.pg_am a ON a.oid = c.relam "
           "WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't' "
           "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
           "ORDER BY n.nspname, c.relname"))
    out.push_back({row[0], row[1], std::strtoull(row[2].c_str(), nullptr, 10)});
  return out;
}

// "" when the index passed; else the server's message.
std::string check_index(Session& session, const std::string& amcheck_schema, const IndexTask& index,
                        bool heapallindexed) {
  try {
    session.execute("SELECT " + sql_identifier(amcheck_schema) +
                        ".bt_index_check(index => $1::oid::regclass, heapallindexed => " +
                        (heapallindexed ? "true" : "false") + ")",
                    {index.oid});
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

void record_index(IndexCheck& check, const IndexTask& index, const std::string& failure) {
  if (failure.empty())
    ++check.checked;
  else
    check.failures.push_back(index.name + ": " + failure);
}

// Each table's heap size, by "schema.name".
std::map<std::string, uint64_t> table_sizes(Session& session) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : session.query_rows(
           "SELECT n.nspname || '.' || c.relname, pg_catalog.pg_relation_size(c.oid) FROM pg_catalog.pg_class c "
           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"))
    out[row[0]] = std::strtoull(row[1].c_str(), nullptr, 10);
  return out;
}

}  // namespace

DatabaseCheck check_database(const Connection& conn, const std::string& db, int jobs, bool heapallindexed) {
  DatabaseCheck result;
  std::vector<IndexTask> indexes;
  std::string amcheck_schema;
  std::map<std::string, uint64_t> sizes;
  {
    Session first(conn, db);
    for (const TableInfo& t : first.user_tables()) result.tables.push_back({t, 0, ""});
    amcheck_schema = create_amcheck(first, result.indexes);
    if (result.indexes.available) indexes = btree_indexes(first);
    sizes = table_sizes(first);
  }
  // Task i < tables: read table i; else check index i - tables. Largest first.
  const size_t n_tables = result.tables.size();
  std::vector<size_t> order(n_tables + indexes.size());
  std::vector<uint64_t> cost(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
    cost[i] = i < n_tables ? sizes[result.tables[i].table.schema + "." + result.tables[i].table.name]
                           : indexes[i - n_tables].bytes;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  std::vector<std::string> index_failures(indexes.size());
  std::vector<char> done(order.size(), 0);  // not vector<bool>: each task's flag has its own byte
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string session_error;
  auto worker = [&] {
    try {
      Session session(conn, db);
      scan_rows_only(session);
      for (size_t k; (k = next.fetch_add(1)) < order.size();) {
        const size_t i = order[k];
        if (i < n_tables)
          read_table(session, result.tables[i]);
        else
          index_failures[i - n_tables] = check_index(session, amcheck_schema, indexes[i - n_tables], heapallindexed);
        done[i] = 1;  // each task has one writer; read after join
      }
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (session_error.empty()) session_error = e.what();
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::max(1, jobs); ++j) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < order.size(); ++i) {
    if (done[i]) continue;
    const std::string why = "not checked: " + (session_error.empty() ? std::string("no session") : session_error);
    if (i < n_tables)
      result.tables[i].error = why;
    else
      index_failures[i - n_tables] = why;
  }
  for (size_t i = 0; i < indexes.size(); ++i) record_index(result.indexes, indexes[i], index_failures[i]);
  return result;
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
