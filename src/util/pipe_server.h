// Named pipes in a folder whose contents are produced only when a reader opens them, so a
// program that reads files (pg_restore reading a directory archive) gets them without their
// being written to disk first.
//
// add() makes the pipe and holds it open read-write, so a reader's open() returns at once (a
// FIFO's open blocks until the other end is open); inotify reports the open, and a thread runs
// that pipe's producer, whose writes the reader drains. A pipe nobody opens is never produced.
// When a producer finishes, the server closes its end and the reader sees end-of-file after the
// last byte. A pipe whose producer did not finish never ends as if it had: the reader named by
// guard_reader() (pg_restore) is stopped (SIGTERM) instead, and the caller learns why from
// failure(). When a producer fails, its pipe stays open and the reader is stopped at once.
//
// Not even this process's death may look like a file's end to the reader: start() forks a
// keeper process that holds every pipe open too and lets a pipe go only when its producer
// finished. If this process dies (SIGKILL included), the keeper first stops the reader (SIGTERM,
// and waits for it), then exits.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "util/bytes.h"

namespace coffer {

class PipeServer {
 public:
  // What a producer writes to; write() blocks while the reader is behind, and throws Stopped
  // once the server stops (the reader went away, or another producer failed).
  class Writer {
   public:
    void write(ByteView bytes);

   private:
    friend class PipeServer;
    Writer(PipeServer& server, int fd, std::string path) : server_(server), fd_(fd), path_(std::move(path)) {}
    PipeServer& server_;
    int fd_;
    std::string path_;
  };
  struct Stopped {};
  using Producer = std::function<void(Writer&)>;

  // `dir` must exist. Throws Error(kStorage) when inotify is not available.
  explicit PipeServer(std::string dir);
  ~PipeServer();
  PipeServer(const PipeServer&) = delete;
  PipeServer& operator=(const PipeServer&) = delete;

  // Before start(): makes `dir`/`name` a pipe (mode 0600). Throws Error(kStorage) on failure.
  void add(const std::string& name, Producer produce);
  // Serves opens from now on: readers must not open a pipe before this. Forks the keeper.
  // Throws Error(kStorage) when inotify does not report opens in the folder (checked with a
  // file of its own) or the keeper cannot start.
  void start();
  // The process reading the pipes (pg_restore): stopped (SIGTERM) when a producer fails, or by
  // the keeper when this process dies. Each call replaces the one before.
  void guard_reader(pid_t pid);
  // Stops serving, ends producers still writing, closes every pipe. Idempotent.
  void stop();

  // The first producer failure (an Error, with the producer's message), or null.
  std::exception_ptr failure() const;
  size_t pipes_opened() const { return opened_.load(); }

  // Raises this process's open-file limit to its hard limit (a pipe takes a descriptor until
  // it is read); returns the limit now in force.
  static size_t raise_open_file_limit();

 private:
  struct Pipe {
    int fd = -1;
    int index = 0;  // its place in the keeper's list
    Producer produce;
    bool started = false;
  };
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void check_opens_are_seen();
  void serve();
  void on_open(const std::string& name);
  void run(Pipe& pipe, const std::string& name, Worker& worker);
  void record_failure(std::exception_ptr e);
  void reap(bool all);
  void tell_keeper(int32_t what, int32_t value);

  std::string dir_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  int keeper_fd_ = -1;  // the keeper's control pipe
  pid_t keeper_ = -1;
  std::map<std::string, Pipe> pipes_;
  std::list<Worker> workers_;
  std::thread server_;
  std::atomic<bool> stopping_{false};
  bool started_ = false, stopped_ = false;
  std::atomic<size_t> opened_{0};
  mutable std::mutex mu_;  // failure_, and closing pipes' descriptors
  std::exception_ptr failure_;
  std::atomic<pid_t> reader_{0};
};

}  // namespace coffer
