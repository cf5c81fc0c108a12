#include "source/postgres/pg_dump_stream.h"

#include "coffer/error.h"
#include "source/postgres/pg_catalog.h"

namespace coffer::pg {

DumpStream::DumpStream(const Tools& tools, const Connection& conn, const std::string& snapshot) {
  // The database comes from PGDATABASE in child_spec (no argv parsing surprises for odd names).
  std::vector<std::string> argv = {tools.pg_dump(), "--format=custom", "--compress=0"};
  if (!snapshot.empty()) argv.push_back("--snapshot=" + snapshot);
  ProcessSpec spec = conn.child_spec(std::move(argv));
  spec.pipe_stdout = true;
  proc_ = std::make_unique<Subprocess>(spec);
}

size_t DumpStream::read(uint8_t* buf, size_t n) { return proc_->read(buf, n); }

void DumpStream::finish() {
  int code = proc_->wait();
  if (code != 0)
    fail(ErrorCategory::kDatabase,
         "pg_dump failed (exit code " + std::to_string(code) + "): " + tool_message(proc_->error_output()));
}

std::optional<std::string> dump_globals(const Tools& tools, const Connection& conn, std::string* warning) {
  ProcessSpec spec = conn.child_spec(
      {tools.pg_dumpall(), "--globals-only", "--database=dbname=" + quote_conninfo_value(conn.db_name())});
  std::string out, err;
  int code = run_process(spec, &out, &err);
  if (code == 0) return out;
  if (err.find("permission denied") != std::string::npos || err.find("must be superuser") != std::string::npos) {
    if (warning)
      *warning = "roles and tablespaces were not backed up: pg_dumpall --globals-only needs a superuser, and " +
                 (conn.user().empty() ? std::string("the connecting user") : "user " + conn.user()) +
                 " may not read them (" + tool_message(err) + ")";
    return std::nullopt;
  }
  fail(ErrorCategory::kDatabase,
       "pg_dumpall --globals-only failed (exit code " + std::to_string(code) + "): " + tool_message(err));
}

}  // namespace coffer::pg
