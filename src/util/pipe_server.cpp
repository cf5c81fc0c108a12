#include "util/pipe_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <vector>

#include "coffer/error.h"

namespace coffer {

namespace {
constexpr int kPipeBytes = 1 << 20;  // a reader's pipe, once opened: fewer wake-ups than 64 KiB
constexpr int kPollMs = 100;         // how often blocked writers look for stop()

// The keeper's control messages: two int32s each, written whole (under PIPE_BUF: atomic).
constexpr int32_t kKeeperClose = 1;   // value: the pipe's index; its producer finished
constexpr int32_t kKeeperReader = 2;  // value: the reader's pid
constexpr int32_t kKeeperDone = 3;    // the server stopped normally

void sleep_ms(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000};
  while (::nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

// Whether `pid` still runs (a zombie does not). Async-signal-safe: only system calls.
bool running(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  char path[64] = "/proc/";
  char digits[24];
  int n = 0;
  for (pid_t v = pid; v > 0 && n < 20; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  size_t at = 6;
  while (n > 0) path[at++] = digits[--n];
  const char tail[] = "/stat";
  for (char c : tail) path[at++] = c;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t got = ::read(fd, buf, sizeof buf);
  ::close(fd);
  for (ssize_t i = got - 2; i > 0; --i)  // "pid (comm) S ...": the state follows the last ')'
    if (buf[i] == ')') return i + 2 < got && buf[i + 2] != 'Z';
  return true;
}

// Calls `f` for each event of the `n` bytes read from an inotify descriptor.
template <class F>
void for_each_event(const char* buf, ssize_t n, F f) {
  for (const char* at = buf; n > 0 && at < buf + n;) {
    const auto* ev = reinterpret_cast<const inotify_event*>(at);
    at += sizeof(inotify_event) + ev->len;
    f(*ev);
  }
}

// The keeper: runs in a child forked by start() from a threaded process, so it calls nothing
// but system calls. Holds `fds` (every pipe) until told to let each go; on the server's death
// (its control pipe ends) stops the reader before the pipes close, so that no reader sees the
// end of a file that was not finished.
[[noreturn]] void keep_pipes(int control, const int* fds, size_t count) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::sigaction(sig, &ignore, nullptr);
  pid_t reader = 0;
  for (;;) {
    int32_t msg[2];
    ssize_t got = ::read(control, msg, sizeof msg);
    if (got < 0 && errno == EINTR) continue;
    if (got != static_cast<ssize_t>(sizeof msg)) break;  // the server is gone
    if (msg[0] == kKeeperClose && msg[1] >= 0 && static_cast<size_t>(msg[1]) < count) ::close(fds[msg[1]]);
    if (msg[0] == kKeeperReader) reader = msg[1];
    if (msg[0] == kKeeperDone) ::_exit(0);
  }
  if (reader > 0 && ::kill(reader, SIGTERM) == 0) {
    for (int i = 0; i < 3000 && running(reader); ++i) sleep_ms(10);
    sleep_ms(200);  // pg_restore's workers cancel their COPYs as they exit
  }
  ::_exit(0);
}
}  // namespace

void PipeServer::Writer::write(ByteView bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    if (server_.stopping_.load()) throw Stopped{};
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
    } else if (errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, kPollMs);
    } else if (errno != EINTR) {
      fail(ErrorCategory::kStorage, "cannot write to pipe " + path_ + ": " + std::strerror(errno));
    }
  }
}

PipeServer::PipeServer(std::string dir) : dir_(std::move(dir)) {
  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) fail(ErrorCategory::kStorage, std::string("cannot watch for pipe readers (inotify): ") + std::strerror(errno));
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    ::close(inotify_fd_);
    fail(ErrorCategory::kStorage, std::string("cannot create an eventfd: ") + std::strerror(errno));
  }
}

PipeServer::~PipeServer() {
  stop();
  ::close(inotify_fd_);
  ::close(wake_fd_);
}

void PipeServer::add(const std::string& name, Producer produce) {
  if (started_) fail(ErrorCategory::kInternal, "PipeServer::add after start");
  std::string path = dir_ + "/" + name;
  if (::mkfifo(path.c_str(), 0600) != 0)
    fail(ErrorCategory::kStorage, "cannot create pipe " + path + ": " + std::strerror(errno));
  // Read-write: never blocks, and keeps the pipe alive until a reader comes.
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot open pipe " + path + ": " + std::strerror(errno));
  Pipe& p = pipes_[name];
  if (p.fd >= 0) ::close(p.fd);
  p.fd = fd;
  p.index = static_cast<int>(pipes_.size()) - 1;
  p.produce = std::move(produce);
}

void PipeServer::start() {
  if (started_) return;
  // Only opens after this are seen: ours in add() were before it.
  if (::inotify_add_watch(inotify_fd_, dir_.c_str(), IN_OPEN | IN_ONLYDIR) < 0)
    fail(ErrorCategory::kStorage, "cannot watch " + dir_ + " for pipe readers: " + std::strerror(errno));
  check_opens_are_seen();
  std::vector<int> fds(pipes_.size(), -1);
  for (const auto& [name, pipe] : pipes_) fds[static_cast<size_t>(pipe.index)] = pipe.fd;
  int control[2];
  if (::pipe2(control, O_CLOEXEC) != 0)
    fail(ErrorCategory::kStorage, std::string("cannot make the pipe keeper's control pipe: ") + std::strerror(errno));
  keeper_ = ::fork();
  if (keeper_ < 0) {
    int err = errno;
    ::close(control[0]);
    ::close(control[1]);
    fail(ErrorCategory::kStorage, std::string("cannot start the pipe keeper: ") + std::strerror(err));
  }
  if (keeper_ == 0) {
    ::close(control[1]);
    keep_pipes(control[0], fds.data(), fds.size());
  }
  ::close(control[0]);
  keeper_fd_ = control[1];
  started_ = true;
  server_ = std::thread([this] { serve(); });
}

// A folder whose opens inotify does not report (some network and FUSE file systems) would leave
// pg_restore waiting on its first pipe forever: open a file of our own and see the event come.
void PipeServer::check_opens_are_seen() {
  const std::string name = ".coffer-probe";
  const std::string path = dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorCategory::kStorage, "cannot create " + path + ": " + std::strerror(errno));
  ::close(fd);
  bool seen = false;
  alignas(inotify_event) char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    pollfd p{inotify_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    for_each_event(buf, n, [&](const inotify_event& ev) { seen = seen || (ev.len > 0 && name == ev.name); });
  }
  ::unlink(path.c_str());
  if (!seen) fail(ErrorCategory::kStorage, "inotify does not report opens in " + dir_);
}

void PipeServer::serve() {
  alignas(inotify_event) char buf[16384];
  while (!stopping_.load()) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(fds, 2, kPollMs);
    reap(false);
    ssize_t n;
    bool overflow = false;
    while (!overflow && (n = ::read(inotify_fd_, buf, sizeof buf)) > 0) {
      for_each_event(buf, n, [&](const inotify_event& ev) {
        if (ev.mask & IN_Q_OVERFLOW) overflow = true;
        if (!overflow && ev.len > 0) on_open(ev.name);
      });
    }
    if (overflow) {
      // Some opens were not reported: their readers would wait forever.
      record_failure(std::make_exception_ptr(
          Error(ErrorCategory::kInternal, "too many pipes opened at once in " + dir_ + ": some were missed")));
      return;
    }
  }
}

void PipeServer::on_open(const std::string& name) {
  auto it = pipes_.find(name);
  if (it == pipes_.end() || it->second.started) return;  // toc.dat, a staged file, or opened again
  Pipe& pipe = it->second;
  pipe.started = true;
  ++opened_;
  ::fcntl(pipe.fd, F_SETPIPE_SZ, kPipeBytes);  // best effort: /proc/sys/fs/pipe-max-size may be lower
  Worker& w = workers_.emplace_back();
  w.thread = std::thread([this, &pipe, name, &w] { run(pipe, name, w); });
}

void PipeServer::run(Pipe& pipe, const std::string& name, Worker& worker) {
  Writer writer(*this, pipe.fd, dir_ + "/" + name);
  try {
    pipe.produce(writer);
    std::lock_guard lock(mu_);
    ::close(pipe.fd);  // with the keeper's copy: the reader sees end-of-file after the last byte
    pipe.fd = -1;
    tell_keeper(kKeeperClose, pipe.index);
  } catch (const Stopped&) {
  } catch (...) {
    record_failure(std::current_exception());
  }
  worker.done = true;
}

void PipeServer::record_failure(std::exception_ptr e) {
  {
    std::lock_guard lock(mu_);
    if (failure_) return;
    failure_ = e;
  }
  // The reader would wait for the rest of that file forever: stop it (pg_restore's workers and
  // their sessions go with it), as the keeper does when this process dies.
  if (pid_t reader = reader_.load()) ::kill(reader, SIGTERM);
}

std::exception_ptr PipeServer::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void PipeServer::reap(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (all || it->done.load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void PipeServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (started_) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    server_.join();
    reap(true);
  }
  std::lock_guard lock(mu_);
  for (auto& [name, pipe] : pipes_)
    if (pipe.fd >= 0) {
      ::close(pipe.fd);
      pipe.fd = -1;
    }
  if (keeper_ > 0) {
    tell_keeper(kKeeperDone, 0);
    ::close(keeper_fd_);
    keeper_fd_ = -1;
    int st;
    while (::waitpid(keeper_, &st, 0) < 0 && errno == EINTR) {
    }
    keeper_ = -1;
  }
}

void PipeServer::guard_reader(pid_t pid) {
  reader_ = pid;
  tell_keeper(kKeeperReader, static_cast<int32_t>(pid));
}

void PipeServer::tell_keeper(int32_t what, int32_t value) {
  if (keeper_fd_ < 0) return;
  const int32_t msg[2] = {what, value};
  // Eight bytes to a pipe: written whole or not at all.
  while (::write(keeper_fd_, msg, sizeof msg) < 0 && errno == EINTR) {
  }
}

size_t PipeServer::raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? size_t(1) << 20 : static_cast<size_t>(lim.rlim_cur);
}

}  // namespace coffer
