#include "schedule/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <cerrno>
#include <optional>
#include <cstring>

#include "codec/crypto.h"
#include "coffer/error.h"

namespace coffer::schedule {

namespace {

constexpr int kPollMs = 200;            // how soon a stop is noticed
constexpr int kClientTimeoutMs = 2000;  // per connection, for reading the request
constexpr size_t kMaxRequest = 8192;

void send_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away: nothing to do
    done += static_cast<size_t>(n);
  }
}

std::string response(const char* status, const char* type, const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Equal in time independent of where they differ: both are hashed first, so neither the
// position of the first difference nor the token's length shows in how long it takes.
bool same_secret(const std::string& given, const std::string& expected) {
  const Digest a = sha256(ByteView(reinterpret_cast<const uint8_t*>(given.data()), given.size()));
  const Digest b = sha256(ByteView(reinterpret_cast<const uint8_t*>(expected.data()), expected.size()));
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// The token a request carries: `?token=` in the target, or an `Authorization: Bearer` header.
std::optional<std::string> token_of(const std::string& target, const std::string& headers) {
  const size_t q = target.find('?');
  if (q != std::string::npos) {
    const std::string query = target.substr(q + 1);
    size_t start = 0;
    while (start <= query.size()) {
      size_t end = query.find('&', start);
      if (end == std::string::npos) end = query.size();
      const std::string pair = query.substr(start, end - start);
      if (pair.rfind("token=", 0) == 0) return percent_decoded(pair.substr(6));
      start = end + 1;
    }
  }
  for (size_t at = 0; (at = headers.find("\r\n", at)) != std::string::npos;) {
    at += 2;
    const size_t end = headers.find("\r\n", at);
    const std::string line = headers.substr(at, end == std::string::npos ? std::string::npos : end - at);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "authorization") continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (value.rfind("Bearer ", 0) == 0) return value.substr(7);
  }
  return std::nullopt;
}

}  // namespace

MetricsServer::MetricsServer(const std::string& address, int port, Render render, Render page, std::string page_token)
    : render_(std::move(render)), page_(std::move(page)), page_token_(std::move(page_token)) {
  loopback_ = address.rfind("127.", 0) == 0;
  const std::string where = address + ":" + std::to_string(port);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail(ErrorCategory::kConfig, "METRICS_PORT: cannot open a socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
    ::close(listen_fd_);
    fail(ErrorCategory::kConfig, "METRICS_ADDRESS: \"" + address + "\" is not an IPv4 address");
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listen_fd_, 16) != 0) {
    int err = errno;
    ::close(listen_fd_);
    fail(ErrorCategory::kConfig,
         "METRICS_PORT: cannot listen on " + where + ": " + std::strerror(err) +
             (err == EADDRINUSE ? " (another program uses the port: pick another METRICS_PORT, or 0 for none)" : ""));
  }
  socklen_t len = sizeof sa;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void MetricsServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, kPollMs);
    if (r <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    try {
      answer(fd);
    } catch (const std::exception& e) {
      spdlog::warn("metrics endpoint: {}", e.what());
    }
    ::close(fd);
  }
}

void MetricsServer::answer(int fd) {
  std::string request;
  char buf[2048];
  // Read until the end of the headers, the size limit or the timeout.
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequest) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kClientTimeoutMs) <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const size_t line_end = request.find("\r\n");
  const std::string line = request.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  const std::string method = line.substr(0, sp1);
  const std::string target = sp2 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET" && method != "HEAD") {
    send_all(fd, response("405 Method Not Allowed", "text/plain", "only GET /metrics\n"));
    return;
  }
  if (page_ && (target == "/" || target.rfind("/?", 0) == 0)) {
    send_all(fd, page_reply(target, request.substr(0, request.find("\r\n\r\n") + 2), method == "HEAD"));
    return;
  }
  if (target != "/metrics" && target.rfind("/metrics?", 0) != 0) {
    send_all(fd, response("404 Not Found", "text/plain", "coffer serves GET /metrics\n"));
    return;
  }
  std::string body = render_();
  std::string reply = response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
  if (method == "HEAD") reply.resize(reply.size() - body.size());
  send_all(fd, reply);
}

std::string MetricsServer::page_reply(const std::string& target, const std::string& headers, bool head) {
  if (page_token_.empty() && !loopback_)
    return response("403 Forbidden", "text/plain; charset=utf-8",
                    "the dashboard is served beyond loopback only with DASHBOARD_TOKEN set\n");
  if (!page_token_.empty()) {
    std::optional<std::string> given = token_of(target, headers);
    if (!given || !same_secret(*given, page_token_))
      return response("401 Unauthorized", "text/plain; charset=utf-8",
                      "the dashboard needs its token: open /?token=... or send Authorization: Bearer ...\n");
  }
  std::string body = page_();
  std::string reply = response("200 OK", "text/html; charset=utf-8", body);
  if (head) reply.resize(reply.size() - body.size());
  return reply;
}

}  // namespace coffer::schedule
