// Checks a repository. Structure: every index file readable, every indexed pack present and
// long enough, every manifest readable, every chunk a backup refers to indexed. With read_data:
// every pack read back, and every chunk in it decrypted, decompressed and re-hashed against
// its id. Each problem names the backup and file it affects, or the object it is in.
#pragma once

#include <functional>

#include "coffer/backup_types.h"
#include "repo/repository.h"

namespace coffer {

VerifyResult run_verify(Repository& repo, const VerifyOptions& options,
                        const std::function<void(const Progress&)>& on_progress = {});

}  // namespace coffer
