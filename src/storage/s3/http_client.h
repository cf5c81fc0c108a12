// One HTTP request at a time per call, many calls at once: a small pool of libcurl easy
// handles (one per request in flight, kept for connection reuse). No retries and no S3
// knowledge here; s3_storage.cpp adds both. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "util/bytes.h"

namespace coffer::s3 {

struct HttpOptions {
  long connect_timeout_ms = 10000;
  long idle_timeout_s = 60;        // abort when less than 1 byte/s moves for this long
  long request_timeout_ms = 0;     // whole request; 0 = no limit (large objects take time)
  bool tls_verify = true;
  std::string ca_bundle;           // PEM file; empty = the system's
};

struct HttpRequest {
  std::string method;              // GET HEAD PUT POST DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  ByteView body;                   // sent with PUT and POST
  size_t expected_body = 0;        // a hint to reserve the response buffer
};

struct HttpResult {
  int curl_code = 0;               // CURLE_OK (0) when an HTTP answer came back
  std::string transport_error;     // libcurl's words when curl_code != 0
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  Bytes body;
  bool ok() const { return curl_code == 0; }
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult perform(const HttpRequest& request);

 private:
  void* acquire();              // a CURL*, from the pool or new
  void release(void* handle);
  HttpOptions options_;
  std::mutex mu_;
  std::vector<void*> idle_;     // CURL* handles not in use
};

}  // namespace coffer::s3
