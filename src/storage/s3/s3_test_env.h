// Test helper (tests only): the throwaway S3 servers that scripts/test.sh starts with
// tests/fixtures/s3_server.sh, found through COFFER_TEST_S3_* (s3rver) and COFFER_TEST_S3V_*
// (the signature-checking fork). Every test works under its own random prefix, so tests may
// run side by side on one bucket.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <string>

#include "storage/s3/s3_storage.h"

namespace coffer::s3test {

struct Server {
  std::string endpoint, bucket, access_key, secret_key, region;
};

inline constexpr const char* kHowToRun =
    "the S3 test server is not configured: run via scripts/test.sh, or start one with "
    "`eval \"$(tests/fixtures/s3_server.sh start /tmp/coffer-s3 auto coffer-test)\"` "
    "(add --verify-signatures for COFFER_TEST_S3V_*)";

// var is "COFFER_TEST_S3" or "COFFER_TEST_S3V".
inline std::optional<Server> server(const std::string& var) {
  auto get = [&](const char* suffix) {
    const char* v = std::getenv((var + suffix).c_str());
    return std::string(v ? v : "");
  };
  Server s{get("_ENDPOINT"), get("_BUCKET"), get("_ACCESS_KEY"), get("_SECRET_KEY"), get("_REGION")};
  if (s.endpoint.empty() || s.bucket.empty() || s.access_key.empty() || s.secret_key.empty()) return std::nullopt;
  if (s.region.empty()) s.region = "us-east-1";
  return s;
}

inline std::string unique_prefix(const std::string& what) {
  std::random_device rd;
  return "coffer-test/" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000) + "/";
}

// Options for a test: path-style, small multipart parts, quick retries.
inline S3Options options(const Server& s, const std::string& prefix) {
  S3Options o;
  o.endpoint = s.endpoint;
  o.region = s.region;
  o.bucket = s.bucket;
  o.prefix = prefix;
  o.access_key = s.access_key;
  o.secret_key = s.secret_key;
  o.addressing = S3Addressing::kPathStyle;
  o.multipart_threshold = 8ull << 20;
  o.part_size = 5ull << 20;
  o.retry.base = std::chrono::milliseconds(20);
  o.retry.cap = std::chrono::milliseconds(500);
  o.retry.total = std::chrono::milliseconds(20000);
  o.connect_timeout_ms = 2000;
  o.idle_timeout_s = 10;
  return o;
}

// Removes everything under the storage's prefix (best effort, for TearDown).
inline void wipe(S3Storage& s) {
  try {
    std::vector<std::string> keys;
    for (auto& o : s.list("")) keys.push_back(o.key);
    s.remove_many(keys);
  } catch (const std::exception&) {
    // A test that broke the server leaves its prefix behind; the server's folder is temporary.
  }
}

}  // namespace coffer::s3test
