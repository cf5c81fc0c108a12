#include "storage/s3/s3_storage.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>

#include "coffer/error.h"
#include "coffer/redact.h"
#include "storage/s3/s3_call.h"
#include "storage/s3/s3_xml.h"

namespace coffer {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMinPartSize = 5ull << 20;
constexpr size_t kDeleteBatch = 1000;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool dns_safe_bucket(const std::string& b) {
  return b.size() >= 3 && b.size() <= 63 &&
         std::all_of(b.begin(), b.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// Replaces every occurrence of each secret (4+ characters) in text by "***"; caps the length.
std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t at; (at = text.find(s)) != std::string::npos;) text.replace(at, s.size(), "***");
  }
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text;
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

std::string seconds_text(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

S3Storage::S3Storage(S3Options options) : options_(std::move(options)) {
  auto& o = options_;
  if (o.bucket.empty()) fail(ErrorCategory::kConfig, "the S3 bucket is not set (S3_BUCKET)");
  if (o.region.empty()) fail(ErrorCategory::kConfig, "the S3 region is not set (S3_REGION, e.g. us-east-1)");
  if (o.access_key.empty() || o.secret_key.empty())
    fail(ErrorCategory::kConfig,
         "S3 credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a credentials profile)");
  if (o.endpoint.empty()) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  size_t sep = o.endpoint.find("://");
  std::string authority = sep == std::string::npos ? "" : o.endpoint.substr(sep + 3);
  scheme_ = sep == std::string::npos ? "" : lower(o.endpoint.substr(0, sep));
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  if ((scheme_ != "http" && scheme_ != "https") || authority.empty() ||
      authority.find_first_of("/?#@ ") != std::string::npos)
    fail(ErrorCategory::kConfig, "S3_ENDPOINT '" + redact_url_credentials(o.endpoint) +
                                     "' is not a URL like https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:9000");
  authority = lower(authority);
  if (scheme_ == "https" && ends_with(authority, ":443")) authority.resize(authority.size() - 4);
  if (scheme_ == "http" && ends_with(authority, ":80")) authority.resize(authority.size() - 3);
  o.endpoint = scheme_ + "://" + authority;
  switch (o.addressing) {
    case S3Addressing::kPathStyle: path_style_ = true; break;
    case S3Addressing::kVirtualHosted: path_style_ = false; break;
    case S3Addressing::kAuto:
      path_style_ = !(ends_with(authority, ".amazonaws.com") && dns_safe_bucket(o.bucket));
      break;
  }
  host_ = path_style_ ? authority : o.bucket + "." + authority;
  while (!o.prefix.empty() && o.prefix.front() == '/') o.prefix.erase(0, 1);
  if (!o.prefix.empty() && o.prefix.back() != '/') o.prefix.push_back('/');
  if (!o.sse.empty() && o.sse != "AES256" && o.sse != "aws:kms")
    fail(ErrorCategory::kConfig, "S3 server-side encryption '" + o.sse + "' is not AES256 or aws:kms");
  if (!o.sse_kms_key_id.empty() && o.sse != "aws:kms")
    fail(ErrorCategory::kConfig, "an SSE-KMS key id is set but server-side encryption is not aws:kms");
  if (o.part_size < kMinPartSize)
    fail(ErrorCategory::kConfig, "S3 multipart part size " + std::to_string(o.part_size) +
                                     " is below S3's minimum of 5 MiB");
  if (o.retry.max_attempts < 1) fail(ErrorCategory::kConfig, "S3 retry attempts must be at least 1");
  o.multipart_concurrency = std::max(1, o.multipart_concurrency);
  http_ = std::make_unique<s3::HttpClient>(s3::HttpOptions{o.connect_timeout_ms, o.idle_timeout_s,
                                                           o.request_timeout_ms, o.tls_verify, o.ca_bundle});
}

S3Storage::~S3Storage() = default;

std::string S3Storage::describe() const {
  return "s3://" + options_.bucket + "/" + options_.prefix + " at " + options_.endpoint;
}

std::string S3Storage::full_key(const std::string& key) const {
  if (key.empty() || key.front() == '/' || key.find("..") != std::string::npos || key.find('\0') != std::string::npos)
    fail(ErrorCategory::kInternal, "invalid storage key '" + key + "'");
  return options_.prefix + key;
}

std::string S3Storage::object_path(const std::string& full) const {
  // No trailing '/' on the bucket: "/bucket", never "/bucket/" (some servers reject it).
  if (path_style_) return "/" + options_.bucket + (full.empty() ? "" : "/" + full);
  return "/" + full;
}

void S3Storage::add_write_headers(sigv4::Pairs& headers) const {
  if (!options_.storage_class.empty()) headers.emplace_back("x-amz-storage-class", options_.storage_class);
  if (!options_.sse.empty()) headers.emplace_back("x-amz-server-side-encryption", options_.sse);
  if (!options_.sse_kms_key_id.empty())
    headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.sse_kms_key_id);
}

S3Storage::Answer S3Storage::execute(const Call& call) {
  const auto start = Clock::now();
  const std::string path = object_path(call.full_key);
  const std::string query = sigv4::canonical_query(call.query);
  const std::string url = scheme_ + "://" + host_ + sigv4::uri_encode(path, true) + (query.empty() ? "" : "?" + query);
  const std::string payload_hash = sigv4::sha256_hex(call.body);
  const sigv4::Credentials cred{options_.access_key, options_.secret_key, options_.session_token};
  bool retried = false;
  for (int attempt = 1;; ++attempt) {
    std::string date = sigv4::amz_date(std::chrono::system_clock::now());
    sigv4::Request req{call.method, path, call.query, call.headers, payload_hash};
    req.headers.emplace_back("Host", host_);
    req.headers.emplace_back("x-amz-date", date);
    req.headers.emplace_back("x-amz-content-sha256", payload_hash);
    if (!options_.session_token.empty()) req.headers.emplace_back("x-amz-security-token", options_.session_token);
    s3::HttpRequest hr{call.method, url, req.headers, call.body, call.expected_body};
    hr.headers.emplace_back("Authorization", sigv4::authorization(req, cred, options_.region, "s3", date));

    Answer a;
    a.http = http_->perform(hr);
    a.retried = retried;
    std::string why, hint = "is the S3 server up and reachable?";
    bool retry = false;
    if (!a.http.ok()) {
      why = a.http.transport_error;
      retry = s3::retryable_transport(a.http.curl_code);
      if (!retry)
        fail(ErrorCategory::kStorage, "S3 " + call.what + " in " + describe() + " failed: " + why +
                                          (scheme_ == "https" ? " (check S3_ENDPOINT and, for TLS errors, the CA bundle)" : ""));
    } else {
      std::string_view body(reinterpret_cast<const char*>(a.http.body.data()), a.http.body.size());
      bool error_body = call.error_in_200 && a.status() == 200 && s3xml::first(body, "Error");
      if (a.status() >= 300 || error_body) {
        if (auto e = s3xml::parse_error(body)) {
          a.code = e->code;
          a.message = e->message;
        }
        if (error_body && a.code.empty()) a.code = "InternalError";
        retry = s3::retryable_http(error_body ? 500 : a.status(), a.code);
        why = "HTTP " + std::to_string(a.status()) + (a.code.empty() ? "" : " " + a.code) +
              (a.message.empty() ? "" : ": " + a.message);
        hint = "the server kept failing; try again later";
      }
    }
    if (!retry) return a;
    auto delay = s3::backoff_delay(options_.retry, attempt, rng());
    auto elapsed = Clock::now() - start;
    if (attempt >= options_.retry.max_attempts || elapsed + delay > options_.retry.total)
      fail(ErrorCategory::kStorage,
           "S3 " + call.what + " in " + describe() + " failed after " + std::to_string(attempt) + " attempts over " +
               seconds_text(elapsed) + ": " +
               scrub(why, {options_.secret_key, options_.session_token}) + " (" + hint + ")");
    std::this_thread::sleep_for(delay);
    retried = true;
    if (call.done_already && call.done_already()) {
      Answer done;
      done.http.status = 200;
      done.retried = true;
      return done;
    }
  }
}

void S3Storage::fail_answer(const Call& call, const Answer& a) const {
  std::string code = a.code;
  if (code.empty() && a.status() == 403) code = "AccessDenied";  // HEAD answers have no body
  if (code.empty() && a.status() == 404) code = "NotFound";
  std::string detail = "HTTP " + std::to_string(a.status()) + (code.empty() ? "" : " " + code) +
                       (a.message.empty() ? "" : ": " + a.message);
  detail = scrub(detail, {options_.secret_key, options_.session_token});
  const std::string where = "bucket '" + options_.bucket + "' at " + options_.endpoint;
  if (a.status() == 403 && code == "RequestTimeTooSkewed")
    fail(ErrorCategory::kStorage, "S3 refused " + call.what + " in " + where + ": this machine's clock is off (" +
                                      detail + "); fix the clock (NTP)");
  if (a.status() == 403)
    fail(ErrorCategory::kAuth, "S3 access denied for " + call.what + " in " + where + " (" + detail +
                                   "): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) "
                                   "and the key's permissions on the bucket");
  if (code == "NoSuchBucket")
    fail(ErrorCategory::kStorage, "S3 at " + options_.endpoint + " has no bucket '" + options_.bucket + "' (" +
                                      detail + "): create it or fix S3_BUCKET / S3_ENDPOINT");
  if (a.status() == 301 || a.status() == 307 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed")
    fail(ErrorCategory::kConfig, "S3 " + where + " answered " + detail +
                                     ": the bucket is probably in another region; set S3_REGION (now " +
                                     options_.region + ") or S3_ENDPOINT");
  fail(ErrorCategory::kStorage, "S3 " + call.what + " in " + describe() + " failed: " + detail);
}

void S3Storage::put(const std::string& key, ByteView data) {
  if (data.size() > options_.multipart_threshold) {
    put_multipart(key, data);
  } else {
    put_single(key, data, false, nullptr);
  }
}

bool S3Storage::put_if_absent(const std::string& key, ByteView data) {
  // The HEAD makes servers that ignore If-None-Match (s3rver) mostly right; the conditional
  // PUT makes servers that honour it (AWS S3 since 2024, recent MinIO) exactly right.
  if (head(key)) return false;
  bool created = false;
  put_single(key, data, true, &created);
  return created;
}

void S3Storage::put_single(const std::string& key, ByteView data, bool if_absent, bool* created) {
  Call call{"PUT", full_key(key), {}, {}, data, "PUT of object " + key};
  call.headers = {{"Content-Type", "application/octet-stream"}, {"Content-MD5", sigv4::md5_base64(data)}};
  add_write_headers(call.headers);
  if (if_absent) call.headers.emplace_back("If-None-Match", "*");
  Answer a = execute(call);
  if (if_absent && a.status() == 501) {  // a server that refuses conditional writes: plain PUT
    call.headers.pop_back();
    a = execute(call);
  }
  if (a.status() == 200) {
    if (created) *created = true;
    return;
  }
  if (if_absent && a.status() == 412) {
    // Taken. Unless an earlier attempt of ours got through and only its answer was lost:
    // then the object holds exactly our bytes.
    bool ours = false;
    if (a.retried) {
      try {
        ours = get(key, 0, kWhole) == Bytes(data.begin(), data.end());
      } catch (const Error&) {
        ours = false;  // unreadable now: not provably ours, so report it taken
      }
    }
    *created = ours;
    return;
  }
  fail_answer(call, a);
}

Bytes S3Storage::get(const std::string& key, uint64_t offset, uint64_t length) {
  auto shorter = [&](uint64_t size) -> Error {
    return Error(ErrorCategory::kDamaged, "object " + key + " in " + describe() + " is shorter than expected (" +
                                              std::to_string(size) + " bytes, wanted up to " +
                                              (length == kWhole ? std::to_string(offset)
                                                                : std::to_string(offset + length)) + ")");
  };
  auto missing = [&] {
    return Error(ErrorCategory::kNotFound, "object " + key + " is missing from " + describe());
  };
  if (length == 0) {
    auto info = head(key);
    if (!info) throw missing();
    if (info->size < offset) throw shorter(info->size);
    return {};
  }
  Call call{"GET", full_key(key), {}, {}, {}, "GET of object " + key};
  if (offset > 0 || length != kWhole)
    call.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" +
                                           (length == kWhole ? "" : std::to_string(offset + length - 1)));
  if (length != kWhole) call.expected_body = static_cast<size_t>(std::min<uint64_t>(length, 256ull << 20));
  Answer a = execute(call);
  if (a.status() == 404 && a.code != "NoSuchBucket") throw missing();
  if (a.status() == 416) {  // the range starts at or past the end
    auto info = head(key);
    if (!info) throw missing();
    if (length == kWhole && info->size == offset) return {};
    throw shorter(info->size);
  }
  if (a.status() != 200 && a.status() != 206) fail_answer(call, a);
  Bytes body = std::move(a.http.body);
  if (a.status() == 206) {
    // Trust the range the server says it sent, not the one we asked for: s3rver answers
    // "bytes=0-0" with the whole object.
    auto range = a.http.headers.find("content-range");
    uint64_t start = 0;
    std::string_view cr = range == a.http.headers.end() ? std::string_view() : std::string_view(range->second);
    size_t digits = cr.find_first_of("0123456789");
    if (digits == std::string_view::npos ||
        std::from_chars(cr.data() + digits, cr.data() + cr.size(), start).ec != std::errc() || start != offset)
      fail(ErrorCategory::kStorage, "S3 " + call.what + " in " + describe() + ": asked for bytes from " +
                                        std::to_string(offset) + ", the server sent '" + std::string(cr) + "'");
    if (length != kWhole && body.size() > length) body.resize(length);
  }
  if (a.status() == 200 && (offset > 0 || length != kWhole)) {
    // The server sent the whole object despite the Range: cut the range out of it.
    if (offset > body.size()) throw shorter(body.size());
    body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(offset));
    if (length != kWhole && body.size() > length) body.resize(length);
  }
  if (length != kWhole && body.size() != length) throw shorter(offset + body.size());
  return body;
}

std::optional<ObjectInfo> S3Storage::head(const std::string& key) {
  Call call{"HEAD", full_key(key), {}, {}, {}, "HEAD of object " + key};
  Answer a = execute(call);
  if (a.status() == 404) return std::nullopt;
  if (a.status() != 200) fail_answer(call, a);
  auto len = a.http.headers.find("content-length");
  uint64_t size = 0;
  if (len == a.http.headers.end() || std::from_chars(len->second.data(), len->second.data() + len->second.size(), size).ec != std::errc())
    fail(ErrorCategory::kStorage, "S3 " + call.what + " in " + describe() + ": the answer has no Content-Length");
  return ObjectInfo{key, size};
}

std::vector<ObjectInfo> S3Storage::list(const std::string& prefix) {
  const std::string full_prefix = options_.prefix + prefix;
  std::vector<ObjectInfo> out;
  std::string token;
  while (true) {
    Call call{"GET", "", {{"list-type", "2"}, {"prefix", full_prefix}}, {}, {}, "listing of '" + prefix + "'"};
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    Answer a = execute(call);
    if (a.status() != 200) fail_answer(call, a);
    s3xml::ListPage page = s3xml::parse_list_v2(
        std::string_view(reinterpret_cast<const char*>(a.http.body.data()), a.http.body.size()));
    for (auto& o : page.objects) {
      if (o.key.rfind(full_prefix, 0) != 0) continue;  // not ours: a server that ignored the prefix
      out.push_back({o.key.substr(options_.prefix.size()), o.size});
    }
    if (!page.truncated) break;
    if (page.next_token == token)
      fail(ErrorCategory::kStorage, "S3 " + call.what + " in " + describe() + ": the server repeats its continuation token");
    token = page.next_token;
  }
  return out;
}

void S3Storage::remove(const std::string& key) {
  Call call{"DELETE", full_key(key), {}, {}, {}, "DELETE of object " + key};
  Answer a = execute(call);
  if (a.status() == 200 || a.status() == 204 || (a.status() == 404 && a.code != "NoSuchBucket")) return;
  fail_answer(call, a);
}

void S3Storage::remove_many(const std::vector<std::string>& keys) {
  for (size_t begin = 0; begin < keys.size(); begin += kDeleteBatch) {
    size_t end = std::min(keys.size(), begin + kDeleteBatch);
    std::vector<std::string> full;
    for (size_t i = begin; i < end; ++i) full.push_back(full_key(keys[i]));
    std::string body = s3xml::delete_objects_body(full);
    Call call{"POST", "", {{"delete", ""}},
              {{"Content-Type", "application/xml"}, {"Content-MD5", sigv4::md5_base64(as_bytes(body))}},
              as_bytes(body), "batch delete of " + std::to_string(full.size()) + " objects"};
    Answer a = execute(call);
    if (a.status() != 200) fail_answer(call, a);
    std::vector<s3xml::ErrorInfo> errors;
    for (auto& e : s3xml::parse_delete_errors(std::string_view(
             reinterpret_cast<const char*>(a.http.body.data()), a.http.body.size())))
      if (e.code != "NoSuchKey") errors.push_back(std::move(e));
    if (!errors.empty())
      fail(errors.front().code == "AccessDenied" ? ErrorCategory::kAuth : ErrorCategory::kStorage,
           "S3 " + call.what + " in " + describe() + ": " + std::to_string(errors.size()) +
               " not deleted, first " + errors.front().key + " (" + errors.front().code + ": " +
               errors.front().message + ")");
  }
}

}  // namespace coffer
