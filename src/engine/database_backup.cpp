#include "engine/database_backup.h"

#include <chrono>
#include <cstring>
#include <future>

#include <spdlog/spdlog.h>

#include "source/postgres/pg_archive_rows.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_dump_stream.h"
#include "source/postgres/pg_tools.h"

namespace coffer {
namespace {

// Passes the dump through to the chunk store and shows every byte to the row counter.
class RowCountingSource : public ByteSource {
 public:
  RowCountingSource(ByteSource& inner, pg::ArchiveRowCounter& counter) : inner_(inner), counter_(counter) {}
  size_t read(uint8_t* buf, size_t n) override {
    const size_t got = inner_.read(buf, n);
    counter_.feed(ByteView(buf, got));
    return got;
  }

 private:
  ByteSource& inner_;
  pg::ArchiveRowCounter& counter_;
};

}  // namespace

DatabasePart backup_database(ChunkStore& store, const ChunkerParams& params, const BackupConfig& config,
                             const std::function<void(const std::string&)>& warn, DeltaBaseSource* bases,
                             const std::function<void(const Progress&)>& on_progress) {
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

  // Roles and tablespaces (pg_dumpall --globals-only, a small separate dump outside the snapshot)
  // are read while the database is dumped instead of after it.
  std::string globals_warning;
  auto globals_job = std::async(std::launch::async, [&] { return pg::dump_globals(tools, conn, &globals_warning); });

  // One snapshot for the dump and the row counts, so the counts describe exactly the dump. The
  // counts are read from the dump as it streams (pg_archive_rows.h), not by count(*): that would
  // scan every table a second time, on the production server, next to the dump.
  std::string snapshot = session.begin_snapshot();
  pg::ArchiveRowCounter counter;
  {
    pg::DumpStream dump(tools, conn, snapshot);
    RowCountingSource counted(dump, counter);
    const Pace pace = config.db_compression_keep_up ? Pace::kKeepUp : Pace::kRatio;
    auto last_report = std::chrono::steady_clock::now();
    auto on_bytes = [&](size_t n) {
      info.dump_bytes += n;
      if (!on_progress || std::chrono::steady_clock::now() - last_report < std::chrono::milliseconds(200)) return;
      last_report = std::chrono::steady_clock::now();
      on_progress(Progress{"database " + info.name + ": dumped", 0, 0, info.dump_bytes, 0});
    };
    part.dump = store.add_stream(counted, BlobType::kData, params, on_bytes, bases, /*earlier=*/nullptr, pace);
    dump.finish();
  }
  if (!counter.finish()) spdlog::info("row counts by count(*): the dump could not be read for them ({})", counter.reason());
  if (counter.complete()) part.data_blocks = counter.block_offsets();
  // A table whose rows the dump does not show (an extension's table, or an archive this coffer
  // cannot read) is counted in the snapshot, which this session still holds.
  for (const pg::TableInfo& t : session.user_tables()) {
    auto it = counter.complete() ? counter.rows().find({t.schema, t.name}) : counter.rows().end();
    info.tables.push_back({t.schema, t.name, it != counter.rows().end() ? it->second : session.count_rows(t)});
  }
  session.end_snapshot();

  std::optional<std::string> globals = globals_job.get();
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
