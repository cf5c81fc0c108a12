// coffer::Error -> the exception class of backup.errors for its category (one base class,
// BackupError), carrying coffer's message, which never holds a secret.
#include <string>

#include "bindings.h"
#include "coffer/error.h"

namespace backup_py {

namespace {

const char* class_for(const coffer::Error& e) {
  switch (e.category()) {
    case coffer::ErrorCategory::kConfig: return "ConfigError";
    case coffer::ErrorCategory::kInput:
      // The lock messages of repo/repo_lock.cpp: another process holds a conflicting lock.
      return std::string(e.what()).find(" is locked by ") != std::string::npos ? "LockHeldError" : "InputError";
    case coffer::ErrorCategory::kNotFound: return "NotFoundError";
    case coffer::ErrorCategory::kDamaged: return "IntegrityError";
    case coffer::ErrorCategory::kStorage: return "StorageError";
    case coffer::ErrorCategory::kDatabase: return "DatabaseError";
    case coffer::ErrorCategory::kAuth: return "AuthError";
    case coffer::ErrorCategory::kInternal: return "InternalError";
  }
  return "InternalError";
}

}  // namespace

void bind_errors(py::module_&) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const coffer::Error& e) {
      py::object cls = py::module_::import("backup.errors").attr(class_for(e));
      py::tuple args = py::make_tuple(e.what(), coffer::category_name(e.category()));
      PyErr_SetObject(cls.ptr(), args.ptr());
    }
  });
}

}  // namespace backup_py
