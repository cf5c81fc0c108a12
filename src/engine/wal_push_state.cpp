#include "engine/wal_push_state.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "util/locked_file.h"

namespace coffer {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return nlohmann::json::object();
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();  // a damaged note is started afresh
}

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

WalPushState::WalPushState(std::filesystem::path backup_dir) : path_(std::move(backup_dir) / "wal_push_state.json") {}

void WalPushState::stored(const std::string& cluster, const std::string& name, TimePoint when) {
  with_file_lock(path_.string() + ".lock", [&] {
    nlohmann::json all = read_json(path_);
    all[cluster] = {{"last_archived", name}, {"last_archived_time", format_iso8601_utc(when)}, {"failed_pushes", 0}};
    replace_file(path_, all.dump(2) + "\n", false);
  });
}

bool WalPushState::failed(const std::string& cluster, const std::string& name, TimePoint when,
                          const std::string& error) {
  bool first = false;
  with_file_lock(path_.string() + ".lock", [&] {
    nlohmann::json all = read_json(path_);
    nlohmann::json& c = all[cluster];
    if (!c.is_object()) c = nlohmann::json::object();
    const uint64_t failures = c.value("failed_pushes", uint64_t{0});
    first = failures == 0 || text(c, "last_failed") != name;
    c["last_failed"] = name;
    c["last_failed_time"] = format_iso8601_utc(when);
    c["last_error"] = error;
    c["failed_pushes"] = failures + 1;
    replace_file(path_, all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", false);
  });
  return first;
}

std::map<std::string, WalArchiveStatus> WalPushState::read() const {
  std::map<std::string, WalArchiveStatus> out;
  const nlohmann::json all = read_json(path_);  // items() refers to it: not a temporary
  for (const auto& [cluster, c] : all.items()) {
    if (!c.is_object()) continue;
    WalArchiveStatus& s = out[cluster];
    s.cluster = cluster;
    s.last_archived = text(c, "last_archived");
    s.last_archived_time = text(c, "last_archived_time");
    if (c.value("failed_pushes", uint64_t{0}) > 0) {
      s.failed_pushes = c.value("failed_pushes", uint64_t{0});
      s.last_failed = text(c, "last_failed");
      s.last_failed_time = text(c, "last_failed_time");
      s.last_error = text(c, "last_error");
    }
  }
  return out;
}

}  // namespace coffer
