#include "storage/s3/s3_retry.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <set>

namespace coffer::s3 {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, CeilingDoublesUpToTheCap) {
  RetryPolicy p;
  p.base = milliseconds(100);
  p.cap = milliseconds(1000);
  EXPECT_EQ(backoff_ceiling(p, 1), milliseconds(100));
  EXPECT_EQ(backoff_ceiling(p, 2), milliseconds(200));
  EXPECT_EQ(backoff_ceiling(p, 4), milliseconds(800));
  EXPECT_EQ(backoff_ceiling(p, 5), milliseconds(1000));
  EXPECT_EQ(backoff_ceiling(p, 60), milliseconds(1000));  // no overflow
}

TEST(RetryPolicy, FullJitterStaysWithinTheCeilingAndSpreads) {
  RetryPolicy p;
  p.base = milliseconds(100);
  std::mt19937_64 rng(42);
  std::set<long long> seen;
  for (int i = 0; i < 200; ++i) {
    auto d = backoff_delay(p, 3, rng);
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d, milliseconds(400));
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 50u);  // spread out, so clients that failed together do not retry together
  EXPECT_LT(*seen.begin(), 100);
  EXPECT_GT(*seen.rbegin(), 300);
}

TEST(RetryPolicy, WhichAnswersAreRetried) {
  for (long status : {500, 502, 503, 504, 429, 408}) EXPECT_TRUE(retryable_http(status, "")) << status;
  EXPECT_TRUE(retryable_http(400, "RequestTimeout"));
  EXPECT_TRUE(retryable_http(200, "InternalError"));
  EXPECT_TRUE(retryable_http(409, "ConditionalRequestConflict"));
  for (long status : {400, 403, 404, 409, 412, 416}) EXPECT_FALSE(retryable_http(status, "")) << status;
  EXPECT_FALSE(retryable_http(403, "SignatureDoesNotMatch"));
  EXPECT_FALSE(retryable_http(404, "NoSuchBucket"));
  EXPECT_TRUE(retryable_transport(CURLE_COULDNT_CONNECT));
  EXPECT_TRUE(retryable_transport(CURLE_RECV_ERROR));
  EXPECT_TRUE(retryable_transport(CURLE_OPERATION_TIMEDOUT));
  EXPECT_TRUE(retryable_transport(CURLE_PARTIAL_FILE));
  EXPECT_FALSE(retryable_transport(CURLE_PEER_FAILED_VERIFICATION));
  EXPECT_FALSE(retryable_transport(CURLE_URL_MALFORMAT));
}

}  // namespace
}  // namespace coffer::s3
