// verify's part for point-in-time recovery (docs/pitr.md, "Checks"): for each physical backup,
// the archived WAL from its start must reach its stop segment (else it cannot be restored at
// all) and run on without a gap to the archive's newest segment on the latest timeline (else
// moments after the gap are lost). With read_data every segment of those chains is read,
// opened (decrypted and authenticated) and checked to be a whole segment of its cluster.
#pragma once

#include <functional>
#include <vector>

#include "coffer/backup_types.h"
#include "repo/manifest.h"
#include "repo/repository.h"

namespace coffer {

void check_wal(Repository& repo, const std::vector<Manifest>& backups, bool read_data, VerifyResult& result,
               const std::function<void()>& tick = {});

// Each physical backup's restore window as the archive holds it now (PhysicalInfo::window),
// filled in for every backup in `backups` that has a physical part. `pushed_at` gives the time
// a file was archived, when known ("" when not).
void fill_restore_windows(Repository& repo, std::vector<BackupInfo>& backups,
                          const std::function<std::string(const std::string& name)>& pushed_at);

}  // namespace coffer
