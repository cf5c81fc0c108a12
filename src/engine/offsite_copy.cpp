#include "engine/offsite_copy.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "coffer/error.h"
#include "repo/repository_identity.h"
#include "util/failpoint.h"

namespace coffer {
namespace {

constexpr int kPhases = 7;

bool under(const std::string& key, const char* dir) { return key.rfind(dir, 0) == 0; }

// The upload phase of a repository object; -1: never copied (locks, backup_log.json, its lock,
// anything else that lives in BACKUP_DIR but is not part of the repository).
int phase_of(const std::string& key) {
  if (under(key, "keys/")) return 0;
  if (key == "config") return 1;
  if (under(key, "data/")) return 2;
  if (under(key, "index/")) return 3;
  if (under(key, "wal/")) return 4;
  if (under(key, "snapshots/")) return 5;
  if (under(key, "pins/")) return 6;
  return -1;
}

using Listing = std::map<std::string, uint64_t>;

Listing list_remote(Storage& remote) {
  Listing there;
  for (const ObjectInfo& o : remote.list("")) there[o.key] = o.size;
  return there;
}

std::optional<Bytes> read_if_present(Storage& s, const std::string& key) {
  try {
    return s.get(key, 0, Storage::kWhole);
  } catch (const Error& e) {
    if (e.category() == ErrorCategory::kNotFound) return std::nullopt;
    throw;
  }
}

[[noreturn]] void refuse(const std::string& what) {
  fail(ErrorCategory::kConfig, what + ": nothing was uploaded. Give each repository its own S3_PREFIX: set another "
                                      "S3_PREFIX for this one (an empty prefix, or the one it copied to before)");
}

// The identity check on a listing of the remote prefix (see the header).
void check_against(Storage& local, Storage& remote, const Listing& there) {
  const std::optional<Bytes> mine = read_if_present(local, "config");
  const std::string here = "BACKUP_DIR " + local.describe();
  const std::string s3 = "S3 " + remote.describe();
  if (there.count("config")) {
    const std::optional<Bytes> theirs = read_if_present(remote, "config");
    if (!theirs) return check_against(local, remote, list_remote(remote));  // removed meanwhile: look again
    if (mine && *theirs == *mine) return;
    const std::string their_id = repository_id_of(*theirs);
    if (!mine)
      fail(ErrorCategory::kConfig,
           s3 + " holds repository " + their_id + ", and " + here +
               " holds no repository yet (a new one would be another repository): nothing was uploaded and no "
               "backup was made. To start a new repository, set another S3_PREFIX; to recover the one on S3, use "
               "`coffer --source s3 list` and `coffer --source s3 restore`");
    const std::string my_id = repository_id_of(*mine);
    refuse(s3 + " holds repository " + their_id + ", not repository " + my_id + " of " + here +
           (their_id == my_id ? " (same id, but its config differs byte for byte)" : ""));
  }
  // No config there: an empty prefix, or our own first copy cut off after its key files.
  size_t foreign = 0;
  std::string example;
  for (const auto& [key, size] : there) {
    if (under(key, "locks/")) continue;
    if (mine && under(key, "keys/")) {
      std::optional<Bytes> ours = read_if_present(local, key);
      if (ours && ours->size() == size && read_if_present(remote, key) == ours) continue;
    }
    if (foreign++ == 0) example = key;
  }
  if (foreign > 0)
    refuse(s3 + " holds " + std::to_string(foreign) + " object(s) (e.g. " + example +
           ") but no repository config, and they are not " +
           (mine ? "repository " + repository_id_of(*mine) + "'s of " + here : "from " + here));
}

// Uploads `todo` with `threads` workers; stops at the first failure and rethrows it.
void upload_all(Storage& local, Storage& remote, const std::vector<ObjectInfo>& todo, int threads,
                OffsiteCopyResult& result) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string first_error;
  auto worker = [&] {
    for (size_t i = next++; i < todo.size() && !failed; i = next++) {
      try {
        Bytes data = local.get(todo[i].key, 0, Storage::kWhole);
        remote.put(todo[i].key, data);
        failpoint("copy-after-object");
        std::lock_guard<std::mutex> lock(mu);
        result.objects += 1;
        result.bytes += data.size();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed.exchange(true)) first_error = "uploading " + todo[i].key + ": " + e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  const int n = std::max(1, std::min<int>(threads, static_cast<int>(todo.size())));
  for (int t = 0; t < n; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (failed) throw Error(ErrorCategory::kStorage, first_error);
}

// Whether the remote copy of `o` is missing or not the same object (see the header).
bool needs_upload(Storage& local, Storage& remote, const ObjectInfo& o, const Listing& there) {
  auto it = there.find(o.key);
  if (it == there.end() || it->second != o.size) return true;
  if (!under(o.key, "keys/")) return false;
  return read_if_present(remote, o.key) != read_if_present(local, o.key);
}

}  // namespace

void copy_object_offsite(Storage& local, Storage& remote, const std::string& key) {
  const std::optional<Bytes> theirs = read_if_present(remote, "config");
  if (!theirs || *theirs != read_if_present(local, "config")) {
    // A new prefix (or our own first copy cut off): the key files, then the config, as
    // copy_offsite orders them; another repository there: refused, naming both.
    const Listing there = list_remote(remote);
    check_against(local, remote, there);
    std::vector<ObjectInfo> keys;
    for (const ObjectInfo& o : local.list("keys/"))
      if (needs_upload(local, remote, o, there)) keys.push_back(o);
    const std::optional<ObjectInfo> config = local.head("config");
    if (!config) fail(ErrorCategory::kNotFound, "there is no repository in " + local.describe());
    OffsiteCopyResult uploaded;
    upload_all(local, remote, keys, 1, uploaded);
    upload_all(local, remote, {*config}, 1, uploaded);
  }
  const Bytes data = local.get(key, 0, Storage::kWhole);
  const std::optional<ObjectInfo> there = remote.head(key);
  if (!there || there->size != data.size()) remote.put(key, data);
}

void check_offsite_target(Storage& local, Storage& remote) {
  // One request when S3 holds a config (the usual case); a listing only when it does not.
  if (remote.head("config")) return check_against(local, remote, Listing{{"config", 0}});
  check_against(local, remote, list_remote(remote));
}

OffsiteCopyResult copy_offsite(Storage& local, Storage& remote, int threads) {
  OffsiteCopyResult result;
  try {
    const Listing there = list_remote(remote);
    check_against(local, remote, there);
    std::vector<std::vector<ObjectInfo>> phases(kPhases);
    for (const ObjectInfo& o : local.list("")) {
      const int phase = phase_of(o.key);
      if (phase < 0 || !needs_upload(local, remote, o, there)) continue;
      phases[static_cast<size_t>(phase)].push_back(o);
    }
    for (auto& todo : phases) {
      // Oldest names first inside a phase is not needed for safety; sorting keeps runs repeatable.
      std::sort(todo.begin(), todo.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
      upload_all(local, remote, todo, threads, result);
      if (&todo == &phases[2]) failpoint("copy-after-packs");
      if (&todo == &phases[3]) failpoint("copy-after-indexes");
    }
    result.copied = true;
  } catch (const std::exception& e) {
    result.copied = false;
    result.error = std::string("off-site copy to ") + remote.describe() + " failed: " + e.what();
  }
  return result;
}

}  // namespace coffer
