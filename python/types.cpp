// The value types of include/coffer (backup_types.h, history.h) as read-only Python classes. A
// backup's and a log record's `timestamp` is an aware datetime (UTC); `backup_type` a BackupType;
// `metadata` a dict, as backup_log.json has them.
#include <pybind11/stl.h>

#include "bindings.h"
#include "coffer/backup_types.h"
#include "coffer/history.h"

namespace backup_py {

namespace {

using namespace coffer;

py::object utc_datetime(const std::string& iso) {
  if (iso.empty()) return py::none();
  std::string text = iso;
  if (!text.empty() && text.back() == 'Z') text.replace(text.size() - 1, 1, "+00:00");
  try {
    return py::module_::import("datetime").attr("datetime").attr("fromisoformat")(text);
  } catch (py::error_already_set&) {
    return py::none();  // a log record whose time does not parse (newest_success passes it over too)
  }
}

py::object backup_type_of(const std::string& name) {
  py::object enum_type = py::module_::import("backup").attr("BackupType");
  try {
    return enum_type(name);
  } catch (py::error_already_set&) {
    return py::str(name);  // "cleanup", "wal-push": log records of other jobs
  }
}

py::dict database_dict(const DatabaseInfo& d) {
  py::list tables;
  for (const auto& t : d.tables) tables.append(py::dict(py::arg("schema") = t.schema, py::arg("name") = t.name,
                                                        py::arg("rows") = t.rows));
  return py::dict(py::arg("name") = d.name, py::arg("server_version") = d.server_version,
                  py::arg("pg_dump_version") = d.pg_dump_version, py::arg("size_bytes") = d.size_bytes,
                  py::arg("dump_bytes") = d.dump_bytes, py::arg("tables") = tables,
                  py::arg("duration_seconds") = d.duration_seconds, py::arg("globals") = d.globals);
}

// A listed backup's metadata, as its backup_log.json record's: host, parent, counts, database.
py::dict backup_metadata(const BackupInfo& b) {
  py::dict m;
  m["host"] = b.hostname;
  m["parent"] = b.parent.empty() ? py::object(py::none()) : py::str(b.parent);
  m["file_count"] = b.file_count;
  m["files_read"] = b.files_read;
  m["bytes_added"] = b.bytes_added;
  m["duration_seconds"] = b.duration_seconds;
  m["files"] = b.has_files;
  m["pinned"] = b.pinned;
  m["database"] = b.database ? py::object(database_dict(*b.database)) : py::object(py::none());
  m["physical"] = b.physical ? py::cast(*b.physical) : py::none();
  m["unreadable"] = b.unreadable;
  m["warnings"] = b.warnings;
  m["offsite"] = b.offsite ? py::cast(*b.offsite) : py::none();
  return m;
}

py::dict record_metadata(const HistoryRecord& r) {
  py::dict m;
  if (r.is_cleanup()) {
    m["removing"] = r.cleanup.removing;
    m["removed"] = r.cleanup.removed;
    m["bytes_freed"] = r.cleanup.bytes_freed;
    m["packs_deleted"] = r.cleanup.packs_deleted;
    m["packs_rewritten"] = r.cleanup.packs_rewritten;
    m["dry_run"] = r.cleanup.dry_run;
    m["policy"] = r.cleanup.policy;
    return m;
  }
  const auto& b = r.backup;
  m["host"] = b.host;
  m["compressed"] = b.compressed;
  m["compression"] = b.compression;
  m["encrypted"] = b.encrypted;
  if (b.database) {
    const auto& d = *b.database;
    m["database"] = py::dict(py::arg("name") = d.name, py::arg("dumped") = d.dumped,
                             py::arg("server_version") = d.server_version, py::arg("size_bytes") = d.size_bytes,
                             py::arg("dump_bytes") = d.dump_bytes, py::arg("table_count") = d.table_count);
  } else {
    m["database"] = py::none();
  }
  m["parent"] = b.parent;
  m["files_read"] = b.files_read;
  m["file_count"] = b.file_count;
  m["bytes_added"] = b.bytes_added;
  m["files"] = b.has_files;
  m["pinned"] = b.pinned;
  m["unreadable"] = b.unreadable;
  return m;
}

}  // namespace

#define RO(cls, field) .def_readonly(#field, &cls::field)

void bind_types(py::module_& m) {
  py::class_<TableRows>(m, "TableRows") RO(TableRows, schema) RO(TableRows, name) RO(TableRows, rows);
  py::class_<DatabaseInfo>(m, "DatabaseInfo", "The database part of a backup.")
      RO(DatabaseInfo, name) RO(DatabaseInfo, server_version) RO(DatabaseInfo, server_version_num)
      RO(DatabaseInfo, pg_dump_version) RO(DatabaseInfo, size_bytes) RO(DatabaseInfo, dump_bytes)
      RO(DatabaseInfo, tables) RO(DatabaseInfo, duration_seconds) RO(DatabaseInfo, globals);
  py::class_<PhysicalInfo::Window>(m, "RestoreWindow", "The moments a physical backup restores to.")
      RO(PhysicalInfo::Window, earliest) RO(PhysicalInfo::Window, latest_wal) RO(PhysicalInfo::Window, latest_time)
      RO(PhysicalInfo::Window, first_missing);
  py::class_<PhysicalInfo>(m, "PhysicalInfo", "The physical database part of a backup (a base backup).")
      RO(PhysicalInfo, cluster) RO(PhysicalInfo, server_version) RO(PhysicalInfo, server_version_num)
      RO(PhysicalInfo, timeline) RO(PhysicalInfo, start_lsn) RO(PhysicalInfo, stop_lsn) RO(PhysicalInfo, start_wal)
      RO(PhysicalInfo, stop_wal) RO(PhysicalInfo, start_time) RO(PhysicalInfo, stop_time)
      RO(PhysicalInfo, wal_segment_bytes) RO(PhysicalInfo, data_bytes) RO(PhysicalInfo, files)
      RO(PhysicalInfo, data_checksums) RO(PhysicalInfo, page_errors) RO(PhysicalInfo, window);
  py::class_<BackupInfo::OffsiteCopy>(m, "OffsiteCopy", "How a backup's copy to S3 went (S3_MODE=copy).")
      RO(BackupInfo::OffsiteCopy, copied) RO(BackupInfo::OffsiteCopy, error) RO(BackupInfo::OffsiteCopy, objects)
      RO(BackupInfo::OffsiteCopy, bytes);
  py::class_<BackupInfo>(m, "BackupInfo",
                         "One backup: what create returns and list_backups lists. backup_log.json's fields "
                         "(backup_id, backup_type, timestamp, status, size_bytes, metadata) and the rest.")
      RO(BackupInfo, backup_id)
      .def_property_readonly("backup_type", [](const BackupInfo& b) { return backup_type_of(backup_type_name(b.type)); })
      .def_property_readonly("timestamp", [](const BackupInfo& b) { return utc_datetime(b.timestamp); },
                             "The backup's start, an aware datetime (UTC).")
      RO(BackupInfo, status) RO(BackupInfo, size_bytes)
      .def_property_readonly("metadata", &backup_metadata, "A dict, as the backup's backup_log.json record has it.")
      RO(BackupInfo, parent) RO(BackupInfo, file_count) RO(BackupInfo, bytes_added) RO(BackupInfo, files_read)
      RO(BackupInfo, duration_seconds) RO(BackupInfo, warnings) RO(BackupInfo, unreadable) RO(BackupInfo, hostname)
      RO(BackupInfo, database) RO(BackupInfo, physical) RO(BackupInfo, has_files) RO(BackupInfo, pinned)
      RO(BackupInfo, offsite_copy) RO(BackupInfo, offsite)
      .def_property_readonly("incomplete", &BackupInfo::incomplete)
      .def("__repr__", [](const BackupInfo& b) {
        return "BackupInfo(backup_id='" + b.backup_id + "', backup_type='" + backup_type_name(b.type) +
               "', timestamp='" + b.timestamp + "', status='" + b.status + "', size_bytes=" +
               std::to_string(b.size_bytes) + ")";
      });
  py::class_<HistoryRecord>(m, "HistoryRecord", "One record of backup_log.json: an attempt of create or cleanup.")
      RO(HistoryRecord, backup_id)
      .def_property_readonly("backup_type", [](const HistoryRecord& r) { return backup_type_of(r.backup_type); })
      .def_property_readonly("timestamp", [](const HistoryRecord& r) { return utc_datetime(r.timestamp); })
      RO(HistoryRecord, status)
      .def_property_readonly("size_bytes", [](const HistoryRecord& r) { return r.backup.size_bytes; })
      .def_property_readonly("file_path", [](const HistoryRecord& r) { return r.backup.file_path; })
      .def_property_readonly("metadata", &record_metadata)
      RO(HistoryRecord, duration_seconds) RO(HistoryRecord, warnings) RO(HistoryRecord, error)
      RO(HistoryRecord, error_category)
      .def("__repr__", [](const HistoryRecord& r) {
        return "HistoryRecord(backup_id='" + r.backup_id + "', backup_type='" + r.backup_type + "', timestamp='" +
               r.timestamp + "', status='" + r.status + "')";
      });

  py::class_<RowCountMismatch>(m, "RowCountMismatch")
      RO(RowCountMismatch, table) RO(RowCountMismatch, expected) RO(RowCountMismatch, actual);
  py::class_<DatabaseRestoreResult>(m, "DatabaseRestoreResult", "What a database restore did.")
      RO(DatabaseRestoreResult, dbname) RO(DatabaseRestoreResult, method) RO(DatabaseRestoreResult, kept_as)
      RO(DatabaseRestoreResult, tables_restored) RO(DatabaseRestoreResult, row_count_mismatches)
      RO(DatabaseRestoreResult, warnings);
  py::class_<RestoreResult>(m, "RestoreResult", "What restore did.")
      RO(RestoreResult, backup_id) RO(RestoreResult, files_restored) RO(RestoreResult, bytes_restored)
      RO(RestoreResult, files_kept) RO(RestoreResult, removed_temps) RO(RestoreResult, errors)
      RO(RestoreResult, database);
  py::class_<VerifyProblem>(m, "VerifyProblem")
      RO(VerifyProblem, backup_id) RO(VerifyProblem, path) RO(VerifyProblem, object) RO(VerifyProblem, problem)
      .def("__repr__", [](const VerifyProblem& p) { return "VerifyProblem('" + p.backup_id + "', '" + p.problem + "')"; });
  py::class_<VerifyResult>(m, "VerifyResult", "What verify checked and found; ok is False when it found damage.")
      RO(VerifyResult, ok) RO(VerifyResult, backups_checked) RO(VerifyResult, chunks_checked)
      RO(VerifyResult, wal_files_checked) RO(VerifyResult, problems);
  py::class_<DrillCheck>(m, "DrillCheck", "One check of a drill: part, name, status (passed, failed, skipped), detail.")
      RO(DrillCheck, part) RO(DrillCheck, name) RO(DrillCheck, status) RO(DrillCheck, detail)
      .def("__repr__", [](const DrillCheck& c) { return "DrillCheck('" + c.part + " " + c.name + "', '" + c.status + "')"; });
  py::class_<DrillResult>(m, "DrillResult", "What a restore drill checked; passed is False when a check failed.")
      RO(DrillResult, backup_id) RO(DrillResult, passed) RO(DrillResult, scratch_db) RO(DrillResult, scratch_dir)
      RO(DrillResult, database_restore_seconds) RO(DrillResult, database_check_seconds)
      RO(DrillResult, files_restore_seconds) RO(DrillResult, files_check_seconds) RO(DrillResult, duration_seconds)
      RO(DrillResult, tables) RO(DrillResult, rows) RO(DrillResult, indexes) RO(DrillResult, probes)
      RO(DrillResult, files) RO(DrillResult, bytes) RO(DrillResult, checks) RO(DrillResult, warnings);
  py::class_<CleanupDecision>(m, "CleanupDecision", "What the retention policy decided for one backup.")
      RO(CleanupDecision, backup_id)
      .def_property_readonly("backup_type", [](const CleanupDecision& d) { return backup_type_of(backup_type_name(d.type)); })
      .def_property_readonly("timestamp", [](const CleanupDecision& d) { return utc_datetime(d.timestamp); })
      RO(CleanupDecision, pinned) RO(CleanupDecision, keep) RO(CleanupDecision, reasons);
  py::class_<CleanupResult>(m, "CleanupResult", "What cleanup removed (a dry run: would remove) and freed.")
      RO(CleanupResult, dry_run) RO(CleanupResult, policy) RO(CleanupResult, backups) RO(CleanupResult, removed)
      RO(CleanupResult, packs_deleted) RO(CleanupResult, packs_rewritten) RO(CleanupResult, packs_written)
      RO(CleanupResult, bytes_freed) RO(CleanupResult, wal_files_removed) RO(CleanupResult, wal_bytes_freed)
      RO(CleanupResult, warnings) RO(CleanupResult, duration_seconds);
  py::class_<WalArchiveStatus>(m, "WalArchiveStatus", "The WAL archive of one cluster.")
      RO(WalArchiveStatus, cluster) RO(WalArchiveStatus, files) RO(WalArchiveStatus, bytes)
      RO(WalArchiveStatus, newest_segment) RO(WalArchiveStatus, last_archived) RO(WalArchiveStatus, last_archived_time)
      RO(WalArchiveStatus, last_failed) RO(WalArchiveStatus, last_failed_time) RO(WalArchiveStatus, last_error)
      RO(WalArchiveStatus, failed_pushes);
  py::class_<WalPushResult>(m, "WalPushResult", "What wal_push did with one WAL file.")
      RO(WalPushResult, name) RO(WalPushResult, cluster) RO(WalPushResult, already_archived) RO(WalPushResult, bytes)
      RO(WalPushResult, duration_seconds);
  py::class_<PointInTimeResult>(m, "PointInTimeResult", "What restore_to_point_in_time wrote and how to start it.")
      RO(PointInTimeResult, backup_id) RO(PointInTimeResult, pgdata) RO(PointInTimeResult, target)
      RO(PointInTimeResult, files_restored) RO(PointInTimeResult, bytes_restored) RO(PointInTimeResult, wal_from)
      RO(PointInTimeResult, wal_to) RO(PointInTimeResult, start_hint) RO(PointInTimeResult, warnings);
  py::class_<RepairIndexResult>(m, "RepairIndexResult", "What repair_index found and did.")
      RO(RepairIndexResult, dry_run) RO(RepairIndexResult, packs_scanned) RO(RepairIndexResult, packs_indexed)
      RO(RepairIndexResult, blobs_indexed) RO(RepairIndexResult, damaged_packs) RO(RepairIndexResult, chunks_before)
      RO(RepairIndexResult, chunks_recovered) RO(RepairIndexResult, old_index_files)
      RO(RepairIndexResult, new_index_file) RO(RepairIndexResult, incomplete_backups) RO(RepairIndexResult, warnings)
      RO(RepairIndexResult, duration_seconds);
  py::class_<LockInfo>(m, "LockInfo", "A lock unlock removed.")
      RO(LockInfo, key) RO(LockInfo, host) RO(LockInfo, pid) RO(LockInfo, command) RO(LockInfo, started)
      RO(LockInfo, exclusive) RO(LockInfo, stale_reason);
  py::class_<Progress>(m, "Progress", "Progress of a long call, as the CLI shows it.")
      RO(Progress, phase) RO(Progress, files_done) RO(Progress, files_total) RO(Progress, bytes_done)
      RO(Progress, bytes_total)
      .def("__repr__", [](const Progress& p) {
        return "Progress('" + p.phase + "', files " + std::to_string(p.files_done) + "/" +
               std::to_string(p.files_total) + ", bytes " + std::to_string(p.bytes_done) + "/" +
               std::to_string(p.bytes_total) + ")";
      });
}

#undef RO

}  // namespace backup_py
