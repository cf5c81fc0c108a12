// coffer's single error model: every failure is a coffer::Error carrying a category.
// The CLI maps categories to exit codes (see exit_code()). Messages name the thing that
// failed (file, object, backup id) and the way out; they never contain secrets.
#pragma once

#include <stdexcept>
#include <string>

namespace coffer {

enum class ErrorCategory {
  kConfig,       // bad configuration value or missing setting
  kInput,        // bad input from the user: unknown backup id, bad path, refused action
  kNotFound,     // a backup, object or file that should exist does not
  kDamaged,      // data in the repository failed a check (hash, MAC, parse)
  kStorage,      // the storage backend failed (I/O error, permission, network)
  kDatabase,     // the database or its tools failed
  kAuth,         // wrong passphrase or missing key
  kInternal,     // a bug
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const { return category_; }

 private:
  ErrorCategory category_;
};

// Process exit codes, stable for scripts. 0 = success, 1 = partial success / damage found.
// `coffer create`: the backup is committed, but files or folders that exist could not be read
// (restic exits 3 for the same; coffer's 3 is bad input).
inline constexpr int kExitIncomplete = 9;

inline int exit_code(ErrorCategory c) {
  switch (c) {
    case ErrorCategory::kConfig: return 2;
    case ErrorCategory::kInput: return 3;
    case ErrorCategory::kNotFound: return 4;
    case ErrorCategory::kDamaged: return 5;
    case ErrorCategory::kStorage: return 6;
    case ErrorCategory::kDatabase: return 7;
    case ErrorCategory::kAuth: return 8;
    case ErrorCategory::kInternal: return 70;
  }
  return 70;
}

inline const char* category_name(ErrorCategory c) {
  switch (c) {
    case ErrorCategory::kConfig: return "configuration";
    case ErrorCategory::kInput: return "input";
    case ErrorCategory::kNotFound: return "not found";
    case ErrorCategory::kDamaged: return "damaged data";
    case ErrorCategory::kStorage: return "storage";
    case ErrorCategory::kDatabase: return "database";
    case ErrorCategory::kAuth: return "authentication";
    case ErrorCategory::kInternal: return "internal";
  }
  return "internal";
}

[[noreturn]] inline void fail(ErrorCategory c, const std::string& message) { throw Error(c, message); }

}  // namespace coffer
