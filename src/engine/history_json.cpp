#include "engine/history_json.h"

#include <algorithm>

namespace coffer {

using nlohmann::json;

namespace {

json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json flag_or_null(const std::optional<bool>& b) { return b ? json(*b) : json(nullptr); }

json database_json(const HistoryRecord::Database& d) {
  if (!d.dumped) return {{"name", d.name}};
  return {{"name", d.name},
          {"server_version", d.server_version},
          {"pg_dump_version", d.pg_dump_version},
          {"size_bytes", d.size_bytes},
          {"dump_bytes", d.dump_bytes},
          {"table_count", d.table_count},
          {"duration_seconds", d.duration_seconds},
          {"globals", d.globals}};
}

json offsite_json(const BackupInfo::OffsiteCopy& o) {
  return {{"status", o.copied ? "copied" : "failed"},
          {"error", o.copied ? json(nullptr) : json(o.error)},
          {"objects", o.objects},
          {"bytes", o.bytes}};
}

void add_backup_fields(const HistoryRecord& r, json& j) {
  const HistoryRecord::Backup& b = r.backup;
  const bool success = r.status == "success";
  j["size_bytes"] = b.size_bytes;
  j["file_path"] = text_or_null(b.file_path);
  j["bytes_added"] = b.bytes_added;
  j["file_count"] = b.file_count;
  json& m = j["metadata"] = json::object();
  m["compressed"] = flag_or_null(b.compressed);
  if (!b.compression.empty()) m["compression"] = b.compression;
  m["encrypted"] = flag_or_null(b.encrypted);
  m["host"] = b.host;
  m["hostname"] = b.host;
  m["database"] = b.database ? database_json(*b.database) : json(nullptr);
  if (!success) return;
  m["parent"] = b.parent;
  m["files_read"] = b.files_read;
  m["files"] = b.has_files;
  m["offsite"] = b.offsite ? offsite_json(*b.offsite) : json(nullptr);
  j["pinned"] = b.pinned;
  j["incomplete"] = !b.unreadable.empty();
  j["unreadable"] = b.unreadable;
}

void add_cleanup_fields(const HistoryRecord& r, json& j) {
  const HistoryRecord::Cleanup& c = r.cleanup;
  if (r.status == "started") {
    j["metadata"] = {{"removing", c.removing}, {"policy", c.policy}};
    return;
  }
  j["metadata"] = {{"removed", c.removed},
                   {"bytes_freed", c.bytes_freed},
                   {"packs_deleted", c.packs_deleted},
                   {"packs_rewritten", c.packs_rewritten},
                   {"dry_run", c.dry_run},
                   {"policy", c.policy}};
}

nlohmann::json drill_json(const DrillResult& d) {
  json checks = json::array();
  for (const DrillCheck& c : d.checks)
    checks.push_back({{"part", c.part}, {"name", c.name}, {"status", c.status}, {"detail", c.detail}});
  return {{"scratch_db", text_or_null(d.scratch_db)},
          {"scratch_dir", text_or_null(d.scratch_dir)},
          {"database_restore_seconds", d.database_restore_seconds},
          {"database_check_seconds", d.database_check_seconds},
          {"files_restore_seconds", d.files_restore_seconds},
          {"files_check_seconds", d.files_check_seconds},
          {"tables", d.tables},
          {"rows", d.rows},
          {"indexes", d.indexes},
          {"probes", d.probes},
          {"files", d.files},
          {"bytes", d.bytes},
          {"checks", checks}};
}

// Readers that leave the default when a field is missing or of another type.
const json* field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string text(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

uint64_t count(const json& j, const char* key) {
  const json* v = field(j, key);
  if (!v || !v->is_number_integer()) return 0;
  return v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(std::max<int64_t>(0, v->get<int64_t>()));
}

double number(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_number() ? v->get<double>() : 0;
}

std::optional<bool> maybe_flag(const json& j, const char* key) {
  const json* v = field(j, key);
  return v && v->is_boolean() ? std::optional<bool>(v->get<bool>()) : std::nullopt;
}

bool flag(const json& j, const char* key, bool otherwise) { return maybe_flag(j, key).value_or(otherwise); }

std::vector<std::string> texts(const json& j, const char* key) {
  std::vector<std::string> out;
  const json* v = field(j, key);
  if (v && v->is_array())
    for (const json& item : *v)
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

std::optional<HistoryRecord::Database> database_from(const json& m) {
  const json* d = field(m, "database");
  if (!d || !d->is_object()) return std::nullopt;
  HistoryRecord::Database db;
  db.name = text(*d, "name");
  db.dumped = field(*d, "dump_bytes") != nullptr;
  db.server_version = text(*d, "server_version");
  db.pg_dump_version = text(*d, "pg_dump_version");
  db.size_bytes = count(*d, "size_bytes");
  db.dump_bytes = count(*d, "dump_bytes");
  db.table_count = count(*d, "table_count");
  db.duration_seconds = number(*d, "duration_seconds");
  db.globals = flag(*d, "globals", false);
  return db;
}

std::optional<BackupInfo::OffsiteCopy> offsite_from(const json& m) {
  const json* o = field(m, "offsite");
  if (!o || !o->is_object()) return std::nullopt;
  BackupInfo::OffsiteCopy copy;
  copy.copied = text(*o, "status") == "copied";
  copy.error = text(*o, "error");
  copy.objects = count(*o, "objects");
  copy.bytes = count(*o, "bytes");
  return copy;
}

}  // namespace

json history_record_json(const HistoryRecord& r) {
  json j{{"backup_id", text_or_null(r.backup_id)},
         {"backup_type", r.backup_type},
         {"timestamp", r.timestamp},
         {"status", r.status}};
  if (r.is_cleanup())
    add_cleanup_fields(r, j);
  else if (r.is_drill())
    j["metadata"] = drill_json(r.drill);
  else
    add_backup_fields(r, j);
  if (r.status != "started") {
    j["duration_seconds"] = r.duration_seconds;
    j["warnings"] = r.warnings;
  }
  if (r.status == "failed") {
    j["error"] = r.error;
    j["error_category"] = r.error_category;
  }
  return j;
}

HistoryRecord history_record_from_json(const json& j) {
  HistoryRecord r;
  r.backup_id = text(j, "backup_id");
  r.backup_type = text(j, "backup_type");
  r.timestamp = text(j, "timestamp");
  r.status = text(j, "status");
  r.duration_seconds = number(j, "duration_seconds");
  r.warnings = texts(j, "warnings");
  r.error = text(j, "error");
  r.error_category = text(j, "error_category");
  static const json kNone = json::object();
  const json* found = field(j, "metadata");
  const json& m = found && found->is_object() ? *found : kNone;
  if (r.is_drill()) {
    DrillResult& d = r.drill;
    d.backup_id = r.backup_id;
    d.passed = r.status == "success";
    d.scratch_db = text(m, "scratch_db");
    d.scratch_dir = text(m, "scratch_dir");
    d.database_restore_seconds = number(m, "database_restore_seconds");
    d.database_check_seconds = number(m, "database_check_seconds");
    d.files_restore_seconds = number(m, "files_restore_seconds");
    d.files_check_seconds = number(m, "files_check_seconds");
    d.duration_seconds = r.duration_seconds;
    d.tables = count(m, "tables");
    d.rows = count(m, "rows");
    d.indexes = count(m, "indexes");
    d.probes = count(m, "probes");
    d.files = count(m, "files");
    d.bytes = count(m, "bytes");
    if (const json* checks = field(m, "checks"); checks && checks->is_array())
      for (const json& c : *checks)
        d.checks.push_back({text(c, "part"), text(c, "name"), text(c, "status"), text(c, "detail")});
    d.warnings = r.warnings;
    return r;
  }
  if (r.is_cleanup()) {
    HistoryRecord::Cleanup& c = r.cleanup;
    c.removing = texts(m, "removing");
    c.removed = texts(m, "removed");
    c.bytes_freed = count(m, "bytes_freed");
    c.packs_deleted = count(m, "packs_deleted");
    c.packs_rewritten = count(m, "packs_rewritten");
    c.dry_run = flag(m, "dry_run", false);
    c.policy = text(m, "policy");
    return r;
  }
  HistoryRecord::Backup& b = r.backup;
  b.size_bytes = count(j, "size_bytes");
  b.file_path = text(j, "file_path");
  b.bytes_added = count(j, "bytes_added");
  b.file_count = count(j, "file_count");
  b.host = field(m, "host") ? text(m, "host") : text(m, "hostname");  // older logs: hostname only
  b.compressed = maybe_flag(m, "compressed");
  b.compression = text(m, "compression");
  b.encrypted = maybe_flag(m, "encrypted");
  b.database = database_from(m);
  b.parent = text(m, "parent");
  b.files_read = count(m, "files_read");
  b.has_files = flag(m, "files", true);
  b.offsite = offsite_from(m);
  b.pinned = flag(j, "pinned", false);
  b.unreadable = texts(j, "unreadable");
  return r;
}

}  // namespace coffer
