#include "repo/manifest.h"

#include <utility>

#include "coffer/error.h"
#include "util/bytes.h"

namespace coffer {

const char* backup_type_name(BackupType t) {
  switch (t) {
    case BackupType::kFull: return "full";
    case BackupType::kIncremental: return "incremental";
    case BackupType::kDifferential: return "differential";
  }
  return "full";
}

std::optional<BackupType> backup_type_from_name(const std::string& name) {
  if (name == "full") return BackupType::kFull;
  if (name == "incremental") return BackupType::kIncremental;
  if (name == "differential") return BackupType::kDifferential;
  return std::nullopt;
}

bool is_valid_backup_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

std::string manifest_key(const std::string& backup_id) { return "snapshots/" + backup_id; }

namespace {

// A whole number that fits T. nlohmann's get<int>() casts a float unchecked (undefined behaviour
// when out of range, e.g. 1e300) and wraps negative numbers into unsigned types.
template <class T>
T integer(const nlohmann::json& v, const std::string& what, const char* name) {
  if (v.is_number_unsigned() && std::in_range<T>(v.get<uint64_t>())) return static_cast<T>(v.get<uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned() && std::in_range<T>(v.get<int64_t>()))
    return static_cast<T>(v.get<int64_t>());
  fail(ErrorCategory::kDamaged, what + " is damaged: " + name + " is not a whole number in range");
}

nlohmann::json refs_to_json(const std::vector<ChunkRef>& refs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : refs) out.push_back({to_hex(c.id), c.size});
  return out;
}

std::vector<ChunkRef> refs_from_json(const nlohmann::json& j, const std::string& what) {
  std::vector<ChunkRef> refs;
  for (const auto& c : j) {
    ChunkRef ref;
    Bytes id = from_hex(c.at(0).get<std::string>());
    if (id.size() != ref.id.size()) fail(ErrorCategory::kDamaged, what + " has a bad chunk id");
    std::copy(id.begin(), id.end(), ref.id.begin());
    ref.size = integer<uint32_t>(c.at(1), what, "a chunk size");
    refs.push_back(ref);
  }
  return refs;
}

nlohmann::json database_to_json(const DatabasePart& d) {
  const DatabaseInfo& i = d.info;
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : i.tables) tables.push_back({t.schema, t.name, t.rows});
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& [id, offset] : d.data_blocks) blocks.push_back({id, offset});
  return {{"format", "pg_dump-custom"},
          {"name", i.name},
          {"server_version", i.server_version},
          {"server_version_num", i.server_version_num},
          {"pg_dump_version", i.pg_dump_version},
          {"size_bytes", i.size_bytes},
          {"dump_bytes", i.dump_bytes},
          {"duration_seconds", i.duration_seconds},
          {"globals", i.globals},
          {"tables", tables},
          {"data_blocks", blocks},
          {"dump_list", refs_to_json(d.dump_list)},
          {"globals_chunks", refs_to_json(d.globals)}};
}

DatabasePart database_from_json(const nlohmann::json& j, const std::string& what) {
  if (j.at("format").get<std::string>() != "pg_dump-custom")
    fail(ErrorCategory::kDamaged, what + " has an unknown database format: upgrade coffer");
  DatabasePart d;
  DatabaseInfo& i = d.info;
  i.name = j.at("name").get<std::string>();
  i.server_version = j.at("server_version").get<std::string>();
  i.server_version_num = integer<int>(j.at("server_version_num"), what, "server_version_num");
  i.pg_dump_version = j.at("pg_dump_version").get<std::string>();
  i.size_bytes = integer<uint64_t>(j.at("size_bytes"), what, "size_bytes");
  i.dump_bytes = integer<uint64_t>(j.at("dump_bytes"), what, "dump_bytes");
  i.duration_seconds = j.at("duration_seconds").get<double>();
  i.globals = j.at("globals").get<bool>();
  for (const auto& t : j.at("tables"))
    i.tables.push_back({t.at(0).get<std::string>(), t.at(1).get<std::string>(),
                        integer<uint64_t>(t.at(2), what, "a table's row count")});
  d.dump_list = refs_from_json(j.at("dump_list"), what);
  d.globals = refs_from_json(j.at("globals_chunks"), what);
  if (auto blocks = j.find("data_blocks"); blocks != j.end())  // older manifests lack it
    for (const auto& b : *blocks)
      d.data_blocks[integer<int64_t>(b.at(0), what, "a data block's dump id")] =
          integer<uint64_t>(b.at(1), what, "a data block's offset");
  return d;
}

nlohmann::json physical_to_json(const PhysicalPart& p) {
  const PhysicalInfo& i = p.info;
  nlohmann::json tablespaces = nlohmann::json::array();
  for (const auto& t : p.tablespaces) tablespaces.push_back({{"oid", t.oid}, {"location", t.location}});
  return {{"format", "pg-base-backup"},
          {"cluster", i.cluster},
          {"server_version", i.server_version},
          {"server_version_num", i.server_version_num},
          {"timeline", i.timeline},
          {"start_lsn", i.start_lsn},
          {"stop_lsn", i.stop_lsn},
          {"start_wal", i.start_wal},
          {"stop_wal", i.stop_wal},
          {"start_time", i.start_time},
          {"stop_time", i.stop_time},
          {"wal_segment_bytes", i.wal_segment_bytes},
          {"data_bytes", i.data_bytes},
          {"files", i.files},
          {"data_checksums", i.data_checksums},
          {"page_errors", i.page_errors},
          {"backup_label", p.backup_label},
          {"tablespace_map", p.tablespace_map},
          {"tablespaces", tablespaces},
          {"tree", refs_to_json(p.tree)}};
}

PhysicalPart physical_from_json(const nlohmann::json& j, const std::string& what) {
  if (j.at("format").get<std::string>() != "pg-base-backup")
    fail(ErrorCategory::kDamaged, what + " has an unknown physical backup format: upgrade coffer");
  PhysicalPart p;
  PhysicalInfo& i = p.info;
  i.cluster = j.at("cluster").get<std::string>();
  i.server_version = j.at("server_version").get<std::string>();
  i.server_version_num = integer<int>(j.at("server_version_num"), what, "server_version_num");
  i.timeline = integer<uint32_t>(j.at("timeline"), what, "timeline");
  i.start_lsn = j.at("start_lsn").get<std::string>();
  i.stop_lsn = j.at("stop_lsn").get<std::string>();
  i.start_wal = j.at("start_wal").get<std::string>();
  i.stop_wal = j.at("stop_wal").get<std::string>();
  i.start_time = j.at("start_time").get<std::string>();
  i.stop_time = j.at("stop_time").get<std::string>();
  if (j.contains("wal_segment_bytes")) {  // the first physical backups lack it: initdb's default
    i.wal_segment_bytes = integer<uint64_t>(j.at("wal_segment_bytes"), what, "wal_segment_bytes");
    if (i.wal_segment_bytes < (1u << 20) || i.wal_segment_bytes > (1u << 30) ||
        (i.wal_segment_bytes & (i.wal_segment_bytes - 1)))
      fail(ErrorCategory::kDamaged, what + " has a bad wal_segment_bytes");
  }
  i.data_bytes = integer<uint64_t>(j.at("data_bytes"), what, "data_bytes");
  i.files = integer<uint64_t>(j.at("files"), what, "files");
  i.data_checksums = j.at("data_checksums").get<bool>();
  i.page_errors = j.at("page_errors").get<std::vector<std::string>>();
  p.backup_label = j.at("backup_label").get<std::string>();
  p.tablespace_map = j.at("tablespace_map").get<std::string>();
  for (const auto& t : j.at("tablespaces")) {
    PhysicalPart::Tablespace ts{t.at("oid").get<std::string>(), t.at("location").get<std::string>()};
    if (ts.oid.empty() || ts.oid.find_first_not_of("0123456789") != std::string::npos)
      fail(ErrorCategory::kDamaged, what + " has a bad tablespace oid");
    p.tablespaces.push_back(std::move(ts));
  }
  p.tree = refs_from_json(j.at("tree"), what);
  return p;
}

}  // namespace

nlohmann::json manifest_to_json(const Manifest& m) {
  const BackupInfo& i = m.info;
  nlohmann::json roots = nlohmann::json::array();
  for (const auto& r : m.roots) roots.push_back({{"name", r.name}, {"source", r.source}});
  nlohmann::json tree = refs_to_json(m.tree);
  return {{"format_version", m.format_version},
          {"has_files", i.has_files},
          {"database", m.database ? database_to_json(*m.database) : nlohmann::json(nullptr)},
          {"physical", m.physical ? physical_to_json(*m.physical) : nlohmann::json(nullptr)},
          {"backup_id", i.backup_id},
          {"backup_type", backup_type_name(i.type)},
          {"parent", i.parent},
          {"timestamp", i.timestamp},
          {"hostname", i.hostname},
          {"file_count", i.file_count},
          {"size_bytes", i.size_bytes},
          {"bytes_added", i.bytes_added},
          {"files_read", i.files_read},
          {"duration_seconds", i.duration_seconds},
          {"warnings", i.warnings},
          {"unreadable", i.unreadable},
          {"roots", roots},
          {"tree", tree},
          {"metadata", m.metadata}};
}

Manifest manifest_from_json(const nlohmann::json& j, const std::string& what) {
  try {
    Manifest m;
    m.format_version = integer<int>(j.at("format_version"), what, "format_version");
    if (m.format_version != 1)
      fail(ErrorCategory::kDamaged, what + " has format version " + std::to_string(m.format_version) +
                                        ", which this coffer does not read: upgrade coffer");
    BackupInfo& i = m.info;
    i.backup_id = j.at("backup_id").get<std::string>();
    if (!is_valid_backup_id(i.backup_id)) fail(ErrorCategory::kDamaged, what + " has an invalid backup id");
    auto type = backup_type_from_name(j.at("backup_type").get<std::string>());
    if (!type) fail(ErrorCategory::kDamaged, what + " has an unknown backup type");
    i.type = *type;
    i.parent = j.at("parent").get<std::string>();
    i.timestamp = j.at("timestamp").get<std::string>();
    i.hostname = j.at("hostname").get<std::string>();
    i.file_count = integer<uint64_t>(j.at("file_count"), what, "file_count");
    i.size_bytes = integer<uint64_t>(j.at("size_bytes"), what, "size_bytes");
    i.bytes_added = integer<uint64_t>(j.at("bytes_added"), what, "bytes_added");
    i.files_read = integer<uint64_t>(j.at("files_read"), what, "files_read");
    i.duration_seconds = j.at("duration_seconds").get<double>();
    i.warnings = j.at("warnings").get<std::vector<std::string>>();
    if (j.contains("unreadable")) i.unreadable = j.at("unreadable").get<std::vector<std::string>>();  // newer
    i.status = "success";
    for (const auto& r : j.at("roots")) {
      ManifestRoot root{r.at("name").get<std::string>(), r.at("source").get<std::string>()};
      if (root.name.empty() || root.name.find('/') != std::string::npos || root.name == "." || root.name == "..")
        fail(ErrorCategory::kDamaged, what + " has an unsafe root name");
      m.roots.push_back(std::move(root));
    }
    m.tree = refs_from_json(j.at("tree"), what);
    i.has_files = j.value("has_files", true);
    if (j.contains("database") && !j.at("database").is_null()) {
      m.database = database_from_json(j.at("database"), what);
      i.database = m.database->info;
    }
    if (j.contains("physical") && !j.at("physical").is_null()) {  // older manifests lack it
      m.physical = physical_from_json(j.at("physical"), what);
      i.physical = m.physical->info;
    }
    m.metadata = j.value("metadata", nlohmann::json::object());
    return m;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(ErrorCategory::kDamaged, what + " is damaged: " + e.what());
  }
}

}  // namespace coffer
