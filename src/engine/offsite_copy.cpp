#include "engine/offsite_copy.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "coffer/error.h"
#include "util/failpoint.h"

namespace coffer {
namespace {

// -1: never copied.
int phase_of(const std::string& key) {
  auto under = [&](const char* dir) { return key.rfind(dir, 0) == 0; };
  if (under("locks/")) return -1;
  if (under("data/")) return 1;
  if (under("index/")) return 2;
  if (under("snapshots/")) return 3;
  if (under("pins/")) return 4;
  return 0;  // config, keys/ and anything else the repository needs first
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

}  // namespace

OffsiteCopyResult copy_offsite(Storage& local, Storage& remote, int threads) {
  OffsiteCopyResult result;
  try {
    std::map<std::string, uint64_t> there;
    for (const ObjectInfo& o : remote.list("")) there[o.key] = o.size;
    std::vector<std::vector<ObjectInfo>> phases(5);
    for (const ObjectInfo& o : local.list("")) {
      const int phase = phase_of(o.key);
      if (phase < 0) continue;
      auto it = there.find(o.key);
      if (it != there.end() && it->second == o.size) continue;
      phases[static_cast<size_t>(phase)].push_back(o);
    }
    for (auto& todo : phases) {
      // Oldest names first inside a phase is not needed for safety; sorting keeps runs repeatable.
      std::sort(todo.begin(), todo.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
      upload_all(local, remote, todo, threads, result);
      if (&todo == &phases[1]) failpoint("copy-after-packs");
      if (&todo == &phases[2]) failpoint("copy-after-indexes");
    }
    result.copied = true;
  } catch (const std::exception& e) {
    result.copied = false;
    result.error = std::string("off-site copy to ") + remote.describe() + " failed: " + e.what();
  }
  return result;
}

}  // namespace coffer
