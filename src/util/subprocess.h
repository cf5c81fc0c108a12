// Child processes without a shell: argv is passed as is, the environment is given explicitly
// (secrets go there or in a descriptor kept for the child, never in argv), stdout can be streamed, stderr is
// captured (bounded) for error messages.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/byte_source.h"

namespace coffer {

struct ProcessSpec {
  std::vector<std::string> argv;                 // argv[0] is an absolute path or found on PATH
  std::map<std::string, std::string> env_set;    // added to / replacing the parent's environment
  std::vector<std::string> env_unset;            // removed from the child's environment
  // When set, only the parent's variables named here reach the child (a name ending in '*' is a
  // prefix: "LC_*"), before env_set is applied: a tool gets what it needs, not coffer's secrets.
  std::optional<std::vector<std::string>> env_allow;
  bool pipe_stdin = false;                       // else /dev/null
  bool pipe_stdout = false;                      // else captured like stderr
  // Descriptors the child keeps at the same numbers (all others close on exec): a passfile in
  // memory (pg_connection.h) reaches pg_dump and pg_restore, and no other child.
  std::vector<int> keep_fds;
};

// A running child. Destroying it without wait() kills it (SIGKILL) and reaps it.
class Subprocess : public ByteSource {
 public:
  // Throws Error(kInternal) naming argv[0] when it cannot start.
  explicit Subprocess(const ProcessSpec& spec);
  ~Subprocess() override;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads the child's stdout (pipe_stdout). 0 at EOF.
  size_t read(uint8_t* buf, size_t n) override;
  // Writes to the child's stdin (pipe_stdin). Throws Error(kDatabase) when the child closed it.
  void write(const uint8_t* data, size_t n);
  void close_stdin();
  // Waits for exit; returns the exit code (128+signal when killed). Drains remaining output.
  int wait();
  // The child's stderr (last 64 KiB), and stdout when not piped.
  const std::string& error_output() const { return stderr_text_; }
  const std::string& captured_output() const { return stdout_text_; }
  pid_t pid() const { return pid_; }

 private:
  void drain_stderr(bool block);
  pid_t pid_ = -1;
  int stdin_fd_ = -1, stdout_fd_ = -1, stderr_fd_ = -1;
  bool stdout_piped_ = false;
  std::string program_;  // argv[0], for messages
  std::string stderr_text_, stdout_text_;
  std::optional<int> status_;
};

// Runs to completion, capturing stdout and stderr. Returns the exit code.
int run_process(const ProcessSpec& spec, std::string* out, std::string* err);

}  // namespace coffer
