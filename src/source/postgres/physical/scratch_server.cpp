#include "source/postgres/physical/scratch_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "coffer/error.h"
#include "source/postgres/pg_tools.h"
#include "util/subprocess.h"

namespace coffer::pg::physical {
namespace fs = std::filesystem;
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A setting for `postgres -c`, quoted for pg_ctl's -o (which goes through a shell).
std::string option(const std::string& name, const std::string& value) {
  std::string quoted = "'";
  for (char c : value) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return " -c " + name + "=" + quoted + "'";
}

}  // namespace

std::string server_bin_dir(int major) {
  if (const char* dir = std::getenv("COFFER_PG_BIN"); dir && *dir) return dir;
  const std::string dir = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  if (::access((dir + "/pg_ctl").c_str(), X_OK) != 0)
    fail(ErrorCategory::kDatabase, "a drill of a physical backup starts the backup's PostgreSQL " + std::to_string(major) +
                                       " on the restored folder, and " + dir + "/pg_ctl is not there: install "
                                       "postgresql-" + std::to_string(major) + " (or set COFFER_PG_BIN to its bin folder)");
  return dir;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(ErrorCategory::kStorage, std::string("cannot open a socket to find a free port: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  if (port == 0) fail(ErrorCategory::kStorage, "cannot find a free local port for the drill's server");
  return port;
}

ScratchServer::ScratchServer(ScratchServerOptions options) : options_(std::move(options)) {
  const ScratchServerOptions& o = options_;
  const std::string hba = o.socket_dir + "/pg_hba.conf";
  std::ofstream(hba) << "# coffer drill: the socket's folder is private to the drill's user\nlocal all all trust\n";
  std::string settings = option("port", std::to_string(o.port)) + option("listen_addresses", "") +
                         option("unix_socket_directories", o.socket_dir) + option("hba_file", hba) +
                         option("archive_mode", "off") + option("logging_collector", "off") +
                         option("hot_standby", "on");
  ProcessSpec spec;
  spec.argv = {o.bin_dir + "/pg_ctl", "-D", o.pgdata, "-l", o.log_file, "-w", "-t",
               std::to_string(o.start_timeout.count()), "-o", settings, "start"};
  std::string out, err;
  const int rc = run_process(spec, &out, &err);
  if (rc != 0) {
    // It may be up after all (a timeout): never leave it running.
    ProcessSpec stop;
    stop.argv = {o.bin_dir + "/pg_ctl", "-D", o.pgdata, "-m", "immediate", "-w", "stop"};
    std::string ignored;
    run_process(stop, &ignored, &ignored);
    fail(ErrorCategory::kDatabase, "the drill's server on the restored folder did not start (pg_ctl exit " +
                                       std::to_string(rc) + "): " + tool_message(err + out) + "; its log ends: " +
                                       log_tail());
  }
  running_ = true;
}

ScratchServer::~ScratchServer() {
  if (!running_) return;
  ProcessSpec stop;
  stop.argv = {options_.bin_dir + "/pg_ctl", "-D", options_.pgdata, "-m", "immediate", "-w", "stop"};
  std::string out, err;
  if (run_process(stop, &out, &err) != 0) stop_abandoned_server(options_.pgdata);
}

std::string ScratchServer::log_tail() const {
  std::string log = read_text(options_.log_file);
  if (log.size() > 2000) log = log.substr(log.size() - 2000);
  return tool_message(log);
}

bool stop_abandoned_server(const std::string& pgdata) {
  const std::string pid_text = read_text(pgdata + "/postmaster.pid");
  const pid_t pid = static_cast<pid_t>(std::strtol(pid_text.c_str(), nullptr, 10));
  if (pid <= 1) return false;
  // Only a postgres whose data folder is this one (a pid may have been reused since).
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  const fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
  if (ec || exe.filename() != "postgres" || !fs::equivalent(cwd, pgdata, ec)) return false;
  if (::kill(pid, SIGQUIT) != 0) return false;
  for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return true;
}

}  // namespace coffer::pg::physical
