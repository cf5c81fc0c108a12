#include "schedule/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "coffer/error.h"

namespace coffer::schedule {
namespace {

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string http(int port, const std::string& request) {
  int fd = connect_to(port);
  if (fd < 0) return "connect failed";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

TEST(MetricsServer, ServesTheRenderedTextOnGetMetrics) {
  std::atomic<int> calls{0};
  MetricsServer server("127.0.0.1", 0, [&] { return "coffer_test " + std::to_string(++calls) + "\n"; });
  ASSERT_GT(server.port(), 0);
  std::string r1 = http(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r1.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r1;
  EXPECT_NE(r1.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r1.find("\r\n\r\ncoffer_test 1\n"), std::string::npos) << r1;
  std::string r2 = http(server.port(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_NE(r2.find("coffer_test 2\n"), std::string::npos);  // rendered fresh for every request
  EXPECT_EQ(http(server.port(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(http(server.port(), "POST /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
}

TEST(MetricsServer, ASilentClientDoesNotBlockTheNextOneForLong) {
  MetricsServer server("127.0.0.1", 0, [] { return std::string("ok 1\n"); });
  int idle = connect_to(server.port());  // connects and says nothing
  ASSERT_GE(idle, 0);
  auto t0 = std::chrono::steady_clock::now();
  std::string r = http(server.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(r.find("ok 1"), std::string::npos);
  EXPECT_LT(waited, std::chrono::seconds(10));  // bounded by the per-client timeout (2 s)
  ::close(idle);
}

TEST(MetricsServer, PortInUseIsAConfigErrorNamingIt) {
  MetricsServer first("127.0.0.1", 0, [] { return std::string(); });
  try {
    MetricsServer second("127.0.0.1", first.port(), [] { return std::string(); });
    ADD_FAILURE() << "second server bound a port in use";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig);
    std::string msg = e.what();
    EXPECT_NE(msg.find("METRICS_PORT"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(first.port())), std::string::npos) << msg;
    EXPECT_NE(msg.find("in use"), std::string::npos) << msg;
  }
}

TEST(MetricsServer, ServesThePageAtTheRootWhenGivenOne) {
  MetricsServer server("127.0.0.1", 0, [] { return std::string("m 1\n"); }, [] { return std::string("<html>page</html>"); });
  std::string r = http(server.port(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\n\r\n<html>page</html>"), std::string::npos) << r;
  EXPECT_NE(http(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").find("m 1"), std::string::npos);
  EXPECT_EQ(http(server.port(), "GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
}

TEST(MetricsServer, ThePageNeedsItsTokenWhenOneIsSet) {
  const std::string token = "s3cr3t-t0ken";
  MetricsServer server("127.0.0.1", 0, [] { return std::string("m 1\n"); }, [] { return std::string("<html>page</html>"); },
                       token);
  auto status_of = [&](const std::string& request) {
    std::string r = http(server.port(), request);
    EXPECT_EQ(r.find(token), std::string::npos) << "the reply shows the token: " << r;
    return r.substr(0, r.find("\r\n"));
  };
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(status_of("GET /?token=wrong HTTP/1.1\r\n\r\n"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(status_of("GET /?token=s3cr3t-t0ke HTTP/1.1\r\n\r\n"), "HTTP/1.1 401 Unauthorized");  // a prefix
  EXPECT_EQ(status_of("GET /?token=s3cr3t-t0ken2 HTTP/1.1\r\n\r\n"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(status_of("GET /?token=s3cr3t-t0ken HTTP/1.1\r\n\r\n"), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_of("GET /?x=1&token=s3cr3t%2Dt0ken HTTP/1.1\r\n\r\n"), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nauthorization: Bearer s3cr3t-t0ken\r\n\r\n"), "HTTP/1.1 200 OK");
  EXPECT_EQ(status_of("GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 200 OK");  // Prometheus needs no token
}

TEST(MetricsServer, BeyondLoopbackThePageIsRefusedWithoutAToken) {
  // 0.0.0.0 listens on loopback too, which is how this test reaches it.
  MetricsServer server("0.0.0.0", 0, [] { return std::string("m 1\n"); }, [] { return std::string("<html>page</html>"); });
  std::string r = http(server.port(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 403", 0), 0u) << r;
  EXPECT_NE(r.find("DASHBOARD_TOKEN"), std::string::npos) << r;
  EXPECT_EQ(r.find("page"), std::string::npos);
  EXPECT_NE(http(server.port(), "GET /metrics HTTP/1.1\r\n\r\n").find("m 1"), std::string::npos);
}

TEST(MetricsServer, StopsPromptlyWhenDestroyed) {
  auto t0 = std::chrono::steady_clock::now();
  int port = 0;
  {
    MetricsServer server("127.0.0.1", 0, [] { return std::string(); });
    port = server.port();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(connect_to(port), -1);  // nobody listens any more
}

}  // namespace
}  // namespace coffer::schedule
