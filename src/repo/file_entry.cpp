#include "repo/file_entry.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "util/bytes.h"

namespace coffer::files {

namespace {

using nlohmann::json;

// Limits that no real entry reaches; anything beyond is a damaged or hostile manifest.
constexpr uint64_t kMaxFileSize = uint64_t{1} << 62;
constexpr uint64_t kMaxChunkSize = 64ull * 1024 * 1024;  // the chunker's own upper bound
constexpr size_t kMaxPathLength = 64 * 1024;
constexpr size_t kMaxLinkTargetLength = 4095;             // PATH_MAX - 1

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): exactly what
// nlohmann's dump() accepts without throwing.
bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

void put_string(json& j, const std::string& key, const std::string& value) {
  if (is_valid_utf8(value)) {
    j[key] = value;
  } else {
    j[key + "_hex"] = to_hex(as_bytes(value));
  }
}

const char* type_code(EntryType t) {
  switch (t) {
    case EntryType::kDirectory: return "d";
    case EntryType::kFile: return "f";
    case EntryType::kSymlink: return "l";
    case EntryType::kHardlink: return "h";
  }
  return "?";
}

// Reads fields of one JSON entry, naming the entry in every error.
class EntryReader {
 public:
  explicit EntryReader(const json& j) : j_(j) {}

  [[noreturn]] void damaged(const std::string& problem) const {
    std::string what = name_.empty() ? "a tree entry" : "tree entry \"" + display_path(name_) + "\"";
    fail(ErrorCategory::kDamaged,
         "damaged file list in backup: " + what + ": " + problem +
             " (the backup is corrupt or was tampered with; restore from another backup)");
  }

  void set_name(const std::string& name) { name_ = name; }

  bool has(const std::string& key) const { return j_.contains(key); }

  // A string stored either as `key` (UTF-8) or `key_hex` (hex of raw bytes), never both.
  std::optional<std::string> optional_string(const std::string& key) const {
    const std::string hex_key = key + "_hex";
    const auto plain = j_.find(key);
    const auto hex = j_.find(hex_key);
    if (plain != j_.end() && hex != j_.end()) damaged("both \"" + key + "\" and \"" + hex_key + "\"");
    if (plain != j_.end()) {
      if (!plain->is_string()) damaged("\"" + key + "\" is not a string");
      return plain->get<std::string>();
    }
    if (hex != j_.end()) {
      if (!hex->is_string()) damaged("\"" + hex_key + "\" is not a string");
      try {
        return to_string(from_hex(hex->get_ref<const std::string&>()));
      } catch (const Error&) {
        damaged("\"" + hex_key + "\" is not valid hex");
      }
    }
    return std::nullopt;
  }

  std::string string(const std::string& key) const {
    auto v = optional_string(key);
    if (!v) damaged("missing \"" + key + "\"");
    return *v;
  }

  uint64_t unsigned_number(const std::string& key, uint64_t max) const {
    const json& v = field(key);
    uint64_t out;
    if (v.is_number_unsigned()) {
      out = v.get<uint64_t>();
    } else if (v.is_number_integer()) {
      const auto s = v.get<int64_t>();
      if (s < 0) damaged("\"" + key + "\" is negative");
      out = static_cast<uint64_t>(s);
    } else {
      damaged("\"" + key + "\" is not an integer");
    }
    if (out > max) damaged("\"" + key + "\" is out of range (" + std::to_string(out) + ")");
    return out;
  }

  int64_t signed_number(const std::string& key) const {
    const json& v = field(key);
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        damaged("\"" + key + "\" is out of range");
      }
      return static_cast<int64_t>(u);
    }
    if (!v.is_number_integer()) damaged("\"" + key + "\" is not an integer");
    return v.get<int64_t>();
  }

  const json& field(const std::string& key) const {
    const auto it = j_.find(key);
    if (it == j_.end()) damaged("missing \"" + key + "\"");
    return *it;
  }

 private:
  const json& j_;
  std::string name_;
};

EntryType parse_type(const EntryReader& r, const json& v) {
  if (!v.is_string()) r.damaged("\"t\" is not a string");
  const auto& s = v.get_ref<const std::string&>();
  if (s == "d") return EntryType::kDirectory;
  if (s == "f") return EntryType::kFile;
  if (s == "l") return EntryType::kSymlink;
  if (s == "h") return EntryType::kHardlink;
  r.damaged("unknown type \"" + display_path(s) + "\"");
}

std::vector<ChunkRef> parse_chunks(const EntryReader& r, const json& v, uint64_t size) {
  if (!v.is_array()) r.damaged("\"c\" is not an array");
  std::vector<ChunkRef> chunks;
  chunks.reserve(std::min<size_t>(v.size(), 1 << 20));
  uint64_t total = 0;
  for (const json& item : v) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() ||
        !item[1].is_number_integer()) {
      r.damaged("chunk " + std::to_string(chunks.size()) + " is not a [hex id, size] pair");
    }
    const auto& hex = item[0].get_ref<const std::string&>();
    if (hex.size() != 64) r.damaged("chunk " + std::to_string(chunks.size()) + " has a bad id");
    ChunkRef ref;
    try {
      const Bytes id = from_hex(hex);
      std::copy(id.begin(), id.end(), ref.id.begin());
    } catch (const Error&) {
      r.damaged("chunk " + std::to_string(chunks.size()) + " has a bad id");
    }
    const bool negative = !item[1].is_number_unsigned() && item[1].get<int64_t>() < 0;
    const uint64_t chunk_size = negative ? 0 : item[1].get<uint64_t>();
    if (chunk_size == 0 || chunk_size > kMaxChunkSize) {
      r.damaged("chunk " + std::to_string(chunks.size()) + " has an impossible size");
    }
    ref.size = static_cast<uint32_t>(chunk_size);
    total += chunk_size;  // cannot overflow: checked against size (<= 2^62) every step
    if (total > size) r.damaged("chunk sizes add up to more than the file size " + std::to_string(size));
    chunks.push_back(ref);
  }
  if (total != size) {
    r.damaged("chunk sizes add up to " + std::to_string(total) + ", not the file size " +
              std::to_string(size));
  }
  return chunks;
}

}  // namespace

bool is_safe_relative_path(const std::string& path) {
  if (path.empty() || path.size() > kMaxPathLength) return false;
  if (path.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view comp =
        std::string_view(path).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (comp.empty() || comp == "." || comp == "..") return false;  // also rejects "/x" and "x/"
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

nlohmann::json to_json(const FileEntry& e) {
  json j = json::object();
  put_string(j, "p", e.path);
  j["t"] = type_code(e.type);
  j["m"] = e.mode;
  j["u"] = e.uid;
  j["g"] = e.gid;
  j["mt"] = e.mtime_ns;
  j["ct"] = e.ctime_ns;
  j["ino"] = e.inode;
  j["dev"] = e.dev;
  j["s"] = e.size;
  if (e.type == EntryType::kSymlink) put_string(j, "lt", e.link_target);
  if (e.type == EntryType::kHardlink) put_string(j, "ht", e.hardlink_target);
  if (e.type == EntryType::kFile) {
    json chunks = json::array();
    for (const ChunkRef& c : e.chunks) chunks.push_back(json::array({to_hex(c.id), c.size}));
    j["c"] = std::move(chunks);
  }
  return j;
}

FileEntry from_json(const nlohmann::json& j) {
  EntryReader r(j);
  if (!j.is_object()) r.damaged("not a JSON object");
  FileEntry e;
  e.path = r.string("p");
  r.set_name(e.path);
  if (!is_safe_relative_path(e.path)) r.damaged("unsafe path (absolute, empty, \".\" or \"..\" parts)");
  e.type = parse_type(r, r.field("t"));
  e.mode = static_cast<uint32_t>(r.unsigned_number("m", 07777));
  e.uid = static_cast<uint32_t>(r.unsigned_number("u", std::numeric_limits<uint32_t>::max()));
  e.gid = static_cast<uint32_t>(r.unsigned_number("g", std::numeric_limits<uint32_t>::max()));
  e.mtime_ns = r.signed_number("mt");
  e.ctime_ns = r.signed_number("ct");
  e.inode = r.unsigned_number("ino", std::numeric_limits<uint64_t>::max());
  e.dev = r.unsigned_number("dev", std::numeric_limits<uint64_t>::max());
  e.size = r.unsigned_number("s", kMaxFileSize);

  const auto link_target = r.optional_string("lt");
  if (e.type == EntryType::kSymlink) {
    if (!link_target || link_target->empty()) r.damaged("symlink without a target");
    if (link_target->size() > kMaxLinkTargetLength) r.damaged("symlink target too long");
    if (link_target->find('\0') != std::string::npos) r.damaged("symlink target contains NUL");
    e.link_target = *link_target;
  } else if (link_target) {
    r.damaged("link target on an entry that is not a symlink");
  }

  const auto hardlink_target = r.optional_string("ht");
  if (e.type == EntryType::kHardlink) {
    if (!hardlink_target) r.damaged("hard link without a target");
    if (!is_safe_relative_path(*hardlink_target)) r.damaged("hard link target is an unsafe path");
    if (*hardlink_target == e.path) r.damaged("hard link to itself");
    e.hardlink_target = *hardlink_target;
  } else if (hardlink_target) {
    r.damaged("hard link target on an entry that is not a hard link");
  }

  if (e.type == EntryType::kFile) {
    e.chunks = parse_chunks(r, r.field("c"), e.size);
  } else if (r.has("c")) {
    r.damaged("content chunks on an entry that is not a regular file");
  }
  return e;
}

std::string display_path(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace coffer::files
