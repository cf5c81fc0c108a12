#include "engine/storage_factory.h"

#include <algorithm>
#include <limits>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "testing/storage_fault_hook.h"

namespace coffer {

S3Options s3_options_of(const BackupConfig& c, S3Patience patience) {
  if (c.s3_bucket.empty())
    fail(ErrorCategory::kConfig, "S3 is used (S3_MODE or --source s3) but S3_BUCKET is not set: set the bucket name");
  if (c.aws_access_key_id.empty())
    fail(ErrorCategory::kConfig, "S3 bucket '" + c.s3_bucket +
                                     "' needs AWS_ACCESS_KEY_ID (or a key in the AWS shared credentials file)");
  if (!c.aws_secret_access_key)
    fail(ErrorCategory::kConfig, "S3 bucket '" + c.s3_bucket +
                                     "' needs AWS_SECRET_ACCESS_KEY (or a key in the AWS shared credentials file)");
  S3Options o;
  o.endpoint = c.s3_endpoint;
  o.region = c.s3_region;
  o.bucket = c.s3_bucket;
  o.prefix = c.s3_prefix;
  o.access_key = c.aws_access_key_id;
  o.secret_key = *c.aws_secret_access_key;
  o.session_token = c.aws_session_token.value_or("");
  o.addressing = c.s3_path_style ? S3Addressing::kPathStyle : S3Addressing::kAuto;
  o.storage_class = c.s3_storage_class;
  o.sse = c.s3_sse;
  o.sse_kms_key_id = c.s3_sse_kms_key_id;
  o.tls_verify = c.s3_verify_tls;
  o.ca_bundle = c.s3_ca_bundle.string();
  o.retry.total = std::chrono::seconds(c.s3_retry_seconds);
  // S3_RETRY_SECONDS alone bounds the retries, as documented: the driver's default of 8 attempts
  // gave up after about 15 s of backoff whatever the setting.
  o.retry.max_attempts = std::numeric_limits<int>::max();
  if (patience == S3Patience::kQuick) {
    o.retry.total = std::min<std::chrono::milliseconds>(o.retry.total, std::chrono::seconds(kQuickS3Seconds));
    o.connect_timeout_ms = std::min<long>(o.connect_timeout_ms, 3000);
    o.idle_timeout_s = std::min<long>(o.idle_timeout_s, kQuickS3Seconds);
  }
  if (o.retry.cap > o.retry.total) o.retry.cap = o.retry.total / 4;
  return o;
}

std::shared_ptr<S3Storage> make_s3_storage(const BackupConfig& config, S3Patience patience) {
  return std::make_shared<S3Storage>(s3_options_of(config, patience));
}

bool repository_on_s3(const BackupConfig& config, bool source_s3) {
  return source_s3 || config.s3_mode == S3Mode::kRepository;
}

std::shared_ptr<Storage> make_repository_storage(const BackupConfig& config, bool source_s3, bool read_only) {
  if (repository_on_s3(config, source_s3)) return test_hooks::with_storage_faults(make_s3_storage(config), false);
  return test_hooks::with_storage_faults(std::make_shared<LocalStorage>(config.backup_dir, read_only), true);
}

}  // namespace coffer
