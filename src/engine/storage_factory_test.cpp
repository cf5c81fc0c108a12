#include "engine/storage_factory.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "storage/local/local_storage.h"

namespace coffer {
namespace {

BackupConfig s3_config() {
  BackupConfig c;
  c.s3_mode = S3Mode::kCopy;
  c.s3_bucket = "bkt";
  c.s3_region = "eu-west-1";
  c.s3_endpoint = "http://127.0.0.1:9000";
  c.s3_prefix = "team/";
  c.s3_path_style = true;
  c.aws_access_key_id = "AKIA1";
  c.aws_secret_access_key = "secret-1";
  c.aws_session_token = "token-1";
  c.s3_storage_class = "STANDARD_IA";
  c.s3_sse = "aws:kms";
  c.s3_sse_kms_key_id = "key-1";
  c.s3_verify_tls = false;
  c.s3_ca_bundle = "/etc/ca.pem";
  c.s3_retry_seconds = 4;
  return c;
}

TEST(StorageFactoryTest, SettingsBecomeDriverOptions) {
  const S3Options o = s3_options_of(s3_config());
  EXPECT_EQ(o.bucket, "bkt");
  EXPECT_EQ(o.region, "eu-west-1");
  EXPECT_EQ(o.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(o.prefix, "team/");
  EXPECT_EQ(o.addressing, S3Addressing::kPathStyle);
  EXPECT_EQ(o.access_key, "AKIA1");
  EXPECT_EQ(o.secret_key, "secret-1");
  EXPECT_EQ(o.session_token, "token-1");
  EXPECT_EQ(o.storage_class, "STANDARD_IA");
  EXPECT_EQ(o.sse, "aws:kms");
  EXPECT_EQ(o.sse_kms_key_id, "key-1");
  EXPECT_FALSE(o.tls_verify);
  EXPECT_EQ(o.ca_bundle, "/etc/ca.pem");
  EXPECT_EQ(o.retry.total, std::chrono::seconds(4));
  EXPECT_LE(o.retry.cap, o.retry.total);
  BackupConfig aws = s3_config();
  aws.s3_path_style = false;
  EXPECT_EQ(s3_options_of(aws).addressing, S3Addressing::kAuto);
}

TEST(StorageFactoryTest, RetriesLastAsLongAsS3RetrySecondsSays) {
  BackupConfig c = s3_config();
  c.s3_retry_seconds = 120;  // README's default
  const S3Options o = s3_options_of(c);
  EXPECT_EQ(o.retry.total, std::chrono::seconds(120));
  // The attempts must not run out first: even waiting the longest backoff each time, the
  // attempts allowed cover the whole time (the old bound of 8 attempts ended after ~25 s at most).
  std::chrono::milliseconds longest{0};
  for (int attempt = 1; attempt < o.retry.max_attempts && longest < o.retry.total; ++attempt)
    longest += s3::backoff_ceiling(o.retry, attempt);
  EXPECT_GE(longest, o.retry.total);

  // The quick form (status, list, create's check before a backup) gives up within seconds.
  const S3Options q = s3_options_of(c, S3Patience::kQuick);
  EXPECT_EQ(q.retry.total, std::chrono::seconds(kQuickS3Seconds));
  EXPECT_LE(q.retry.cap, q.retry.total);
  EXPECT_LE(q.connect_timeout_ms, 3000);
}

TEST(StorageFactoryTest, MissingSettingsAreNamed) {
  for (const char* missing : {"S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
    BackupConfig c = s3_config();
    if (std::string(missing) == "S3_BUCKET") c.s3_bucket.clear();
    if (std::string(missing) == "AWS_ACCESS_KEY_ID") c.aws_access_key_id.clear();
    if (std::string(missing) == "AWS_SECRET_ACCESS_KEY") c.aws_secret_access_key.reset();
    try {
      s3_options_of(c);
      ADD_FAILURE() << "no error without " << missing;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig);
      EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("secret-1"), std::string::npos) << e.what();
    }
  }
}

TEST(StorageFactoryTest, RepositoryIsOnS3OnlyInRepositoryModeOrWithSourceS3) {
  BackupConfig c = s3_config();
  c.backup_dir = ::testing::TempDir() + "coffer-factory-test";
  EXPECT_FALSE(repository_on_s3(c, false));  // copy mode: BACKUP_DIR is primary
  EXPECT_TRUE(dynamic_cast<LocalStorage*>(make_repository_storage(c, false).get()));
  EXPECT_TRUE(repository_on_s3(c, true));
  EXPECT_TRUE(dynamic_cast<S3Storage*>(make_repository_storage(c, true).get()));
  c.s3_mode = S3Mode::kRepository;
  EXPECT_TRUE(repository_on_s3(c, false));
  EXPECT_EQ(make_repository_storage(c, false)->describe().rfind("s3://bkt/team/", 0), 0u);
  c.s3_mode = S3Mode::kOff;
  EXPECT_FALSE(repository_on_s3(c, false));
  std::filesystem::remove_all(c.backup_dir);
}

}  // namespace
}  // namespace coffer
