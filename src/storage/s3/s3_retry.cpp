#include "storage/s3/s3_retry.h"

#include <curl/curl.h>

#include <algorithm>

namespace coffer::s3 {

std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt) {
  int shift = std::clamp(attempt - 1, 0, 30);
  long long ceiling = policy.base.count() * (1LL << shift);
  return std::chrono::milliseconds(std::min<long long>(ceiling, policy.cap.count()));
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng) {
  std::uniform_int_distribution<long long> dist(0, backoff_ceiling(policy, attempt).count());
  return std::chrono::milliseconds(dist(rng));
}

bool retryable_http(long status, std::string_view code) {
  if (status == 500 || status == 502 || status == 503 || status == 504 || status == 429 || status == 408)
    return true;
  return code == "RequestTimeout" || code == "InternalError" || code == "SlowDown" ||
         code == "ServiceUnavailable" || code == "OperationAborted" || code == "ConditionalRequestConflict";
}

bool retryable_transport(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

}  // namespace coffer::s3
