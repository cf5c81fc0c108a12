// `coffer export`: a backup's database dump or file tree as plain files other tools read
// without coffer (psql, pg_restore, GNU tar). Reads the repository once, checking every chunk
// on the way (as a restore does); writes under a temporary name (export/atomic_output.h).
//   database: custom (the dump, its data offsets filled in as pg_dump writes them to a file),
//             directory (toc.dat and one file per table, as pg_dump -Fd), sql.gz (pg_restore's
//             SQL script of the dump, gzip-compressed)
//   files:    tar, tar.zst (export/tar_writer.h)
#pragma once

#include <functional>
#include <string>

#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

// `repo`'s index must be loaded; `backup_id` is resolved (no "latest"). Throws Error(kInput) for
// a format that is not the part's, Error(kNotFound) for a backup without the part.
ExportResult run_export(Repository& repo, const std::string& backup_id, const ExportOptions& options,
                        const std::function<void(const Progress&)>& on_progress);

// The formats of a part, for messages and --help: "custom, directory, sql.gz" / "tar, tar.zst".
std::string export_formats(BackupScope scope);

}  // namespace coffer
