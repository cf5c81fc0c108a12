// A minimal HTTP endpoint for Prometheus: GET /metrics answers with the body the callback
// renders; GET / with the dashboard page, when one is given; anything else gets 404 (or 405 for
// other methods). The page needs DASHBOARD_TOKEN (`?token=` or `Authorization: Bearer`) when
// one is set, and is refused (403) on an address other than loopback without one. One connection at a time on its own
// thread, each bounded by a short I/O timeout, so a stuck client cannot stall it for long and
// never stalls the scheduler.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace coffer::schedule {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // Binds address:port and starts serving. Throws Error(kConfig) naming METRICS_PORT /
  // METRICS_ADDRESS when the port is in use or the address cannot be bound.
  // `page`: renders GET / (none: 404); `page_token`: what a request for it must carry ("" = none).
  MetricsServer(const std::string& address, int port, Render render, Render page = {}, std::string page_token = "");
  ~MetricsServer();  // stops the thread and closes the socket
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }  // the bound port

 private:
  void serve();
  void answer(int fd);
  // The status line and body for GET /: the page, or why not.
  std::string page_reply(const std::string& target, const std::string& headers, bool head);

  int listen_fd_ = -1;
  int port_ = 0;
  Render render_;
  Render page_;
  std::string page_token_;
  bool loopback_ = true;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace coffer::schedule
