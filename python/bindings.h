// The parts of backup._core, one file each; module.cpp calls every bind_* once.
#pragma once

#include <pybind11/pybind11.h>

namespace backup_py {

namespace py = pybind11;

void bind_log_bridge(py::module_& m);  // log_bridge.cpp: coffer's spdlog lines -> logging "backup"
void bind_errors(py::module_& m);      // errors.cpp: coffer::Error -> backup.errors classes
void bind_types(py::module_& m);       // types.cpp: the result types of include/coffer
void bind_config(py::module_& m);      // config.cpp: BackupConfig from settings, as the CLI loads it
void bind_manager(py::module_& m);     // manager.cpp: BackupManager

// Sets coffer's log level from the logger "backup"'s effective level (needs the GIL): debug lines
// are made only when Python would show them.
void sync_log_level();

}  // namespace backup_py
