// Shared pieces of the libFuzzer targets: the one rule for outcomes, an in-memory Storage and an
// unencrypted Repository on it, fixed keys, and the little-endian framing the targets read.
//
// The rule: a parser may return or throw coffer::Error. Any other exception escaping it is a bug,
// reported here by name and turned into a crash so that libFuzzer saves the input.
#pragma once

#include <cxxabi.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <typeinfo>

#include "coffer/error.h"
#include "repo/keys.h"
#include "repo/repository.h"
#include "storage/storage.h"

namespace coffer::fuzz {

[[noreturn]] inline void bug(const std::string& what) {
  std::fprintf(stderr, "\n==FUZZ BUG== %s\n", what.c_str());
  std::abort();
}

inline std::string type_name(const std::type_info& t) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && demangled ? demangled : t.name();
  std::free(demangled);
  return out;
}

// Runs one parser call under the rule above.
template <class F>
void run_guarded(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // An acceptable outcome: the parser refused the input with a coffer::Error.
  } catch (const std::exception& e) {
    bug("exception " + type_name(typeid(e)) + " escaped the parser: " + e.what());
  } catch (...) {
    bug("a non-std exception escaped the parser");
  }
}

// Keys fixed across runs, so that seeds holding sealed objects (fuzz_pack's whole packs) stay
// valid between the seed generator and the target.
inline MasterKeys fixed_keys() {
  MasterKeys k;
  k.encryption.fill(0x11);
  k.id.fill(0x22);
  k.chunker.fill(0x33);
  return k;
}

// Objects in a map; behaves like LocalStorage for the calls the parsers make.
class MemoryStorage : public Storage {
 public:
  void put(const std::string& key, ByteView data) override { objects_[key] = Bytes(data.begin(), data.end()); }
  bool put_if_absent(const std::string& key, ByteView data) override {
    return objects_.try_emplace(key, Bytes(data.begin(), data.end())).second;
  }
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override {
    auto it = objects_.find(key);
    if (it == objects_.end()) fail(ErrorCategory::kNotFound, "object " + key + " does not exist");
    const Bytes& b = it->second;
    if (offset > b.size()) fail(ErrorCategory::kDamaged, "object " + key + " is shorter than asked");
    uint64_t n = length == kWhole ? b.size() - offset : length;
    if (n > b.size() - offset) fail(ErrorCategory::kDamaged, "object " + key + " is shorter than asked");
    return Bytes(b.begin() + static_cast<ptrdiff_t>(offset), b.begin() + static_cast<ptrdiff_t>(offset + n));
  }
  std::optional<ObjectInfo> head(const std::string& key) override {
    auto it = objects_.find(key);
    if (it == objects_.end()) return std::nullopt;
    return ObjectInfo{key, it->second.size()};
  }
  std::vector<ObjectInfo> list(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    for (const auto& [key, data] : objects_)
      if (key.rfind(prefix, 0) == 0) out.push_back({key, data.size()});
    return out;
  }
  void remove(const std::string& key) override { objects_.erase(key); }
  std::string describe() const override { return "memory"; }

 private:
  std::map<std::string, Bytes> objects_;
};

// An unencrypted repository in memory (no Argon2 on start), made once per process.
struct MemoryRepo {
  std::shared_ptr<MemoryStorage> storage = std::make_shared<MemoryStorage>();
  std::unique_ptr<Repository> repo;
  MemoryRepo() {
    RepositoryParams params;
    params.encrypted = false;
    params.file_chunker = {64 * 1024, 256 * 1024, 1024 * 1024};
    params.tree_chunker = {1024, 4096, 16384};
    params.db_chunker = {256, 1024, 4096};
    repo = Repository::init(storage, params);
  }
};

// Little-endian framing of the targets' inputs.
inline uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t le64(const uint8_t* p) { return le32(p) | uint64_t(le32(p + 4)) << 32; }

// A stored blob payload with codec byte 0 (none), as encode_payload writes incompressible data.
inline Bytes plain_payload(ByteView data) {
  Bytes out{0};
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace coffer::fuzz
