// coffer logs through spdlog; here every line goes to Python's logging module instead, logger
// "backup", with coffer's levels mapped (trace -> 5, debug -> DEBUG, info -> INFO, warn ->
// WARNING, error -> ERROR, critical -> CRITICAL) and URL credentials redacted as the CLI does.
// Lines come from any of coffer's threads; each takes the GIL (the sink needs no lock of its
// own, so no lock is ever held while waiting for the GIL).
#include <atomic>
#include <memory>
#include <string>

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "bindings.h"
#include "coffer/redact.h"

namespace backup_py {

namespace {

int python_level(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return 5;
    case spdlog::level::debug: return 10;
    case spdlog::level::info: return 20;
    case spdlog::level::warn: return 30;
    case spdlog::level::err: return 40;
    default: return 50;
  }
}

spdlog::level::level_enum coffer_level(int python) {
  if (python <= 5) return spdlog::level::trace;
  if (python <= 10) return spdlog::level::debug;
  if (python <= 20) return spdlog::level::info;
  if (python <= 30) return spdlog::level::warn;
  if (python <= 40) return spdlog::level::err;
  return spdlog::level::critical;
}

// Cleared at interpreter exit (backup/__init__.py registers it with atexit): a line logged after
// that is dropped rather than calling into a finalizing interpreter.
std::atomic<bool> g_open{true};

class PythonLoggingSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!g_open || !Py_IsInitialized()) return;
    const std::string text = coffer::redact_url_credentials(std::string_view(msg.payload.data(), msg.payload.size()));
    py::gil_scoped_acquire gil;
    try {
      py::module_::import("logging").attr("getLogger")("backup").attr("log")(python_level(msg.level), "%s", text);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("backup: logging a coffer line");
    }
  }
  void flush_() override {}
};

}  // namespace

void sync_log_level() {
  int level = py::module_::import("logging").attr("getLogger")("backup").attr("getEffectiveLevel")().cast<int>();
  spdlog::set_level(coffer_level(level));
}

void bind_log_bridge(py::module_& m) {
  auto logger = std::make_shared<spdlog::logger>("backup", std::make_shared<PythonLoggingSink>());
  spdlog::set_default_logger(logger);
  m.def("_sync_log_level", &sync_log_level, "Sets coffer's log level from the logger 'backup' (done before each call).");
  m.def("_close_log_bridge", [] { g_open = false; }, "Stops passing coffer's log lines to Python (at exit).");
}

}  // namespace backup_py
