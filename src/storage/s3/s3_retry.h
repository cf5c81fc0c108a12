// When and how long to wait before retrying an S3 request. Pure functions; s3_storage.cpp
// applies them. Exponential backoff with full jitter (AWS architecture blog, "Exponential
// Backoff And Jitter"): delay = uniform(0, min(cap, base * 2^(attempt-1))), within a bounded
// number of attempts and a bounded total time.
#pragma once

#include <chrono>
#include <random>
#include <string_view>

namespace coffer::s3 {

struct RetryPolicy {
  int max_attempts = 8;                            // tries in all, the first included
  std::chrono::milliseconds base{200};             // first backoff's upper bound
  std::chrono::milliseconds cap{20000};            // no single wait longer than this
  std::chrono::milliseconds total{120000};         // no retry starts after this much time in all
};

// Upper bound of the wait after failed attempt number `attempt` (1-based).
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt);
// The jittered wait: uniform in [0, backoff_ceiling].
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

// HTTP answers worth another try: 500, 502, 503 (SlowDown), 504, 429, 408, and the S3 error
// codes that mean "try again" whatever the status (RequestTimeout, InternalError, SlowDown,
// ServiceUnavailable, OperationAborted, ConditionalRequestConflict).
bool retryable_http(long status, std::string_view s3_code);
// libcurl results worth another try: refused or reset connections, timeouts, truncated
// transfers, failed name lookups. Not: bad URL, TLS certificate problems, out of memory.
bool retryable_transport(int curl_code);

}  // namespace coffer::s3
