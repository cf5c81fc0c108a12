#include "source/postgres/wal/wal_archive.h"

#include <algorithm>
#include <set>

#include "coffer/error.h"
#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::wal {
namespace {

// WAL segments are at most 1 GiB (initdb --wal-segsize); history files are small.
constexpr size_t kMaxWalFileBytes = (1u << 30) + (1u << 20);

std::string seal_kind(const std::string& name) { return "wal " + name; }

bool valid_cluster(const std::string& c) {
  const size_t dash = c.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == c.size()) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return (ch >= '0' && ch <= '9') || ch == '-'; }) &&
         std::count(c.begin(), c.end(), '-') == 1;
}

}  // namespace

WalArchive::WalArchive(Repository& repo, std::string cluster) : repo_(repo), cluster_(std::move(cluster)) {
  if (!valid_cluster(cluster_)) fail(ErrorCategory::kInternal, "bad WAL archive name '" + cluster_ + "'");
}

std::string WalArchive::key_of(const std::string& cluster, const std::string& name) {
  std::optional<FileName> f = parse_file_name(name);
  if (!f)
    fail(ErrorCategory::kInput, "'" + name + "' is not the name of a WAL file (a segment such as "
                                "000000010000000000000003, a .partial or .backup file, or a timeline's .history)");
  if (f->kind == FileKind::kTimelineHistory) return "wal/" + cluster + "/history/" + name;
  return "wal/" + cluster + "/" + name.substr(0, 16) + "/" + name;
}

WalArchive::Pushed WalArchive::push(const std::string& name, ByteView content, const CompressionSpec& compression) {
  const std::string key = key_of(cluster_, name);
  const Bytes sealed = repo_.sealer().seal(seal_kind(name), encode_payload(compression, content));
  if (repo_.storage().put_if_absent(key, sealed)) return Pushed::kStored;
  std::optional<Bytes> stored = fetch(name);
  if (stored && stored->size() == content.size() && std::equal(stored->begin(), stored->end(), content.begin()))
    return Pushed::kAlreadyThere;
  fail(ErrorCategory::kInput, "WAL file " + name + " is already archived (cluster " + cluster_ +
                                  ") with other content: it was not overwritten. Two servers may be archiving "
                                  "into one repository under one system identifier (a copied data folder?): give "
                                  "each its own BACKUP_DIR");
}

std::optional<Bytes> WalArchive::fetch(const std::string& name) {
  const std::string key = key_of(cluster_, name);
  Bytes sealed;
  try {
    sealed = repo_.storage().get(key);  // one request: recovery asks for every file in turn
  } catch (const Error& e) {
    if (e.category() == ErrorCategory::kNotFound) return std::nullopt;
    throw;
  }
  const Bytes payload = repo_.sealer().open(seal_kind(name), sealed, "WAL file " + name + " (" + key + ")");
  return decode_payload(payload, kMaxWalFileBytes);
}

std::vector<WalArchive::File> WalArchive::files() {
  std::vector<File> out;
  for (const ObjectInfo& o : repo_.storage().list("wal/" + cluster_ + "/")) {
    const std::string name = o.key.substr(o.key.rfind('/') + 1);
    if (parse_file_name(name) && key_of(cluster_, name) == o.key) out.push_back({name, o.size});
  }
  std::sort(out.begin(), out.end(), [](const File& a, const File& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> WalArchive::list() {
  std::vector<std::string> names;
  for (File& f : files()) names.push_back(std::move(f.name));
  return names;
}

std::map<uint32_t, std::vector<TimelineSwitch>> WalArchive::histories() {
  std::map<uint32_t, std::vector<TimelineSwitch>> out;
  for (const ObjectInfo& o : repo_.storage().list("wal/" + cluster_ + "/history/")) {
    const std::string name = o.key.substr(o.key.rfind('/') + 1);
    std::optional<FileName> f = parse_file_name(name);
    if (!f || f->kind != FileKind::kTimelineHistory) continue;
    if (std::optional<Bytes> text = fetch(name)) out[f->timeline] = parse_history(to_string(*text));
  }
  return out;
}

void WalArchive::remove(const std::string& name) { repo_.storage().remove(key_of(cluster_, name)); }

std::vector<std::string> WalArchive::clusters(Storage& storage) {
  std::set<std::string> out;
  for (const ObjectInfo& o : storage.list("wal/")) {
    const size_t end = o.key.find('/', 4);
    if (end == std::string::npos) continue;
    std::string c = o.key.substr(4, end - 4);
    if (valid_cluster(c)) out.insert(c);
  }
  return {out.begin(), out.end()};
}

}  // namespace coffer::pg::wal
