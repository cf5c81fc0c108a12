#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "coffer/error.h"

extern char** environ;

namespace coffer {
namespace {

constexpr size_t kStderrKeep = 64 * 1024;

std::string errno_text(int err) { return std::strerror(err); }

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Keeps only the tail: the last lines of a tool's stderr carry the reason it failed.
void append_bounded(std::string& text, const char* data, size_t n) {
  text.append(data, n);
  if (text.size() > kStderrKeep) text.erase(0, text.size() - kStderrKeep);
}

bool allowed(const std::optional<std::vector<std::string>>& allow, const std::string& name) {
  if (!allow) return true;
  for (const auto& a : *allow) {
    if (!a.empty() && a.back() == '*' ? name.rfind(a.substr(0, a.size() - 1), 0) == 0 : name == a) return true;
  }
  return false;
}

// The parent's environment cut to spec.env_allow, with spec.env_unset removed and spec.env_set
// applied.
std::vector<std::string> child_environment(const ProcessSpec& spec) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool drop = spec.env_set.count(name) > 0 || !allowed(spec.env_allow, name);
    for (const auto& u : spec.env_unset) drop = drop || u == name;
    if (!drop) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : spec.env_set) env.push_back(name + "=" + value);
  return env;
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Resolves argv[0] against the child's PATH here, so a missing program is a clear error before
// anything is started.
std::string resolve_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) {
    if (!is_executable_file(name))
      fail(ErrorCategory::kInternal, "cannot run " + name + ": no such executable file");
    return name;
  }
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  fail(ErrorCategory::kInternal, "cannot run " + name + ": not found on PATH (" + path + ")");
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0)
    fail(ErrorCategory::kInternal, "cannot create a pipe: " + errno_text(errno));
}

// Writing to a pipe whose reader is gone raises SIGPIPE, which would kill coffer. Block it in
// this thread for the write and swallow the one we caused (the approach libpq takes), so the
// process-wide disposition stays untouched.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (got_epipe_ && !was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  void saw_epipe() { got_epipe_ = true; }

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
  bool got_epipe_ = false;
};

int poll_retry(pollfd* fds, nfds_t n, int timeout_ms) {
  for (;;) {
    int rc = ::poll(fds, n, timeout_ms);
    if (rc >= 0) return rc;
    if (errno != EINTR) fail(ErrorCategory::kInternal, "poll failed: " + errno_text(errno));
  }
}

// Reads what is available from `fd` into `text`; closes `fd` at EOF.
void read_available(int& fd, std::string& text, bool bounded) {
  char buf[65536];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    close_fd(fd);
    return;
  }
  if (bounded)
    append_bounded(text, buf, static_cast<size_t>(n));
  else
    text.append(buf, static_cast<size_t>(n));
}

}  // namespace

Subprocess::Subprocess(const ProcessSpec& spec) {
  if (spec.argv.empty()) fail(ErrorCategory::kInternal, "cannot run a process without argv");
  const std::string& program = spec.argv[0];
  std::vector<std::string> env = child_environment(spec);
  std::string path = resolve_program(program, env);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  int rc = 0;
  try {
    if (spec.pipe_stdin) make_pipe(in);
    make_pipe(out);
    make_pipe(err);
    // A child streaming bulk output (pg_dump) writes in 4 KiB pieces: a 1 MiB pipe lets it run
    // ahead while coffer works, instead of waking coffer for every 64 KiB. Best effort: the
    // system's pipe-max-size may refuse it.
    for (int fd : {out[0], in[1]})
      if (fd >= 0) ::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
    if (spec.pipe_stdin)
      posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    else
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    // dup2 onto itself clears close-on-exec in the child only (glibc 2.29+, POSIX.1-2024).
    for (int fd : spec.keep_fds) posix_spawn_file_actions_adddup2(&actions, fd, fd);
    // The child starts with default signal handling and nothing blocked, whatever coffer did.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv, envp;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    rc = posix_spawn(&pid_, path.c_str(), &actions, &attr, argv.data(), envp.data());
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close_all();
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    close_all();
    fail(ErrorCategory::kInternal, "cannot start " + program + ": " + errno_text(rc));
  }
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  stdout_piped_ = spec.pipe_stdout;
  program_ = program;
  // Non-blocking writes let write() keep draining stderr while the child is busy.
  if (stdin_fd_ >= 0) ::fcntl(stdin_fd_, F_SETFL, ::fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
}

Subprocess::~Subprocess() {
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

void Subprocess::drain_stderr(bool block) {
  // Drains stderr (and stdout when it is captured rather than piped to the caller).
  bool capture_stdout = !stdout_piped_;
  do {
    pollfd fds[2];
    nfds_t n = 0;
    if (stderr_fd_ >= 0) fds[n++] = {stderr_fd_, POLLIN, 0};
    if (capture_stdout && stdout_fd_ >= 0) fds[n++] = {stdout_fd_, POLLIN, 0};
    if (n == 0) return;
    if (poll_retry(fds, n, block ? -1 : 0) == 0) return;
    for (nfds_t i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == stderr_fd_)
        read_available(stderr_fd_, stderr_text_, true);
      else
        read_available(stdout_fd_, stdout_text_, false);
    }
  } while (block);
}

size_t Subprocess::read(uint8_t* buf, size_t n) {
  if (!stdout_piped_) fail(ErrorCategory::kInternal, program_ + ": stdout is not piped");
  while (stdout_fd_ >= 0) {
    pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
    poll_retry(fds, stderr_fd_ >= 0 ? 2 : 1, -1);
    if (stderr_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
      read_available(stderr_fd_, stderr_text_, true);
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = ::read(stdout_fd_, buf, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(ErrorCategory::kInternal, "cannot read output of " + program_ + ": " + errno_text(errno));
      if (got == 0) break;
      return static_cast<size_t>(got);
    }
  }
  close_fd(stdout_fd_);
  return 0;
}

void Subprocess::write(const uint8_t* data, size_t n) {
  if (stdin_fd_ < 0) fail(ErrorCategory::kInternal, program_ + ": stdin is not piped or already closed");
  SigpipeGuard guard;
  while (n > 0) {
    pollfd fds[3] = {{stdin_fd_, POLLOUT, 0}, {stderr_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
    if (!stdout_piped_) fds[2].fd = stdout_fd_;  // negative fds are ignored by poll
    poll_retry(fds, 3, -1);
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) read_available(stderr_fd_, stderr_text_, true);
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) read_available(stdout_fd_, stdout_text_, false);
    if (!(fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) continue;
    ssize_t put = ::write(stdin_fd_, data, n);
    if (put < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (put < 0 && errno == EPIPE) {
      guard.saw_epipe();
      fail(ErrorCategory::kDatabase, program_ + " stopped reading its input (it may have failed)");
    }
    if (put < 0) fail(ErrorCategory::kInternal, "cannot write to " + program_ + ": " + errno_text(errno));
    data += put;
    n -= static_cast<size_t>(put);
  }
}

void Subprocess::close_stdin() { close_fd(stdin_fd_); }

int Subprocess::wait() {
  if (status_) return *status_;
  close_stdin();
  if (stdout_piped_) {
    uint8_t sink[65536];
    while (read(sink, sizeof sink) > 0) {
    }
  }
  drain_stderr(true);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0) {
    if (errno != EINTR) fail(ErrorCategory::kInternal, "cannot wait for " + program_ + ": " + errno_text(errno));
  }
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
  return *status_;
}

int run_process(const ProcessSpec& spec, std::string* out, std::string* err) {
  ProcessSpec captured = spec;
  captured.pipe_stdin = false;
  captured.pipe_stdout = false;
  Subprocess proc(captured);
  int code = proc.wait();
  if (out) *out = proc.captured_output();
  if (err) *err = proc.error_output();
  return code;
}

}  // namespace coffer
