// backup._core: the extension module under the `backup` package (backup/__init__.py).
#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "coffer's engine for the backup package: use `backup`, not this module";
  backup_py::bind_log_bridge(m);
  backup_py::bind_errors(m);
  backup_py::bind_types(m);
  backup_py::bind_config(m);
  backup_py::bind_manager(m);
}
