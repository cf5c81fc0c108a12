#include "engine/physical_restore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "coffer/error.h"
#include "engine/restore_job.h"
#include "source/postgres/wal/timeline_history.h"
#include "source/postgres/wal/wal_archive.h"
#include "source/postgres/wal/wal_names.h"
#include "coffer/clock.h"

namespace coffer {
namespace fs = std::filesystem;
using pg::physical::RecoveryTarget;

namespace {


bool empty_or_absent(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return true;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

uint64_t lsn_of(const std::string& text) { return pg::wal::parse_lsn(text).value_or(0); }

// The archived history files of one cluster's timelines, read once.
class Timelines {
 public:
  Timelines(Repository& repo, const std::string& cluster) : histories_(pg::wal::WalArchive(repo, cluster).histories()) {}

  // The timeline recovery from a backup on `from` follows: the number given, `from` for
  // "current", and for "latest" the newest PostgreSQL finds (it tries from+1, from+2, ... while
  // the archive has their history files).
  uint32_t target(const std::string& option, uint32_t from) const {
    if (option == "current") return from;
    if (option != "latest") return static_cast<uint32_t>(std::stoul(option));
    uint32_t newest = from;
    while (histories_.count(newest + 1)) ++newest;
    return newest;
  }

  // Why recovery from backup `p` cannot reach timeline `tli`; nullopt when it can.
  std::optional<std::string> unreachable(const PhysicalInfo& p, uint32_t tli) const {
    if (tli == p.timeline) return std::nullopt;
    auto it = histories_.find(tli);
    if (it == histories_.end() && tli > p.timeline) {
      char name[32];
      std::snprintf(name, sizeof name, "%08X.history", tli);
      return "the archive holds no " + std::string(name) + ", so recovery cannot reach timeline " + std::to_string(tli);
    }
    return pg::wal::timeline_unreachable(p.timeline, lsn_of(p.stop_lsn), tli,
                                         it == histories_.end() ? std::vector<pg::wal::TimelineSwitch>{} : it->second);
  }

 private:
  std::map<uint32_t, std::vector<pg::wal::TimelineSwitch>> histories_;
};

// The newest physical backup that can reach the target (ends before it, on the way to its
// timeline), or the one asked for.
Manifest choose_backup(Repository& repo, const std::string& asked, const RecoveryTarget& target) {
  if (!asked.empty() && asked != "latest") {
    Manifest m = repo.read_manifest(asked);
    if (!m.physical)
      fail(ErrorCategory::kInput, "backup " + asked + " holds no physical database backup (DB_BACKUP_MODE=physical): "
                                  "a point-in-time restore needs one; see `coffer list`");
    return m;
  }
  std::optional<Manifest> best;
  std::map<std::string, Timelines> timelines;  // by cluster
  size_t off_the_timeline = 0;
  for (const std::string& id : repo.list_backup_ids()) {
    Manifest m = repo.read_manifest(id);
    if (!m.physical) continue;
    const PhysicalInfo& p = m.physical->info;
    if (target.kind == RecoveryTarget::Kind::kTime) {
      std::optional<TimePoint> stop = parse_iso8601_utc(p.stop_time);
      if (!stop || *stop > *target.time) continue;
    }
    if (target.kind == RecoveryTarget::Kind::kLsn && lsn_of(p.stop_lsn) > *target.lsn) continue;
    if (best && p.stop_time <= best->physical->info.stop_time) continue;
    Timelines& t = timelines.try_emplace(p.cluster, repo, p.cluster).first->second;
    if (t.unreachable(p, t.target(target.timeline, p.timeline))) {
      ++off_the_timeline;
      continue;
    }
    best = std::move(m);
  }
  if (!best) {
    const std::string on_way = " on the way to --target-timeline " + target.timeline;
    std::string why = target.kind == RecoveryTarget::Kind::kTime || target.kind == RecoveryTarget::Kind::kLsn
                          ? "no physical backup ends before " + pg::physical::describe(target) + on_way +
                                ": recovery can only start from a backup made before the target"
                          : "the repository holds no physical backup (DB_BACKUP_MODE=physical)" + on_way;
    if (off_the_timeline > 0)
      why += " (" + std::to_string(off_the_timeline) +
             " backup(s) left aside: recovery from them cannot reach that timeline)";
    fail(ErrorCategory::kNotFound, why);
  }
  return *best;
}

// Refuses (kInput) what recovery would fail on later, or silently get wrong.
void check_reachable(Repository& repo, const PhysicalPart& part, const RecoveryTarget& target,
                     PointInTimeResult& result) {
  const PhysicalInfo& p = part.info;
  if (target.kind == RecoveryTarget::Kind::kTime && *target.time < *parse_iso8601_utc(p.stop_time))
    fail(ErrorCategory::kInput, pg::physical::describe(target) + " is before the end of backup " +
                                    result.backup_id + " (" + p.stop_time +
                                    "): a restore cannot stop before its backup is consistent; pick an older backup");
  if (target.kind == RecoveryTarget::Kind::kLsn && *target.lsn < lsn_of(p.stop_lsn))
    fail(ErrorCategory::kInput, pg::physical::describe(target) + " is before the end of backup " + result.backup_id +
                                    " (LSN " + p.stop_lsn + "); pick an older backup");
  pg::wal::WalArchive archive(repo, p.cluster);
  const std::vector<std::string> names = archive.list();
  const std::set<std::string> have(names.begin(), names.end());
  // Every segment from the backup's start to its end (to the target for an LSN on its timeline).
  auto number = [&p](const std::string& name) {
    return pg::wal::segment_number(*pg::wal::parse_file_name(name), p.wal_segment_bytes);
  };
  uint64_t last = number(p.stop_wal);
  if (target.kind == RecoveryTarget::Kind::kLsn && target.timeline == "latest")
    last = std::max(last, pg::wal::segment_of_lsn(*target.lsn, p.wal_segment_bytes));
  for (uint64_t n = number(p.start_wal); n <= last; ++n) {
    const std::string seg = pg::wal::segment_name(p.timeline, n, p.wal_segment_bytes);
    bool found = have.count(seg) > 0;
    if (!found)  // a later timeline may hold it (the backup's last segment after a promotion)
      found = std::any_of(names.begin(), names.end(), [&](const std::string& x) { return x.size() == 24 && x.substr(8) == seg.substr(8); });
    if (!found)
      fail(ErrorCategory::kNotFound, "the WAL archive lacks segment " + seg + ", which backup " + result.backup_id +
                                         " needs to reach " + (n <= number(p.stop_wal) ? "consistency" : "the target") +
                                         ": recovery could not get there. `coffer verify` lists the gaps");
  }
  result.wal_from = p.start_wal;
  result.wal_to = pg::wal::segment_name(p.timeline, last, p.wal_segment_bytes);
  // The timeline recovery follows must have the backup on its way (history files, switch points).
  Timelines timelines(repo, p.cluster);
  const uint32_t tli = timelines.target(target.timeline, p.timeline);
  if (std::optional<std::string> why = timelines.unreachable(p, tli)) {
    const std::string option = target.timeline == "latest" ? "--target-timeline latest (the newest archived timeline, " +
                                                                 std::to_string(tli) + ")"
                                                           : "--target-timeline " + target.timeline;
    fail(ErrorCategory::kInput, option + ": " + *why + ", so recovery from backup " + result.backup_id +
                                    " cannot get there. Pick a backup on that timeline's history" +
                                    (target.timeline == "latest" ? ", or give --target-timeline current to stay on "
                                                                   "the backup's timeline"
                                                                 : ""));
  }
}

// A restored text file ("" when the backup had none).
std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return in ? text.str() : std::string();
}

void write_text(const fs::path& path, const std::string& text, bool append, const struct stat& owner) {
  {
    std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
    out << text;
    if (!out) fail(ErrorCategory::kStorage, "cannot write " + path.string());
  }
  ::chmod(path.c_str(), 0600);
  if (::geteuid() == 0 && ::chown(path.c_str(), owner.st_uid, owner.st_gid) != 0)
    fail(ErrorCategory::kStorage, "cannot give " + path.string() + " to the data folder's owner");
}

}  // namespace

std::map<std::string, std::string> tablespace_places(const std::vector<PhysicalPart::Tablespace>& tablespaces,
                                                     const std::vector<std::pair<std::string, std::string>>& moves,
                                                     const std::string& backup_id) {
  auto folder = [](const std::string& p) {  // "/srv/ts/" and "/srv/./ts" name "/srv/ts"
    std::string n = fs::path(p).lexically_normal().string();
    while (n.size() > 1 && n.back() == '/') n.pop_back();
    return n;
  };
  std::map<std::string, std::string> places;
  for (const auto& t : tablespaces) places[t.oid] = t.location;
  for (const auto& [old_place, new_place] : moves) {
    auto it = std::find_if(tablespaces.begin(), tablespaces.end(), [&](const PhysicalPart::Tablespace& t) {
      return t.oid == old_place || folder(t.location) == folder(old_place);
    });
    if (it == tablespaces.end()) {
      std::string known;
      for (const auto& t : tablespaces) known += (known.empty() ? "" : ", ") + t.location + " (OID " + t.oid + ")";
      fail(ErrorCategory::kInput, "--tablespace " + old_place + "=...: backup " + backup_id + " has no tablespace " +
                                      "there; " + (known.empty() ? "it has none" : "it has " + known));
    }
    if (new_place.empty() || new_place[0] != '/')
      fail(ErrorCategory::kInput, "--tablespace " + old_place + "=" + new_place +
                                      ": the new place must be an absolute path, as PostgreSQL's tablespaces are");
    places[it->oid] = folder(new_place);
  }
  return places;
}

RecoveryTarget recovery_target_of(const PointInTimeOptions& o) {
  RecoveryTarget t;
  const int given = int(o.to_time.has_value()) + int(o.to_lsn.has_value()) + int(o.to_xid.has_value()) +
                    int(o.to_name.has_value()) + int(o.immediate);
  if (given > 1)
    fail(ErrorCategory::kInput, "give one target at most: --to-time, --to-lsn, --to-xid, --to-name or --immediate");
  if (o.to_time) {
    t.kind = RecoveryTarget::Kind::kTime;
    t.time = pg::physical::parse_target_time(*o.to_time);
  } else if (o.to_lsn) {
    t.kind = RecoveryTarget::Kind::kLsn;
    t.lsn = pg::wal::parse_lsn(*o.to_lsn);
    if (!t.lsn) fail(ErrorCategory::kInput, "--to-lsn '" + *o.to_lsn + "' is not an LSN (e.g. 0/3000028)");
  } else if (o.to_xid) {
    t.kind = RecoveryTarget::Kind::kXid;
    t.xid = *o.to_xid;
  } else if (o.to_name) {
    t.kind = RecoveryTarget::Kind::kName;
    t.name = *o.to_name;
  } else if (o.immediate) {
    t.kind = RecoveryTarget::Kind::kImmediate;
  }
  t.action = o.target_action;
  t.timeline = o.target_timeline;
  pg::physical::validate(t);
  return t;
}

PointInTimeResult restore_physical(Repository& repo, const PhysicalRestoreRequest& request,
                                   const std::function<void(const Progress&)>& on_progress,
                                   const std::function<void(const std::string&)>& warn) {
  const fs::path pgdata = fs::absolute(request.options.pgdata).lexically_normal();
  if (request.options.pgdata.empty())
    fail(ErrorCategory::kInput, "--pgdata names the data folder to restore into (absent or empty)");
  if (!empty_or_absent(pgdata))
    fail(ErrorCategory::kInput, "--pgdata " + pgdata.string() + " is not empty: a point-in-time restore writes a "
                                "whole data folder; give an empty or new folder (stop the server and move the old "
                                "one aside first to restore in its place)");
  Manifest m = choose_backup(repo, request.backup_id, request.target);
  PointInTimeResult result;
  result.backup_id = m.info.backup_id;
  result.pgdata = pgdata.string();
  result.target = pg::physical::describe(request.target);
  const PhysicalPart& part = *m.physical;
  check_reachable(repo, part, request.target, result);

  // Where each root goes: the data folder, and each tablespace to its place or where --tablespace moves it.
  const std::map<std::string, std::string> places =
      tablespace_places(part.tablespaces, request.options.tablespaces, result.backup_id);
  std::map<std::string, std::string> roots = {{"pgdata", pgdata.string()}};
  std::string tablespace_map;
  for (const auto& t : part.tablespaces) {
    const std::string& to = places.at(t.oid);
    if (!empty_or_absent(to))
      fail(ErrorCategory::kInput, "tablespace " + t.oid + " goes to " + to + ", which is not empty: move it with "
                                  "--tablespace " + t.location + "=NEW (or --tablespace " + t.oid + "=NEW)");
    roots["tblspc-" + t.oid] = to;
    tablespace_map += t.oid + " " + to + "\n";
  }

  RestoreJobOptions job;
  job.restore_owner = request.restore_owner;
  job.physical_roots = roots;
  job.on_progress = on_progress;
  RestoreResult files = run_restore(repo, result.backup_id, job);
  result.files_restored = files.files_restored;
  result.bytes_restored = files.bytes_restored;

  // What recovery reads, written as the data folder's owner.
  struct stat owner {};
  if (::stat((pgdata / "PG_VERSION").c_str(), &owner) != 0)
    fail(ErrorCategory::kDamaged, "backup " + result.backup_id + " restored no PG_VERSION into " + pgdata.string());
  write_text(pgdata / "backup_label", part.backup_label, false, owner);
  if (!part.tablespaces.empty()) write_text(pgdata / "tablespace_map", tablespace_map, false, owner);
  for (const auto& t : part.tablespaces) {  // the links follow the map (the server redoes them too)
    const fs::path link = pgdata / "pg_tblspc" / t.oid;
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_symlink(roots["tblspc-" + t.oid], link, ec);
    if (ec) fail(ErrorCategory::kStorage, "cannot link " + link.string() + ": " + ec.message());
    if (::geteuid() == 0) (void)::lchown(link.c_str(), owner.st_uid, owner.st_gid);
  }
  write_text(pgdata / "recovery.signal", "", false, owner);
  const fs::path auto_conf = pgdata / "postgresql.auto.conf";
  write_text(auto_conf,
             pg::physical::without_recovery_settings(read_text(auto_conf)) +
                 pg::physical::recovery_settings(request.target, request.restore_command),
             false, owner);
  for (const char* folder : {"pg_wal/archive_status"}) {
    fs::create_directories(pgdata / folder);
    ::chmod((pgdata / folder).c_str(), 0700);
    if (::geteuid() == 0) (void)::chown((pgdata / folder).c_str(), owner.st_uid, owner.st_gid);
  }
  result.start_hint = "pg_ctl -D " + pgdata.string() + " start   (recovery runs to " + result.target +
                      (request.target.kind == RecoveryTarget::Kind::kLatest ? "" : ", then " + request.target.action) + ")";
  if (warn && !part.info.page_errors.empty())
    warn("backup " + result.backup_id + " recorded " + std::to_string(part.info.page_errors.size()) +
         " page(s) whose checksum failed (first: " + part.info.page_errors.front() + "); WAL replay rewrites a page "
         "only when the WAL holds a full image of it");
  return result;
}

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string wal_fetch_command(const std::string& program, const BackupConfig& config, bool source_s3) {
  std::string command = shell_quote(program) + " --backup-dir " + shell_quote(std::filesystem::absolute(config.backup_dir).string());
  if (!config.passphrase_file.empty())
    command += " --passphrase-file " + shell_quote(std::filesystem::absolute(config.passphrase_file).string());
  if (source_s3) command += " --source s3";
  return command + " wal-fetch %f \"%p\"";
}

}  // namespace coffer
