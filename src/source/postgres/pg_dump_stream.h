// The logical backup as a byte stream: pg_dump in custom format, uncompressed (coffer
// compresses chunks itself and dedups across backups), from an exported snapshot, streamed
// from its stdout straight into the chunker. Nothing is staged on disk.
#pragma once

#include <sys/types.h>

#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "util/byte_source.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_tools.h"
#include "util/subprocess.h"

namespace coffer::pg {

class DumpStream : public ByteSource {
 public:
  // pg_dump --format=custom --compress=0 [--snapshot=<snapshot>], DB_NAME given as PGDATABASE
  DumpStream(const Tools& tools, const Connection& conn, const std::string& snapshot);
  size_t read(uint8_t* buf, size_t n) override;
  // Waits for pg_dump; throws Error(kDatabase) with its stderr when it failed.
  void finish();

 private:
  std::unique_ptr<Subprocess> proc_;
};

// pg_dumpall --globals-only (roles, tablespaces) as plain SQL. Returns nullopt and sets
// `warning` when the user may not read them (not a superuser): the backup goes on without.
std::optional<std::string> dump_globals(const Tools& tools, const Connection& conn, std::string* warning);

}  // namespace coffer::pg
