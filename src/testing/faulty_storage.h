// A Storage decorator that makes chosen operations fail, to prove that coffer ends every storage
// fault in either a whole backup or a clean, logged failure. A testing hook, not a setting:
// testing/storage_fault_hook.h wraps the repository's storage in it when COFFER_STORAGE_FAULTS
// is set; unit tests wrap a storage in it directly.
//
// COFFER_STORAGE_FAULTS is a comma-separated list of rules  OP:PREFIX:WHEN:FAULT[:seed=N]
//   OP      put (also put_if_absent), get, head, list, remove
//   PREFIX  only keys starting with it count ("data/", "index/", "snapshots/", "locks/");
//           empty = every key. For list, the listed prefix must start with it.
//   WHEN    N    the Nth matching call (1-based) fails, the others pass
//           N+   the Nth and every later matching call fails
//           P%   each matching call fails with probability P (0 < P <= 100), drawn from a
//                generator seeded with seed=N (default 1): the same run fails the same calls
//   FAULT   enospc  put fails before writing, "No space left on device"
//           eio     the operation fails before doing anything, "Input/output error"
//           short   put writes the first half of the object under a hidden temp name
//                   ("<folder>/.tmp-fault-<n>", as an interrupted LocalStorage write leaves it;
//                   on S3 nothing, uploads are all or nothing) and fails with ENOSPC
//           (An object written in pieces, a pack, meets its put faults when it is finished.)
//           fsync   put stores the whole object, then fails with EIO, as a failed folder sync
//                   does; remove removes, then fails (the answer was lost)
// Examples: "put:data/:3:enospc", "get:snapshots/:1:eio", "put::20%:eio:seed=7,remove:locks/:1:eio".
// Counters belong to one FaultyStorage (one per opened repository, so per command). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace coffer {

inline constexpr const char* kStorageFaultsVariable = "COFFER_STORAGE_FAULTS";

struct StorageFaultRule {
  enum class Op { kPut, kGet, kHead, kList, kRemove };
  enum class Fault { kEnospc, kEio, kShort, kFsync };
  Op op = Op::kPut;
  std::string prefix;
  uint64_t nth = 0;        // > 0: the Nth matching call
  bool and_later = false;  // with nth: every call from the Nth on
  double share = 0;        // nth == 0: probability per call
  uint64_t seed = 1;
  Fault fault = Fault::kEio;
  std::string text;  // the rule as written, for messages
};

// Parses COFFER_STORAGE_FAULTS text. Throws Error(kConfig) naming the variable and the bad rule.
std::vector<StorageFaultRule> parse_storage_faults(std::string_view spec);

class FaultyStorage : public Storage {
 public:
  // `temp_names_hidden`: the inner storage hides ".tmp-" names from list (LocalStorage), so a
  // short write can leave its partial object there as a real interrupted write would.
  FaultyStorage(std::shared_ptr<Storage> inner, std::vector<StorageFaultRule> rules, bool temp_names_hidden);

  void put(const std::string& key, ByteView data) override;
  bool put_if_absent(const std::string& key, ByteView data) override;
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  void remove(const std::string& key) override;
  std::string describe() const override { return inner_->describe(); }
  bool remote() const override { return inner_->remote(); }
  // The inner storage's writer (LocalStorage's streams into a temp file), with the put faults of
  // the object's key applied when it is finished ("short" leaves the first half of its first
  // 128 KiB under a temp name).
  std::unique_ptr<ObjectWriter> begin_object(const std::string& folder, size_t size_hint) override;
  uint64_t remove_temp_files(const std::string& folder, std::chrono::seconds min_age) override {
    return inner_->remove_temp_files(folder, min_age);
  }

  // How many faults were injected so far (tests).
  uint64_t injected() const;

 private:
  struct RuleState {
    StorageFaultRule rule;
    uint64_t calls = 0;
    std::mt19937_64 rng;
  };
  // The rule that fails this call, or nullptr. Counts the call for every matching rule.
  const StorageFaultRule* decide(StorageFaultRule::Op op, const std::string& key);
  [[noreturn]] void fail_injected(const StorageFaultRule& rule, const std::string& what, const std::string& key,
                                  int err) const;
  friend class FaultyObjectWriter;
  // Runs a put-like write (`write` stores the object) under the faults for `key`.
  template <typename Write>
  auto faulty_write(const std::string& key, ByteView data, Write write);

  std::shared_ptr<Storage> inner_;
  bool temp_names_hidden_;
  mutable std::mutex mu_;
  std::vector<RuleState> rules_;
  uint64_t injected_ = 0;
};

}  // namespace coffer
