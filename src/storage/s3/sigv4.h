// AWS Signature Version 4 for S3 requests: pure functions, no network, no clock.
// S3 flavour: the path is URI-encoded once and never normalised ("//" and "." stay as they
// are), and the payload hash is the hex SHA-256 of the plain body (never aws-chunked).
// Nothing here logs; the secret key only enters signing_key().
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.h"

namespace coffer::sigv4 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials (sent as x-amz-security-token)
};

struct Request {
  std::string method;        // "GET", "PUT", ...
  std::string path;          // decoded, e.g. "/bucket/backups/a b.txt"; encoded here
  Pairs query;               // decoded names and values; "?uploads" is {"uploads", ""}
  Pairs headers;             // every header to sign, host and x-amz-date included; any case
  std::string payload_hash;  // lowercase hex SHA-256 of the body (also sent as x-amz-content-sha256)
};

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ stay, every other byte
// becomes %XX (upper-case hex); '/' stays when keep_slash.
std::string uri_encode(std::string_view s, bool keep_slash);
// "a=1&b=2": names and values encoded, sorted by name then value. Also the URL's query.
std::string canonical_query(const Pairs& query);
// "host;x-amz-date": lower-case names, sorted, duplicates once.
std::string signed_headers(const Pairs& headers);
std::string canonical_request(const Request& request);
// "20150830/us-east-1/s3/aws4_request"
std::string credential_scope(std::string_view date8, std::string_view region, std::string_view service);
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
// HMAC chain: "AWS4"+secret -> date -> region -> service -> "aws4_request".
Bytes signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                  std::string_view service);
// The Authorization header's value. amz_date is "YYYYMMDDTHHMMSSZ" and must equal the
// x-amz-date header in request.headers.
std::string authorization(const Request& request, const Credentials& credentials, std::string_view region,
                          std::string_view service, std::string_view amz_date);

// "YYYYMMDDTHHMMSSZ" in UTC.
std::string amz_date(std::chrono::system_clock::time_point t);
std::string sha256_hex(ByteView data);
// Base64 of the MD5 digest: the Content-MD5 header.
std::string md5_base64(ByteView data);

inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace coffer::sigv4
