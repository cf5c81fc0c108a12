// S3Storage's internal request and answer records, shared by its .cpp files. Not public.
#pragma once

#include <functional>
#include <string>

#include "storage/s3/s3_storage.h"

namespace coffer {

struct S3Storage::Call {
  std::string method;
  std::string full_key;       // "" = the bucket itself
  sigv4::Pairs query;
  sigv4::Pairs headers;       // besides host, x-amz-date, x-amz-content-sha256 and the token
  ByteView body;
  std::string what;           // "PUT of object data/ab/x", for messages
  size_t expected_body = 0;
  bool error_in_200 = false;  // CompleteMultipartUpload can fail with "200 OK" and an <Error>
  // Asked before each retry: did an earlier attempt take effect after all (its answer lost)?
  // Then execute() stops and answers 200.
  std::function<bool()> done_already = nullptr;
};

struct S3Storage::Answer {
  s3::HttpResult http;
  std::string code;           // S3 error code when the answer is an error
  std::string message;
  bool retried = false;       // an earlier attempt failed in a way that may have applied it
  long status() const { return http.status; }
};

}  // namespace coffer
