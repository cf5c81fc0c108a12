#include "engine/database_backup.h"

#include <chrono>
#include <cstring>
#include <exception>
#include <thread>

#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_dump_stream.h"
#include "source/postgres/pg_tools.h"

namespace coffer {
DatabasePart backup_database(ChunkStore& store, const ChunkerParams& params, const BackupConfig& config,
                             const std::function<void(const std::string&)>& warn, DeltaBaseSource* bases) {
  auto start = std::chrono::steady_clock::now();
  pg::Connection conn(config);
  pg::Session session(conn);
  DatabasePart part;
  DatabaseInfo& info = part.info;
  info.name = conn.db_name();
  info.server_version_num = session.server_version_num();
  info.server_version = session.server_version();
  pg::Tools tools = pg::find_tools(info.server_version_num);
  info.pg_dump_version = tools.version;
  info.size_bytes = session.database_size();

  // One snapshot for the dump and the row counts, so the counts describe exactly the dump. The
  // counts (a full scan of every table: 0.8 s at the reference scale) run on a second session
  // that imports the snapshot, while the dump streams, instead of before it.
  std::string snapshot = session.begin_snapshot();
  std::vector<pg::TableInfo> counted;
  std::exception_ptr count_failure;
  std::thread counter([&] {
    try {
      pg::Session counting(conn);
      counting.import_snapshot(snapshot);
      counted = counting.tables_with_row_counts();
      counting.end_snapshot();
    } catch (...) {
      count_failure = std::current_exception();
    }
  });
  struct JoinOnExit {
    std::thread& t;
    ~JoinOnExit() {
      if (t.joinable()) t.join();
    }
  } join_counter{counter};
  pg::DumpStream dump(tools, conn, snapshot);
  part.dump = store.add_stream(dump, BlobType::kData, params, [&](size_t n) { info.dump_bytes += n; }, bases);
  dump.finish();
  counter.join();
  if (count_failure) std::rethrow_exception(count_failure);
  for (const pg::TableInfo& t : counted) info.tables.push_back({t.schema, t.name, t.rows});
  session.end_snapshot();

  std::string globals_warning;
  std::optional<std::string> globals = pg::dump_globals(tools, conn, &globals_warning);
  if (globals) {
    MemorySource src(*globals);
    part.globals = store.add_stream(src, BlobType::kData, params);
    info.globals = true;
  } else if (warn) {
    warn(globals_warning);
  }
  info.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return part;
}

}  // namespace coffer
