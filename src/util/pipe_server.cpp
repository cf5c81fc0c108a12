#include "util/pipe_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "coffer/error.h"

namespace coffer {

namespace {
constexpr int kPipeBytes = 1 << 20;  // a reader's pipe, once opened: fewer wake-ups than 64 KiB
constexpr int kPollMs = 100;         // how often blocked writers look for stop()
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
  p.produce = std::move(produce);
}

void PipeServer::start() {
  if (started_) return;
  // Only opens after this are seen: ours in add() were before it.
  if (::inotify_add_watch(inotify_fd_, dir_.c_str(), IN_OPEN | IN_ONLYDIR) < 0)
    fail(ErrorCategory::kStorage, "cannot watch " + dir_ + " for pipe readers: " + std::strerror(errno));
  started_ = true;
  server_ = std::thread([this] { serve(); });
}

void PipeServer::serve() {
  alignas(inotify_event) char buf[16384];
  while (!stopping_.load()) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(fds, 2, kPollMs);
    reap(false);
    ssize_t n;
    while ((n = ::read(inotify_fd_, buf, sizeof buf)) > 0) {
      for (char* at = buf; at < buf + n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(at);
        at += sizeof(inotify_event) + ev->len;
        if (ev->mask & IN_Q_OVERFLOW) {
          // Some opens were not reported: their readers would wait forever.
          record_failure(std::make_exception_ptr(
              Error(ErrorCategory::kInternal, "too many pipes opened at once in " + dir_ + ": some were missed")));
          return;
        }
        if (ev->len > 0) on_open(ev->name);
      }
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
    ::close(pipe.fd);  // the reader sees end-of-file after the last byte
    pipe.fd = -1;
  } catch (const Stopped&) {
  } catch (...) {
    record_failure(std::current_exception());
  }
  worker.done = true;
}

void PipeServer::record_failure(std::exception_ptr e) {
  bool first;
  {
    std::lock_guard lock(mu_);
    first = !failure_;
    if (first) failure_ = e;
  }
  if (first && on_failure_) on_failure_();
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
