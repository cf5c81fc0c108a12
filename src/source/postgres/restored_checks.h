// Checks of a restored database that go past its row counts (a drill's, engine/drill_job.h):
// every row of every table read to its end, btree indexes checked against their tables with
// amcheck, and the administrator's own probes (DRILL_SQL: queries that must return true).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "source/postgres/pg_catalog.h"

namespace coffer::pg {

// One table read through: every row in full, as text (each column fetched, TOAST included and
// decompressed), by a sequential scan (the indexes are not asked). `error` is the server's
// message when the read failed ("" when it went to the end).
struct TableRead {
  TableInfo table;  // rows: how many were read
  uint64_t bytes = 0;
  std::string error;
};

// amcheck's bt_index_check on every valid btree index outside the system schemas: the index's
// structure, and with `heapallindexed` that every row of its table is in it (a scan of the table
// per index: most of the check's cost).
struct IndexCheck {
  bool available = false;        // amcheck could be created (CREATE EXTENSION)
  std::string why_unavailable;   // the server's reason when not
  uint64_t checked = 0;
  std::vector<std::string> failures;  // "schema.index: the server's message"
};

// Both checks above on one database over `jobs` sessions at once (the server's cores work in
// parallel): each table read and each index check is a task, the largest first, taken by
// whichever session is free. Results in catalog order (schema, name), whatever `jobs` is.
// Creates amcheck in `db` (a scratch database: never call it elsewhere).
struct DatabaseCheck {
  std::vector<TableRead> tables;
  IndexCheck indexes;
};
DatabaseCheck check_database(const Connection& conn, const std::string& db, int jobs, bool heapallindexed = true);

// A query of the DRILL_SQL file and the line it starts on.
struct Probe {
  int line = 0;
  std::string sql;  // without its ';'
};
// Splits the text of a probes file into queries. Each query ends with ';' at the end of a line
// and may span lines; lines that start with "--" and blank lines between queries are skipped.
// Throws Error(kConfig) naming `file` and the line when text is left after the last ';'.
std::vector<Probe> parse_probes(const std::string& text, const std::string& file);
// Runs a probe in a read-only transaction: "" when it returned one row of one column that is
// true; otherwise what it returned, or the server's message.
std::string run_probe(Session& session, const Probe& probe);

}  // namespace coffer::pg
