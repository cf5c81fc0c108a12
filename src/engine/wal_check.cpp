#include "engine/wal_check.h"

#include <map>
#include <set>

#include "coffer/error.h"
#include "source/postgres/wal/cluster_id.h"
#include "source/postgres/wal/wal_archive.h"
#include "source/postgres/wal/wal_chain.h"
#include "source/postgres/wal/wal_names.h"

namespace coffer {
namespace {

// The archive of one cluster, read once: file names and timeline histories.
struct ArchiveView {
  std::set<std::string> names;
  std::map<uint32_t, std::vector<pg::wal::TimelineSwitch>> histories;
};

ArchiveView view_of(pg::wal::WalArchive& archive) {
  ArchiveView v;
  for (std::string& n : archive.list()) v.names.insert(std::move(n));
  v.histories = archive.histories();
  return v;
}

pg::wal::Chain chain_of(const ArchiveView& v, const PhysicalInfo& p) {
  pg::wal::ChainInput in;
  in.names = v.names;
  in.histories = v.histories;
  in.segment_bytes = p.wal_segment_bytes;
  in.timeline = p.timeline;
  in.start_segment = p.start_wal;
  in.stop_lsn = pg::wal::parse_lsn(p.stop_lsn).value_or(0);
  return pg::wal::follow_chain(in);
}

// Whether the chain reads the backup's stop segment (on its timeline or a later one's copy).
bool reaches_stop(const pg::wal::Chain& c, const PhysicalInfo& p) {
  return !c.last_segment.empty() && !pg::wal::position_before(c.last_segment, p.stop_wal);
}

}  // namespace

void check_wal(Repository& repo, const std::vector<Manifest>& backups, bool read_data, VerifyResult& result,
               const std::function<void()>& tick) {
  std::map<std::string, ArchiveView> views;
  std::set<std::string> to_read;  // "<cluster>/<segment>"
  std::set<std::string> counted;
  for (const Manifest& m : backups) {
    if (!m.physical) continue;
    const PhysicalInfo& p = m.physical->info;
    auto it = views.find(p.cluster);
    if (it == views.end()) {
      pg::wal::WalArchive archive(repo, p.cluster);
      it = views.emplace(p.cluster, view_of(archive)).first;
    }
    const pg::wal::Chain chain = chain_of(it->second, p);
    const std::string& id = m.info.backup_id;
    for (const std::string& s : chain.segments)
      if (counted.insert(p.cluster + "/" + s).second) ++result.wal_files_checked;
    if (!reaches_stop(chain, p)) {
      const std::string missing = chain.first_missing.empty()
                                      ? (chain.last_segment.empty() ? p.start_wal : "the one after " + chain.last_segment)
                                      : chain.first_missing;
      result.problems.push_back({id, "", "wal/" + p.cluster + "/",
                                 "the WAL archive lacks segment " + missing + ", which this backup needs to become "
                                 "consistent (from " + p.start_wal + " to " + p.stop_wal + "): it cannot be restored"});
      continue;
    }
    if (!chain.first_missing.empty())
      result.problems.push_back({id, "", pg::wal::WalArchive::key_of(p.cluster, chain.first_missing),
                                 "WAL gap: segment " + chain.first_missing + " is missing while later WAL is archived; "
                                 "this backup restores to moments up to the end of " + chain.last_segment +
                                 " only (take a new physical backup to restore past the gap)"});
    if (read_data)
      for (const std::string& s : chain.segments) to_read.insert(p.cluster + "/" + s);
  }
  if (!read_data) return;
  std::map<std::string, uint64_t> segment_bytes;
  for (const Manifest& m : backups)
    if (m.physical) segment_bytes[m.physical->info.cluster] = m.physical->info.wal_segment_bytes;
  for (const std::string& entry : to_read) {
    const std::string cluster = entry.substr(0, entry.find('/'));
    const std::string name = entry.substr(entry.find('/') + 1);
    const std::string key = pg::wal::WalArchive::key_of(cluster, name);
    if (tick) tick();
    try {
      pg::wal::WalArchive archive(repo, cluster);
      std::optional<Bytes> content = archive.fetch(name);
      if (!content) {
        result.problems.push_back({"", "", key, "WAL segment vanished while verify ran"});
        continue;
      }
      const std::optional<uint64_t> sysid = pg::wal::segment_system_identifier(*content);
      if (content->size() != segment_bytes[cluster] || !sysid ||
          std::to_string(*sysid) != cluster.substr(0, cluster.find('-')))
        result.problems.push_back({"", "", key, "WAL segment " + name + " is not a whole segment of cluster " + cluster});
    } catch (const Error& e) {
      result.problems.push_back({"", "", key, std::string("WAL segment unreadable: ") + e.what()});
    }
  }
}

void fill_restore_windows(Repository& repo, std::vector<BackupInfo>& backups,
                          const std::function<std::string(const std::string&)>& pushed_at) {
  std::map<std::string, ArchiveView> views;
  for (BackupInfo& b : backups) {
    if (!b.physical) continue;
    PhysicalInfo& p = *b.physical;
    auto it = views.find(p.cluster);
    if (it == views.end()) {
      pg::wal::WalArchive archive(repo, p.cluster);
      it = views.emplace(p.cluster, view_of(archive)).first;
    }
    const pg::wal::Chain chain = chain_of(it->second, p);
    PhysicalInfo::Window w;
    w.earliest = p.stop_time;
    if (reaches_stop(chain, p)) {
      w.latest_wal = chain.last_segment;
      if (pushed_at) w.latest_time = pushed_at(chain.last_segment);
    }
    w.first_missing = chain.first_missing;
    p.window = w;
  }
}

}  // namespace coffer
