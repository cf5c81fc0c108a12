// A throwaway PostgreSQL server on a restored data folder (a drill of a physical backup): pg_ctl
// starts it with no TCP listener (a Unix socket in a private folder, trusted there by an hba file
// of its own, so no password or peer mapping is needed), with archiving off (its WAL must never
// reach the archive of the cluster it was restored from), logging to a file; it is stopped
// (immediate: it is thrown away) when this goes. A server a killed drill left running is stopped
// by stop_abandoned_server().
#pragma once

#include <chrono>
#include <string>

namespace coffer::pg::physical {

struct ScratchServerOptions {
  std::string bin_dir;     // the cluster's major version's binaries (pg_ctl, postgres)
  std::string pgdata;      // the restored data folder
  std::string socket_dir;  // a private folder (0700) for the socket and the hba file
  std::string log_file;
  int port = 0;            // names the socket (.s.PGSQL.<port>); nothing listens on TCP
  std::chrono::seconds start_timeout{3600};  // recovery up to the backup's end may replay much WAL
};

class ScratchServer {
 public:
  // Starts the server and waits until it accepts connections. Throws Error(kDatabase) with the
  // end of its log when it does not start.
  explicit ScratchServer(ScratchServerOptions options);
  ~ScratchServer();  // pg_ctl stop -m immediate
  ScratchServer(const ScratchServer&) = delete;
  ScratchServer& operator=(const ScratchServer&) = delete;

  // The end of the server's log (for messages).
  std::string log_tail() const;
  const ScratchServerOptions& options() const { return options_; }

 private:
  ScratchServerOptions options_;
  bool running_ = false;
};

// The folder of PostgreSQL <major>'s binaries (COFFER_PG_BIN when set). Throws Error(kDatabase)
// naming the package to install when it has no pg_ctl.
std::string server_bin_dir(int major);

// A local port nothing listens on now (the kernel's pick).
int free_local_port();

// Stops the postmaster whose postmaster.pid is in `pgdata` (SIGQUIT: immediate shutdown), if it
// still runs; returns whether one did. For the sweep of what a killed drill left.
bool stop_abandoned_server(const std::string& pgdata);

}  // namespace coffer::pg::physical
