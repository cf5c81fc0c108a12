// Storage on an S3 bucket (AWS S3 or an S3-compatible server: MinIO, Ceph, s3rver, ...), over
// libcurl with AWS Signature Version 4. Objects live under `prefix` in the bucket.
//
// Atomicity (DESIGN.md invariant 2): an object appears whole or not at all, from one PUT or
// one completed multipart upload; a failed multipart upload is aborted.
// Integrity: every upload carries Content-MD5 and x-amz-content-sha256 of its plain body
// (never aws-chunked), so the server rejects a body damaged in transit.
// Faults: 5xx, 503 SlowDown, 429, timeouts and connection resets are retried with exponential
// backoff and full jitter, within RetryPolicy's attempts and total time; other 4xx fail at once.
// Thread-safe: any number of calls may run at once from different threads.
// Errors name the object, bucket and endpoint, never the secret key, token or signature.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/s3/http_client.h"
#include "storage/s3/s3_retry.h"
#include "storage/s3/sigv4.h"
#include "storage/storage.h"

namespace coffer {

enum class S3Addressing {
  kAuto,           // virtual-hosted on *.amazonaws.com for DNS-safe names without dots, else path-style
  kPathStyle,      // http://host/bucket/key (MinIO, Ceph, s3rver)
  kVirtualHosted,  // http://bucket.host/key
};

struct S3Options {
  std::string endpoint;          // "http://127.0.0.1:9000"; empty = https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string bucket;            // required
  std::string prefix = "backups/";  // "" = bucket root; a missing trailing '/' is added
  std::string access_key;        // required
  std::string secret_key;        // required
  std::string session_token;     // temporary credentials only
  S3Addressing addressing = S3Addressing::kAuto;
  std::string storage_class;     // "" = the bucket's default (STANDARD), e.g. "STANDARD_IA"
  std::string sse;               // "" (none), "AES256" (SSE-S3) or "aws:kms" (SSE-KMS)
  std::string sse_kms_key_id;    // with sse == "aws:kms"; "" = the account's default key
  bool tls_verify = true;        // off only for test servers with self-signed certificates
  std::string ca_bundle;         // PEM file of trusted CAs; "" = the system's
  long connect_timeout_ms = 10000;
  long idle_timeout_s = 60;      // a transfer that moves nothing this long is retried
  long request_timeout_ms = 0;   // 0 = none (a large part may take minutes)
  s3::RetryPolicy retry;
  uint64_t multipart_threshold = 64ull << 20;  // objects larger than this go multipart
  uint64_t part_size = 16ull << 20;            // at least 5 MiB (S3's minimum)
  int multipart_concurrency = 4;               // parts of one object in flight at once
};

class S3Storage : public Storage {
 public:
  // Checks the options (Error(kConfig) naming the setting); does not contact the server.
  explicit S3Storage(S3Options options);
  ~S3Storage() override;

  // One PUT up to multipart_threshold, else a multipart upload (parts in parallel).
  void put(const std::string& key, ByteView data) override;
  // A HEAD, then one PUT with If-None-Match: * (S3 answers 412 when the key exists). A server
  // that ignores the header (s3rver, older MinIO/Ceph) leaves a race between that HEAD and the
  // PUT: two writers of the same key at the same moment may both see true. When a retried PUT
  // meets 412, the object is read back: if it holds exactly our bytes, the earlier attempt
  // was ours and the answer is true.
  bool put_if_absent(const std::string& key, ByteView data) override;
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  void remove(const std::string& key) override;
  // Removes many objects with DeleteObjects, 1000 keys per request. Missing keys are fine.
  void remove_many(const std::vector<std::string>& keys);
  std::string describe() const override;
  bool remote() const override { return true; }

  const S3Options& options() const { return options_; }

 private:
  struct Call;
  struct Answer;
  // Signs and sends, retrying per options_.retry; returns the final answer, whatever its status.
  Answer execute(const Call& call);
  [[noreturn]] void fail_answer(const Call& call, const Answer& answer) const;
  std::string full_key(const std::string& key) const;
  std::string object_path(const std::string& full) const;  // decoded path for signing and URL
  // `created` (with if_absent) tells whether our bytes are now the object.
  void put_single(const std::string& key, ByteView data, bool if_absent, bool* created);
  void put_multipart(const std::string& key, ByteView data);
  void add_write_headers(sigv4::Pairs& headers) const;

  S3Options options_;
  std::string scheme_;       // "http" or "https"
  std::string host_;         // host[:port] as sent and signed (bucket. prefix when virtual-hosted)
  bool path_style_ = true;
  std::unique_ptr<s3::HttpClient> http_;
};

}  // namespace coffer
