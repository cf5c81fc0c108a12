// A database backup's dump written whole to a held temp file in TMPDIR, for pg_restore -j: the
// way older backups (no block offsets recorded) and dumps that cannot be served through pipes
// (dump_directory.h) are restored. Every chunk is checked on the way; the archive's data
// offsets, which a streamed dump lacks, are filled in so pg_restore -j can seek to each table.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "util/held_temp.h"

namespace coffer::pg {

// `report(phase, done, total)` is called at most every 200 ms with the bytes written so far.
std::unique_ptr<HeldTempFile> stage_whole_dump(
    Repository& repo, const std::vector<ChunkRef>& dump, uint64_t dump_bytes,
    const std::function<void(const std::string&, uint64_t, uint64_t)>& report);

}  // namespace coffer::pg
