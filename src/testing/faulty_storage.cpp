#include "testing/faulty_storage.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "coffer/error.h"

namespace coffer {
namespace {

using Op = StorageFaultRule::Op;
using Fault = StorageFaultRule::Fault;

[[noreturn]] void bad_rule(std::string_view rule, const std::string& why) {
  fail(ErrorCategory::kConfig, std::string(kStorageFaultsVariable) + ": rule '" + std::string(rule) + "' " + why +
                                   " (expected OP:PREFIX:WHEN:FAULT[:seed=N], e.g. put:data/:3:enospc; "
                                   "see src/testing/faulty_storage.h, or unset the variable)");
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = text.find(sep);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

bool parse_uint(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Op parse_op(std::string_view rule, std::string_view text) {
  if (text == "put") return Op::kPut;
  if (text == "get") return Op::kGet;
  if (text == "head") return Op::kHead;
  if (text == "list") return Op::kList;
  if (text == "remove") return Op::kRemove;
  bad_rule(rule, "has the unknown operation '" + std::string(text) + "' (put, get, head, list, remove)");
}

Fault parse_fault(std::string_view rule, Op op, std::string_view text) {
  if (text == "eio") return Fault::kEio;
  if (op == Op::kPut) {
    if (text == "enospc") return Fault::kEnospc;
    if (text == "short") return Fault::kShort;
    if (text == "fsync") return Fault::kFsync;
    bad_rule(rule, "has the unknown fault '" + std::string(text) + "' for put (enospc, eio, short, fsync)");
  }
  if (op == Op::kRemove) {
    if (text == "fsync") return Fault::kFsync;
    bad_rule(rule, "has the unknown fault '" + std::string(text) + "' for remove (eio, fsync)");
  }
  bad_rule(rule, "has the unknown fault '" + std::string(text) + "' for this operation (eio)");
}

void parse_when(std::string_view rule, std::string_view text, StorageFaultRule& r) {
  if (!text.empty() && text.back() == '%') {
    std::string number(text.substr(0, text.size() - 1));
    char* end = nullptr;
    errno = 0;
    double p = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    if (number.empty() || errno != 0 || end != number.c_str() + number.size() || !(p > 0 && p <= 100))
      bad_rule(rule, "has the share '" + std::string(text) + "': expected a percentage above 0, at most 100");
    r.share = p / 100;
    return;
  }
  if (!text.empty() && text.back() == '+') {
    r.and_later = true;
    text.remove_suffix(1);
  }
  if (!parse_uint(text, r.nth) || r.nth == 0)
    bad_rule(rule, "has the call number '" + std::string(text) + "': expected N (1 = the first call), N+ or P%");
}

StorageFaultRule parse_rule(std::string_view text) {
  std::vector<std::string_view> f = split(text, ':');
  if (f.size() != 4 && f.size() != 5) bad_rule(text, "does not have 4 or 5 ':'-separated fields");
  StorageFaultRule r;
  r.text = std::string(text);
  r.op = parse_op(text, f[0]);
  r.prefix = std::string(f[1]);
  parse_when(text, f[2], r);
  r.fault = parse_fault(text, r.op, f[3]);
  if (f.size() == 5) {
    constexpr std::string_view kSeed = "seed=";
    if (f[4].substr(0, kSeed.size()) != kSeed || !parse_uint(f[4].substr(kSeed.size()), r.seed))
      bad_rule(text, "has '" + std::string(f[4]) + "' where seed=N was expected");
    if (r.share == 0) bad_rule(text, "has a seed but no share (P%) to draw");
  }
  return r;
}

bool matches(const StorageFaultRule& r, Op op, const std::string& key) {
  return r.op == op && key.compare(0, r.prefix.size(), r.prefix) == 0;
}

const char* verb(Op op) {
  switch (op) {
    case Op::kPut: return "cannot write";
    case Op::kGet: return "cannot read";
    case Op::kHead: return "cannot stat";
    case Op::kList: return "cannot list";
    case Op::kRemove: return "cannot remove";
  }
  return "cannot access";
}

}  // namespace

std::vector<StorageFaultRule> parse_storage_faults(std::string_view spec) {
  std::vector<StorageFaultRule> rules;
  for (std::string_view item : split(spec, ',')) {
    if (item.empty()) bad_rule(item, "is empty (a stray ',')");
    rules.push_back(parse_rule(item));
  }
  return rules;
}

FaultyStorage::FaultyStorage(std::shared_ptr<Storage> inner, std::vector<StorageFaultRule> rules,
                             bool temp_names_hidden)
    : inner_(std::move(inner)), temp_names_hidden_(temp_names_hidden) {
  for (StorageFaultRule& r : rules) rules_.push_back({r, 0, std::mt19937_64(r.seed)});
}

uint64_t FaultyStorage::injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

const StorageFaultRule* FaultyStorage::decide(Op op, const std::string& key) {
  std::lock_guard lock(mu_);
  const StorageFaultRule* hit = nullptr;
  for (RuleState& s : rules_) {
    if (!matches(s.rule, op, key)) continue;
    ++s.calls;
    bool fails = s.rule.nth ? (s.calls == s.rule.nth || (s.rule.and_later && s.calls > s.rule.nth))
                            : std::uniform_real_distribution<double>(0, 1)(s.rng) < s.rule.share;
    if (fails && !hit) hit = &s.rule;
  }
  if (hit) ++injected_;
  return hit;
}

void FaultyStorage::fail_injected(const StorageFaultRule& rule, const std::string& what, const std::string& key,
                                  int err) const {
  fail(ErrorCategory::kStorage, what + " " + inner_->describe() + "/" + key + ": " + std::strerror(err) +
                                    " (injected by " + kStorageFaultsVariable + " rule '" + rule.text + "')");
}

template <typename Write>
auto FaultyStorage::faulty_write(const std::string& key, ByteView data, Write write) {
  const StorageFaultRule* rule = decide(Op::kPut, key);
  if (!rule) return write();
  switch (rule->fault) {
    case Fault::kEnospc: fail_injected(*rule, "cannot write", key, ENOSPC);
    case Fault::kEio: fail_injected(*rule, "cannot write", key, EIO);
    case Fault::kShort:
      if (temp_names_hidden_) {
        static std::atomic<uint64_t> counter{0};
        std::string folder = key.substr(0, key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1);
        inner_->put(folder + ".tmp-fault-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)),
                    data.first(data.size() / 2));
      }
      fail_injected(*rule, "cannot write", key, ENOSPC);
    case Fault::kFsync:
      write();
      fail_injected(*rule, "cannot sync folder of", key, EIO);
  }
  fail_injected(*rule, "cannot write", key, EIO);
}

class FaultyObjectWriter : public ObjectWriter {
 public:
  FaultyObjectWriter(FaultyStorage& storage, std::unique_ptr<ObjectWriter> inner)
      : storage_(storage), inner_(std::move(inner)) {}
  void append(ByteView data) override {
    const size_t keep = std::min(data.size(), kKept - std::min(kKept, head_.size()));
    head_.insert(head_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(keep));
    inner_->append(data);
  }
  void finish(const std::string& key) override {
    storage_.faulty_write(key, head_, [&] { inner_->finish(key); });
  }

 private:
  static constexpr size_t kKept = 128 * 1024;  // what a "short" fault leaves is cut from these
  FaultyStorage& storage_;
  std::unique_ptr<ObjectWriter> inner_;
  Bytes head_;
};

std::unique_ptr<ObjectWriter> FaultyStorage::begin_object(const std::string& folder, size_t size_hint) {
  return std::make_unique<FaultyObjectWriter>(*this, inner_->begin_object(folder, size_hint));
}

void FaultyStorage::put(const std::string& key, ByteView data) {
  faulty_write(key, data, [&] { inner_->put(key, data); });
}

bool FaultyStorage::put_if_absent(const std::string& key, ByteView data) {
  return faulty_write(key, data, [&] { return inner_->put_if_absent(key, data); });
}

Bytes FaultyStorage::get(const std::string& key, uint64_t offset, uint64_t length) {
  if (const StorageFaultRule* rule = decide(Op::kGet, key)) fail_injected(*rule, verb(Op::kGet), key, EIO);
  return inner_->get(key, offset, length);
}

std::optional<ObjectInfo> FaultyStorage::head(const std::string& key) {
  if (const StorageFaultRule* rule = decide(Op::kHead, key)) fail_injected(*rule, verb(Op::kHead), key, EIO);
  return inner_->head(key);
}

std::vector<ObjectInfo> FaultyStorage::list(const std::string& prefix) {
  if (const StorageFaultRule* rule = decide(Op::kList, prefix)) fail_injected(*rule, verb(Op::kList), prefix, EIO);
  return inner_->list(prefix);
}

void FaultyStorage::remove(const std::string& key) {
  const StorageFaultRule* rule = decide(Op::kRemove, key);
  if (!rule) return inner_->remove(key);
  if (rule->fault == Fault::kFsync) inner_->remove(key);
  fail_injected(*rule, verb(Op::kRemove), key, EIO);
}

}  // namespace coffer
