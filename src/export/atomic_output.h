// Where an export writes: a new file under a temporary name beside it ("<path>.coffer-tmp-<pid>"),
// fsynced and renamed into place by commit(), removed when the export fails (the destructor), so
// a half-written export never sits under the name asked for; or standard output ("-").
#pragma once

#include <cstdint>
#include <string>

namespace coffer::exporting {

class AtomicOutput {
 public:
  // Throws Error(kInput) when `path` exists (an export never replaces a file), Error(kStorage)
  // when the temporary file cannot be created.
  explicit AtomicOutput(std::string path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  int fd() const { return fd_; }
  bool is_stdout() const { return path_ == "-"; }
  const std::string& temp_path() const { return temp_; }  // "" for standard output
  // Syncs, closes and renames into place; returns the bytes written (0 for standard output).
  uint64_t commit();

  // "<path>.coffer-tmp-<pid>": also what a folder export (--format directory) is built under.
  static std::string temp_name(const std::string& path);

 private:
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace coffer::exporting
