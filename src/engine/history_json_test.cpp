#include "engine/history_json.h"

#include <gtest/gtest.h>

namespace coffer {

using nlohmann::json;

namespace {

HistoryRecord success() {
  HistoryRecord r;
  r.backup_id = "incremental_20241201_020000";
  r.backup_type = "incremental";
  r.timestamp = "2024-12-01T02:00:00.000000Z";
  r.status = "success";
  r.duration_seconds = 1.5;
  r.warnings = {"a.txt changed while read"};
  HistoryRecord::Backup& b = r.backup;
  b.size_bytes = 4096;
  b.file_path = "/srv/backups/snapshots/incremental_20241201_020000";
  b.bytes_added = 512;
  b.file_count = 3;
  b.host = "web1";
  b.compressed = true;
  b.compression = "zstd";
  b.encrypted = true;
  HistoryRecord::Database db;
  db.name = "shop";
  db.dumped = true;
  db.server_version = "15.18";
  db.pg_dump_version = "15.18";
  db.size_bytes = 9000;
  db.dump_bytes = 700;
  db.table_count = 4;
  db.duration_seconds = 0.25;
  db.globals = true;
  b.database = db;
  b.parent = "full_20241130_020000";
  b.files_read = 2;
  b.has_files = true;
  b.offsite = BackupInfo::OffsiteCopy{false, "off-site copy failed: S3 down", 1, 10};
  b.pinned = true;
  b.unreadable = {"/srv/app/secret"};
  return r;
}

// A full backup that failed on web1 at 2024-12-01 02:00, before the settings were known.
HistoryRecord failed(const std::string& id, const std::string& error, const std::string& category) {
  HistoryRecord r;
  r.backup_id = id;
  r.backup_type = "full";
  r.timestamp = "2024-12-01T02:00:00.000000Z";
  r.status = "failed";
  r.error = error;
  r.error_category = category;
  r.backup.host = "web1";
  return r;
}

// What backup_log.json holds, in the same JSON types (0.0 is not 0 in the file).
void expect_file_form(const HistoryRecord& r, const std::string& expected) {
  EXPECT_EQ(history_record_json(r).dump(), json::parse(expected).dump());
  // and back: nothing the file holds is lost on the way in
  EXPECT_EQ(history_record_json(history_record_from_json(json::parse(expected))).dump(), json::parse(expected).dump());
}

}  // namespace

TEST(HistoryJson, SuccessfulBackupHasEveryField) {
  expect_file_form(success(), R"({
    "backup_id": "incremental_20241201_020000", "backup_type": "incremental",
    "timestamp": "2024-12-01T02:00:00.000000Z", "status": "success", "size_bytes": 4096,
    "file_path": "/srv/backups/snapshots/incremental_20241201_020000",
    "metadata": {"compressed": true, "compression": "zstd", "encrypted": true,
                 "parent": "full_20241130_020000", "host": "web1", "hostname": "web1",
                 "files_read": 2, "files": true,
                 "database": {"name": "shop", "server_version": "15.18", "pg_dump_version": "15.18",
                              "size_bytes": 9000, "dump_bytes": 700, "table_count": 4,
                              "duration_seconds": 0.25, "globals": true},
                 "offsite": {"status": "failed", "error": "off-site copy failed: S3 down",
                             "objects": 1, "bytes": 10}},
    "duration_seconds": 1.5, "bytes_added": 512, "file_count": 3, "pinned": true,
    "incomplete": true, "unreadable": ["/srv/app/secret"],
    "warnings": ["a.txt changed while read"]})");
}

TEST(HistoryJson, CopiedFilesOnlyBackupHasNullsWhereNothingIs) {
  HistoryRecord r = success();
  r.backup.database.reset();
  r.backup.offsite = BackupInfo::OffsiteCopy{true, "", 5, 50};
  r.backup.unreadable.clear();
  r.backup.pinned = false;
  r.warnings.clear();
  json j = history_record_json(r);
  EXPECT_TRUE(j["metadata"]["database"].is_null());
  EXPECT_EQ(j["metadata"]["offsite"].dump(), R"({"bytes":50,"error":null,"objects":5,"status":"copied"})");
  EXPECT_EQ(j["incomplete"], false);
  EXPECT_EQ(j["unreadable"], json::array());
  EXPECT_EQ(j["warnings"], json::array());
  r.backup.offsite.reset();
  EXPECT_TRUE(history_record_json(r)["metadata"]["offsite"].is_null());
}

TEST(HistoryJson, FailedBackupHasTheGuidesFieldsAndTheError) {
  HistoryRecord r = failed("full_20241201_020000_2", "cannot connect to 127.0.0.1:1", "database");
  r.backup.compressed = true;
  r.backup.compression = "zstd";
  r.backup.encrypted = false;
  r.backup.database = HistoryRecord::Database{"shop"};
  expect_file_form(r, R"({
    "backup_id": "full_20241201_020000_2", "backup_type": "full",
    "timestamp": "2024-12-01T02:00:00.000000Z", "status": "failed", "size_bytes": 0, "file_path": null,
    "metadata": {"compressed": true, "compression": "zstd", "encrypted": false,
                 "database": {"name": "shop"}, "host": "web1", "hostname": "web1"},
    "duration_seconds": 0.0, "bytes_added": 0, "file_count": 0, "warnings": [],
    "error": "cannot connect to 127.0.0.1:1", "error_category": "database"})");
}

TEST(HistoryJson, FailedBeforeTheSettingsWereKnownHasNullsAndNoCompression) {
  HistoryRecord r = failed("full_20241201_020000", "DB_PORT: \"abc\" is not a port", "configuration");
  expect_file_form(r, R"({
    "backup_id": "full_20241201_020000", "backup_type": "full",
    "timestamp": "2024-12-01T02:00:00.000000Z", "status": "failed", "size_bytes": 0, "file_path": null,
    "metadata": {"compressed": null, "encrypted": null, "database": null, "host": "web1", "hostname": "web1"},
    "duration_seconds": 0.0, "bytes_added": 0, "file_count": 0, "warnings": [],
    "error": "DB_PORT: \"abc\" is not a port", "error_category": "configuration"})");
}

TEST(HistoryJson, CleanupRecords) {
  HistoryRecord started;
  started.backup_type = "cleanup";
  started.timestamp = "2024-12-01T03:00:00.000000Z";
  started.status = "started";
  started.cleanup.removing = {"full_20241101_020000"};
  expect_file_form(started, R"({
    "backup_id": null, "backup_type": "cleanup", "timestamp": "2024-12-01T03:00:00.000000Z",
    "status": "started", "metadata": {"removing": ["full_20241101_020000"], "policy": ""}})");

  HistoryRecord done;
  done.backup_type = "cleanup";
  done.timestamp = "2024-12-01T03:00:05.000000Z";
  done.status = "success";
  done.duration_seconds = 5.5;
  done.warnings = {"w"};
  done.cleanup.removed = {"full_20241101_020000"};
  done.cleanup.bytes_freed = 123;
  done.cleanup.packs_deleted = 2;
  done.cleanup.packs_rewritten = 1;
  done.cleanup.policy = "RETENTION_DAYS=30";
  expect_file_form(done, R"({
    "backup_id": null, "backup_type": "cleanup", "timestamp": "2024-12-01T03:00:05.000000Z",
    "status": "success", "duration_seconds": 5.5, "warnings": ["w"],
    "metadata": {"removed": ["full_20241101_020000"], "bytes_freed": 123, "packs_deleted": 2,
                 "packs_rewritten": 1, "dry_run": false, "policy": "RETENTION_DAYS=30"}})");

  HistoryRecord failed;
  failed.backup_type = "cleanup";
  failed.timestamp = "2024-12-01T03:00:01.000000Z";
  failed.status = "failed";
  failed.cleanup.dry_run = true;
  failed.error = "locked";
  failed.error_category = "input";
  expect_file_form(failed, R"({
    "backup_id": null, "backup_type": "cleanup", "timestamp": "2024-12-01T03:00:01.000000Z",
    "status": "failed", "duration_seconds": 0.0, "warnings": [],
    "metadata": {"removed": [], "bytes_freed": 0, "packs_deleted": 0, "packs_rewritten": 0,
                 "dry_run": true, "policy": ""},
    "error": "locked", "error_category": "input"})");
}

TEST(HistoryJson, DrillRecordsHoldEveryCheckAndTheTimings) {
  HistoryRecord r;
  r.backup_id = "full_20241201_020000";
  r.backup_type = "drill";
  r.timestamp = "2024-12-01T04:00:00.000000Z";
  r.status = "failed";
  r.duration_seconds = 12.5;
  r.error = "1 check failed: probe 1";
  r.error_category = "damaged data";
  DrillResult& d = r.drill;
  d.scratch_db = "coffer_drill_0a1b2c3d";
  d.database_restore_seconds = 8.5;
  d.database_check_seconds = 2.0;
  d.tables = 4;
  d.rows = 1200;
  d.indexes = 6;
  d.probes = 1;
  d.checks = {{"database", "restore", "passed", "4 tables"}, {"database", "probe 1", "failed", "returned 'f'"}};
  EXPECT_TRUE(r.is_drill());
  expect_file_form(r, R"({
    "backup_id": "full_20241201_020000", "backup_type": "drill", "timestamp": "2024-12-01T04:00:00.000000Z",
    "status": "failed",
    "metadata": {"scratch_db": "coffer_drill_0a1b2c3d", "scratch_dir": null, "database_restore_seconds": 8.5,
                 "database_check_seconds": 2.0, "files_restore_seconds": 0.0, "files_check_seconds": 0.0,
                 "tables": 4, "rows": 1200, "indexes": 6, "probes": 1, "files": 0, "bytes": 0,
                 "checks": [{"part": "database", "name": "restore", "status": "passed", "detail": "4 tables"},
                            {"part": "database", "name": "probe 1", "status": "failed", "detail": "returned 'f'"}]},
    "duration_seconds": 12.5, "warnings": [],
    "error": "1 check failed: probe 1", "error_category": "damaged data"})");
  HistoryRecord back = history_record_from_json(history_record_json(r));
  EXPECT_FALSE(back.drill.passed);
  EXPECT_EQ(back.drill.backup_id, "full_20241201_020000");
  EXPECT_EQ(back.drill.duration_seconds, 12.5);
  ASSERT_EQ(back.drill.checks.size(), 2u);
  EXPECT_EQ(back.drill.checks[1].detail, "returned 'f'");
}

TEST(HistoryJson, ReadingTakesOddRecordsWithoutFailing) {
  // Older logs have hostname only; a hand-edited one may have anything.
  HistoryRecord r = history_record_from_json(json::parse(R"({
    "backup_id": 7, "backup_type": "full", "timestamp": null, "status": "success",
    "size_bytes": -5, "file_count": "many", "duration_seconds": "slow", "warnings": ["a", 1, null],
    "metadata": {"hostname": "old-host", "compressed": "yes", "database": "shop", "files": false,
                 "offsite": {"status": "copied", "objects": 2.5}}})"));
  EXPECT_EQ(r.backup_id, "");
  EXPECT_EQ(r.timestamp, "");
  EXPECT_EQ(r.status, "success");
  EXPECT_EQ(r.backup.size_bytes, 0u);
  EXPECT_EQ(r.backup.file_count, 0u);
  EXPECT_EQ(r.duration_seconds, 0);
  EXPECT_EQ(r.warnings, std::vector<std::string>{"a"});
  EXPECT_EQ(r.backup.host, "old-host");
  EXPECT_FALSE(r.backup.compressed.has_value());
  EXPECT_FALSE(r.backup.database.has_value());
  EXPECT_FALSE(r.backup.has_files);
  ASSERT_TRUE(r.backup.offsite.has_value());
  EXPECT_TRUE(r.backup.offsite->copied);
  EXPECT_EQ(r.backup.offsite->objects, 0u);

  HistoryRecord empty = history_record_from_json(json::array({1, 2}));
  EXPECT_EQ(empty.backup_type, "");
  EXPECT_FALSE(empty.is_cleanup());
  EXPECT_TRUE(empty.backup.has_files);
}

}  // namespace coffer
