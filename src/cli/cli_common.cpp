#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.h"

namespace coffer::cli {

config::Sources sources_of(const GlobalOptions& g) {
  config::Sources s;
  s.environment = config::process_environment();
  if (!g.config_file.empty()) s.config_file = g.config_file;
  s.flags = g.flags;
  return s;
}

std::function<std::optional<std::string>(const std::string&)> service_settings_of(const GlobalOptions& g) {
  auto settings = std::make_shared<std::map<std::string, std::string>>(config::service_settings(sources_of(g)));
  return [settings](const std::string& name) -> std::optional<std::string> {
    auto it = settings->find(name);
    if (it == settings->end()) return std::nullopt;
    return it->second;
  };
}

BackupConfig load_config(const GlobalOptions& g, config::Uses uses) { return config::load(sources_of(g), uses); }

namespace {
std::shared_ptr<ProgressLine> g_progress;
}

void clear_progress() {
  if (g_progress) g_progress->clear();
}

std::unique_ptr<BackupManager> make_manager(const GlobalOptions& g, config::Uses uses) {
  auto manager = std::make_unique<BackupManager>(load_config(g, uses));
  manager->set_source_s3(g.source == "s3");
  auto progress = std::make_shared<ProgressLine>(!g.json && !g.quiet && ::isatty(STDERR_FILENO));
  g_progress = progress;
  manager->set_progress_callback([progress](const Progress& p) { progress->update(p); });
  manager->set_warning_callback([progress](const std::string& w) {
    progress->clear();
    spdlog::warn("{}", w);
  });
  return manager;
}

void print_json(const nlohmann::json& j) {
  clear_progress();
  // Messages can quote bytes that are not UTF-8 (a damaged object, an odd file name): replaced.
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

std::string short_time(const std::string& iso) {
  std::string t = iso.substr(0, 19);
  if (t.size() > 10 && t[10] == 'T') t[10] = ' ';
  return t;
}

nlohmann::json to_json(const DatabaseInfo& d) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : d.tables) tables.push_back({{"schema", t.schema}, {"name", t.name}, {"rows", t.rows}});
  return {{"name", d.name},
          {"server_version", d.server_version},
          {"pg_dump_version", d.pg_dump_version},
          {"size_bytes", d.size_bytes},
          {"dump_bytes", d.dump_bytes},
          {"tables", tables},
          {"duration_seconds", d.duration_seconds},
          {"globals", d.globals}};
}

nlohmann::json to_json(const PhysicalInfo::Window& w) {
  auto opt = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"earliest", w.earliest},
          {"latest_wal", opt(w.latest_wal)},
          {"latest_time", opt(w.latest_time)},
          {"first_missing", opt(w.first_missing)},
          {"restorable", !w.latest_wal.empty()}};
}

nlohmann::json to_json(const PhysicalInfo& p) {
  return {{"cluster", p.cluster},
          {"server_version", p.server_version},
          {"timeline", p.timeline},
          {"start_lsn", p.start_lsn},
          {"stop_lsn", p.stop_lsn},
          {"start_wal", p.start_wal},
          {"stop_wal", p.stop_wal},
          {"start_time", p.start_time},
          {"stop_time", p.stop_time},
          {"data_bytes", p.data_bytes},
          {"files", p.files},
          {"data_checksums", p.data_checksums},
          {"page_errors", p.page_errors},
          {"wal_segment_bytes", p.wal_segment_bytes},
          {"restore_window", p.window ? to_json(*p.window) : nlohmann::json(nullptr)}};
}

nlohmann::json to_json(const BackupInfo& b) {
  return {{"backup_id", b.backup_id},
          {"files", b.has_files},
          {"database", b.database ? to_json(*b.database) : nlohmann::json(nullptr)},
          {"physical", b.physical ? to_json(*b.physical) : nlohmann::json(nullptr)},
          {"backup_type", backup_type_name(b.type)},
          {"timestamp", b.timestamp},
          {"status", b.status},
          {"parent", b.parent.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.parent)},
          {"file_count", b.file_count},
          {"size_bytes", b.size_bytes},
          {"bytes_added", b.bytes_added},
          {"files_read", b.files_read},
          {"duration_seconds", b.duration_seconds},
          {"hostname", b.hostname},
          {"pinned", b.pinned},
          {"warnings", b.warnings},
          {"incomplete", b.incomplete()},
          {"unreadable", b.unreadable},
          {"offsite", b.offsite ? nlohmann::json(*b.offsite)
                      : b.offsite_copy ? nlohmann::json(b.offsite_copy->copied)
                                       : nlohmann::json(nullptr)},
          {"offsite_copy", b.offsite_copy ? nlohmann::json{{"status", b.offsite_copy->copied ? "copied" : "failed"},
                                                           {"error", b.offsite_copy->error},
                                                           {"objects", b.offsite_copy->objects},
                                                           {"bytes", b.offsite_copy->bytes}}
                                          : nlohmann::json(nullptr)}};
}

static double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), start_(now_seconds()) {}

void ProgressLine::update(const Progress& p) {
  if (!enabled_) return;
  double elapsed = std::max(now_seconds() - start_, 1e-3);
  double rate = p.bytes_done / elapsed;
  std::string eta = "--";
  if (rate > 0 && p.bytes_total > p.bytes_done) {
    int s = static_cast<int>((p.bytes_total - p.bytes_done) / rate);
    eta = std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  }
  if (p.files_total == 0 && p.bytes_total == 0 && p.bytes_done == 0) {  // a phase without figures
    std::fprintf(stderr, "\r\033[K%s ...", p.phase.c_str());
  } else if (p.files_total == 0 && p.bytes_total == 0) {  // bytes of an unknown total (a dump)
    std::fprintf(stderr, "\r\033[K%s %s, %s/s", p.phase.c_str(), human_bytes(p.bytes_done).c_str(),
                 human_bytes(static_cast<uint64_t>(rate)).c_str());
  } else if (p.files_total == 0) {  // bytes only (a database dump staged)
    std::fprintf(stderr, "\r\033[K%s: %s/%s, %s/s, ETA %s", p.phase.c_str(), human_bytes(p.bytes_done).c_str(),
                 human_bytes(p.bytes_total).c_str(), human_bytes(static_cast<uint64_t>(rate)).c_str(), eta.c_str());
  } else {
    std::fprintf(stderr, "\r\033[K%s: %llu/%llu files, %s/%s, %s/s, ETA %s", p.phase.c_str(),
                 static_cast<unsigned long long>(p.files_done), static_cast<unsigned long long>(p.files_total),
                 human_bytes(p.bytes_done).c_str(), human_bytes(p.bytes_total).c_str(),
                 human_bytes(static_cast<uint64_t>(rate)).c_str(), eta.c_str());
  }
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace coffer::cli
