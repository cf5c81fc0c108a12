// backup._core.Manager: coffer::BackupManager with every long call run interruptibly
// (interruptible_call.h), the progress callback called with the GIL, and warnings logged to the
// logger "backup". backup/manager.py is the documented face of it (BackupManager).
#include <memory>
#include <optional>

#include <pybind11/stl.h>

#include <spdlog/spdlog.h>

#include "bindings.h"
#include "coffer/backup_manager.h"
#include "interruptible_call.h"

namespace backup_py {

namespace {

using namespace coffer;

BackupType type_of(const std::string& name) {
  std::optional<BackupType> t = backup_type_from_name(name);
  if (!t) fail(ErrorCategory::kInput, "unknown backup type \"" + name + "\": full, incremental or differential");
  return *t;
}

BackupScope scope_of(const std::string& name) {
  if (name == "all" || name == "full") return BackupScope::kAll;
  if (name == "database") return BackupScope::kDatabase;
  if (name == "files") return BackupScope::kFiles;
  fail(ErrorCategory::kInput, "unknown scope \"" + name + "\": full (or all), database or files");
}

ExistingFiles existing_of(const std::string& name) {
  if (name == "fail") return ExistingFiles::kFail;
  if (name == "skip") return ExistingFiles::kSkip;
  if (name == "if-different" || name == "if_different") return ExistingFiles::kIfDifferent;
  if (name == "overwrite") return ExistingFiles::kOverwrite;
  fail(ErrorCategory::kInput, "unknown existing-files rule \"" + name + "\": fail, skip, if-different or overwrite");
}

class Manager {
 public:
  explicit Manager(const BackupConfig& config) : manager_(config) {
    manager_.set_progress_callback([this](const Progress& p) { on_progress(p); });
    manager_.set_warning_callback([](const std::string& w) { spdlog::warn("{}", w); });
  }

  void set_progress(std::optional<py::function> callback) { progress_ = std::move(callback); }

  template <class F>
  auto run(F&& f) {
    return call_interruptible(cancel_, std::forward<F>(f));
  }

  BackupManager& engine() { return manager_; }

 private:
  // On a thread of coffer's: a cancel ends the call here; the Python callback runs with the GIL,
  // and an exception it raises ends the call too and is raised to the caller as it was.
  void on_progress(const Progress& p) {
    cancel_.throw_if_cancelled();
    if (!progress_) return;
    py::gil_scoped_acquire gil;
    (*progress_)(p);
  }

  BackupManager manager_;
  CallCancel cancel_;
  std::optional<py::function> progress_;
};

}  // namespace

void bind_manager(py::module_& m) {
  py::class_<Manager>(m, "Manager", "coffer::BackupManager (use backup.BackupManager).")
      .def(py::init<const BackupConfig&>())
      .def("set_progress", &Manager::set_progress, py::arg("callback"))
      .def("set_source_s3", [](Manager& self, bool on) { self.engine().set_source_s3(on); })
      .def("set_no_lock", [](Manager& self, bool on) { self.engine().set_no_lock(on); })
      .def("init_repository", [](Manager& self) { self.run([&] { self.engine().init_repository(); }); })
      .def("create_backup",
           [](Manager& self, const std::string& type, const std::string& scope, bool keep) {
             BackupType t = type_of(type);
             BackupScope s = scope_of(scope);
             return self.run([&] { return self.engine().create_backup(t, s, keep); });
           })
      .def("list_backups", [](Manager& self) { return self.run([&] { return self.engine().list_backups(); }); })
      .def("restore",
           [](Manager& self, const std::string& backup_id, const std::string& scope, std::optional<std::string> target,
              std::vector<std::string> paths, std::optional<std::string> target_db, std::vector<std::string> tables,
              const std::string& existing, bool partial, bool clean, int jobs) {
             RestoreOptions o;
             o.scope = scope_of(scope);
             o.target = std::move(target);
             o.include = std::move(paths);
             o.target_db = std::move(target_db);
             o.tables = std::move(tables);
             o.existing = existing_of(existing);
             o.partial = partial;
             o.clean = clean;
             o.jobs = jobs;
             return self.run([&] { return self.engine().restore_from_backup(backup_id, o); });
           })
      .def("verify",
           [](Manager& self, std::optional<std::string> backup_id, bool read_data) {
             VerifyOptions o{std::move(backup_id), read_data};
             return self.run([&] { return self.engine().verify(o); });
           })
      .def("drill",
           [](Manager& self, const std::string& backup_id, const std::string& scratch_db, int jobs,
              const std::string& program) {
             DrillOptions o{scratch_db, jobs, program};
             return self.run([&] { return self.engine().drill(backup_id, o); });
           })
      .def("cleanup",
           [](Manager& self, bool dry_run, bool force) {
             CleanupOptions o{dry_run, force};
             return self.run([&] { return self.engine().cleanup(o); });
           })
      .def("pin", [](Manager& self, const std::string& id) { return self.run([&] { return self.engine().pin(id); }); })
      .def("unpin",
           [](Manager& self, const std::string& id) { return self.run([&] { return self.engine().unpin(id); }); })
      .def("unlock", [](Manager& self, bool all) { return self.run([&] { return self.engine().unlock(all); }); })
      .def("repair_index",
           [](Manager& self, bool dry_run) { return self.run([&] { return self.engine().repair_index(dry_run); }); })
      .def("history", [](Manager& self) { return self.run([&] { return self.engine().history(); }); })
      .def("repository_bytes",
           [](Manager& self) { return self.run([&] { return self.engine().repository_bytes(); }); })
      .def("check_s3_settings", [](Manager& self) { self.engine().check_s3_settings(); })
      .def("wal_push",
           [](Manager& self, const std::string& path) { return self.run([&] { return self.engine().wal_push(path); }); })
      .def("wal_fetch",
           [](Manager& self, const std::string& name, const std::string& destination) {
             return self.run([&] { return self.engine().wal_fetch(name, destination); });
           })
      .def("wal_status",
           [](Manager& self, bool list_archive) {
             return self.run([&] { return self.engine().wal_status(list_archive); });
           })
      .def("restore_to_point_in_time",
           [](Manager& self, const std::string& backup_id, const std::string& pgdata, std::optional<std::string> to_time,
              std::optional<std::string> to_lsn, std::optional<std::string> to_xid, std::optional<std::string> to_name,
              bool immediate, const std::string& target_action, const std::string& target_timeline,
              std::vector<std::pair<std::string, std::string>> tablespaces, const std::string& restore_command,
              const std::string& program) {
             PointInTimeOptions o;
             o.pgdata = pgdata;
             o.to_time = std::move(to_time);
             o.to_lsn = std::move(to_lsn);
             o.to_xid = std::move(to_xid);
             o.to_name = std::move(to_name);
             o.immediate = immediate;
             o.target_action = target_action;
             o.target_timeline = target_timeline;
             o.tablespaces = std::move(tablespaces);
             o.restore_command = restore_command;
             o.program = program;
             return self.run([&] { return self.engine().restore_to_point_in_time(backup_id, o); });
           });
}

}  // namespace backup_py
