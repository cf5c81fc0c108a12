#include "source/postgres/pg_restore_runner.h"

#include <algorithm>
#include <map>

#include "coffer/error.h"
#include "source/postgres/pg_catalog.h"
#include "util/subprocess.h"

namespace coffer::pg {
namespace {

// Tools that take a database name expand "a=b" names as connection strings; a dbname=...
// conninfo says exactly which database is meant, whatever its name looks like.
std::string dbname_arg(const std::string& dbname) { return "--dbname=dbname=" + quote_conninfo_value(dbname); }

}  // namespace

void run_pg_restore(const Tools& tools, const Connection& conn, const RestoreRequest& request) {
  if (request.archive_path.empty() || request.dbname.empty())
    fail(ErrorCategory::kInternal, "run_pg_restore needs an archive and a database name");
  std::vector<std::string> base = {tools.pg_restore(), dbname_arg(request.dbname), "--exit-on-error"};
  // pg_restore allows one job only in a single transaction.
  if (request.single_transaction)
    base.push_back("--single-transaction");
  else
    base.push_back("--jobs=" + std::to_string(std::max(request.jobs, 1)));
  if (request.clean) {
    base.push_back("--clean");
    base.push_back("--if-exists");
  }
  // pg_restore pairs every -n with every -t, so "a.x" and "b.y" in one run would also restore
  // a.y and b.x: one run for plain names, one per schema.
  std::vector<std::vector<std::string>> runs;
  if (request.tables.empty()) {
    runs.push_back(base);
  } else {
    std::map<std::string, std::vector<std::string>> by_schema;  // "" = any schema
    for (const auto& t : request.tables) {
      size_t dot = t.find('.');
      std::string schema = dot == std::string::npos ? "" : t.substr(0, dot);
      std::string name = dot == std::string::npos ? t : t.substr(dot + 1);
      auto& names = by_schema[schema];
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    // pg_restore -t restores a table but not its schema; a fresh target database lacks it.
    Session target(conn, request.dbname);
    for (const auto& [schema, names] : by_schema)
      if (!schema.empty()) target.create_schema_if_missing(schema);
    for (const auto& [schema, names] : by_schema) {
      std::vector<std::string> argv = base;
      if (!schema.empty()) argv.insert(argv.end(), {"-n", schema});
      for (const auto& name : names) argv.insert(argv.end(), {"-t", name});
      runs.push_back(std::move(argv));
    }
  }
  for (auto& argv : runs) {
    argv.push_back(request.archive_path);
    Subprocess proc(conn.child_spec(argv, request.dbname));
    if (request.on_start) request.on_start(proc.pid());
    int code = proc.wait();
    if (code != 0)
      fail(ErrorCategory::kDatabase, "pg_restore into " + conn.describe(request.dbname) + " failed (exit code " +
                                         std::to_string(code) + "): " + tool_message(proc.error_output()));
  }
}

}  // namespace coffer::pg
