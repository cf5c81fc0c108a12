#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "coffer/error.h"

namespace coffer::sigv4 {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims both ends and turns each run of spaces inside into one space (SigV4 "Trimall").
std::string trim_all(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// name -> values in the order given; std::map sorts the names.
std::map<std::string, std::vector<std::string>> header_map(const Pairs& headers) {
  std::map<std::string, std::vector<std::string>> m;
  for (const auto& [name, value] : headers) m[lower(trim_all(name))].push_back(trim_all(value));
  return m;
}

Bytes hmac(ByteView key, std::string_view msg) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const uint8_t*>(msg.data()),
            msg.size(), out.data(), &len))
    fail(ErrorCategory::kInternal, "HMAC-SHA-256 failed in OpenSSL");
  out.resize(len);
  return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    // Explicit ranges, not isalnum(): the result must not depend on the process's locale.
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string canonical_query(const Pairs& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

std::string signed_headers(const Pairs& headers) {
  std::string out;
  for (const auto& [name, values] : header_map(headers)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

std::string canonical_request(const Request& r) {
  std::string out = r.method + "\n" + uri_encode(r.path.empty() ? "/" : r.path, true) + "\n" +
                    canonical_query(r.query) + "\n";
  for (const auto& [name, values] : header_map(r.headers)) {
    out += name + ":";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
    out += "\n";
  }
  out += "\n" + signed_headers(r.headers) + "\n" + r.payload_hash;
  return out;
}

std::string credential_scope(std::string_view date8, std::string_view region, std::string_view service) {
  return std::string(date8) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + std::string(scope) + "\n" +
         sha256_hex(as_bytes(canonical));
}

Bytes signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                  std::string_view service) {
  std::string k0 = "AWS4" + std::string(secret);
  Bytes k = hmac(as_bytes(k0), date8);
  std::fill(k0.begin(), k0.end(), '\0');
  k = hmac(k, region);
  k = hmac(k, service);
  return hmac(k, "aws4_request");
}

std::string authorization(const Request& request, const Credentials& credentials, std::string_view region,
                          std::string_view service, std::string_view date) {
  if (date.size() != 16) fail(ErrorCategory::kInternal, "SigV4: bad x-amz-date '" + std::string(date) + "'");
  std::string_view date8 = date.substr(0, 8);
  std::string scope = credential_scope(date8, region, service);
  std::string sts = string_to_sign(date, scope, canonical_request(request));
  Bytes key = signing_key(credentials.secret_key, date8, region, service);
  std::string signature = to_hex(hmac(key, sts));
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + "/" + scope +
         ", SignedHeaders=" + signed_headers(request.headers) + ", Signature=" + signature;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string sha256_hex(ByteView data) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    fail(ErrorCategory::kInternal, "SHA-256 failed in OpenSSL");
  return to_hex(ByteView(md, len));
}

std::string md5_base64(ByteView data) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr) != 1)
    fail(ErrorCategory::kInternal, "MD5 failed in OpenSSL");
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

}  // namespace coffer::sigv4
