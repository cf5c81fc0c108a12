#include "source/postgres/staged_dump.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "repo/blob_prefetcher.h"
#include "source/postgres/pg_archive_offsets.h"

namespace coffer::pg {

std::unique_ptr<HeldTempFile> stage_whole_dump(
    Repository& repo, const std::vector<ChunkRef>& dump, uint64_t dump_bytes,
    const std::function<void(const std::string&, uint64_t, uint64_t)>& report) {
  auto archive = std::make_unique<HeldTempFile>("temporary archive");
  std::vector<ChunkId> order;
  for (const ChunkRef& c : dump) order.push_back(c.id);
  // Dump chunks are small (16 KiB, 4 KiB in older repositories): runs of 64 per read.
  BlobPrefetcher prefetch(repo, std::move(order), 0, 256);
  uint64_t staged = 0;
  auto last_report = std::chrono::steady_clock::now();
  for (size_t i = 0; i < dump.size(); ++i) {
    Bytes chunk = prefetch.next();
    archive->write(chunk);
    staged += chunk.size();
    if (std::chrono::steady_clock::now() - last_report > std::chrono::milliseconds(200)) {
      last_report = std::chrono::steady_clock::now();
      report("database: staging the dump", staged, dump_bytes);
    }
  }
  archive->close();
  // The dump was streamed, so its table of contents lacks data offsets (an archive we cannot
  // parse is used as it is, only slower).
  OffsetRepair repair = fill_in_data_offsets(archive->path());
  if (!repair.repaired) spdlog::debug("archive offsets left as they are: {}", repair.reason);
  return archive;
}

}  // namespace coffer::pg
