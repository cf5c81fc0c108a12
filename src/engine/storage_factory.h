// The one place that decides where a repository lives and builds its Storage: BACKUP_DIR on
// local disk, or S3 (S3_MODE=repository, or `--source s3` to read the off-site copy).
#pragma once

#include <memory>

#include "coffer/backup_config.h"
#include "storage/s3/s3_storage.h"
#include "storage/storage.h"

namespace coffer {

// S3 driver options from the S3_* / AWS_* settings. Throws Error(kConfig) naming the missing
// setting (S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
// kQuick: for checks that must not hold up a command (status, list, create's check before the
// backup): at most kQuickS3Seconds of retries and a 3 s connect timeout, so S3 out of reach
// costs a few seconds, not S3_RETRY_SECONDS.
enum class S3Patience { kFull, kQuick };
constexpr int kQuickS3Seconds = 4;
S3Options s3_options_of(const BackupConfig& config, S3Patience patience = S3Patience::kFull);
std::shared_ptr<S3Storage> make_s3_storage(const BackupConfig& config, S3Patience patience = S3Patience::kFull);

// True when the repository is on S3: S3_MODE=repository, or source_s3 (--source s3).
bool repository_on_s3(const BackupConfig& config, bool source_s3);
// `read_only`: a local repository is opened without requiring that it be writable (see
// LocalStorage); for commands that only read.
std::shared_ptr<Storage> make_repository_storage(const BackupConfig& config, bool source_s3, bool read_only = false);

}  // namespace coffer
