#include "repo/file_entry.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "util/bytes.h"

namespace coffer::files {
namespace {

using nlohmann::json;

FileEntry sample_file(const std::string& path) {
  FileEntry e;
  e.path = path;
  e.type = EntryType::kFile;
  e.mode = 0644;
  e.uid = 1000;
  e.gid = 100;
  e.mtime_ns = 1'700'000'000'123'456'789;
  e.ctime_ns = -5;  // before 1970: must survive too
  e.inode = 0xffff'ffff'ffff'fff0ull;
  e.dev = 2049;
  ChunkRef a, b;
  a.id.fill(0xab);
  a.size = 1000;
  b.id.fill(0x01);
  b.size = 234;
  e.chunks = {a, b};
  e.size = 1234;
  return e;
}

// Serializes through text, as a tree stream does.
FileEntry round_trip(const FileEntry& e) { return from_json(json::parse(to_json(e).dump())); }

void expect_same(const FileEntry& a, const FileEntry& b) {
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.mtime_ns, b.mtime_ns);
  EXPECT_EQ(a.ctime_ns, b.ctime_ns);
  EXPECT_EQ(a.inode, b.inode);
  EXPECT_EQ(a.dev, b.dev);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.link_target, b.link_target);
  EXPECT_EQ(a.hardlink_target, b.hardlink_target);
  EXPECT_EQ(a.chunks, b.chunks);
}

// Expects from_json to refuse `j` as damaged, with `needle` in the message.
void expect_damaged(const json& j, const std::string& needle) {
  try {
    from_json(j);
    ADD_FAILURE() << "accepted: " << j.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kDamaged) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FileEntryJson, RoundTripsEveryType) {
  expect_same(sample_file("uploads/a.txt"), round_trip(sample_file("uploads/a.txt")));

  FileEntry dir;
  dir.path = "uploads";
  dir.type = EntryType::kDirectory;
  dir.mode = 07755;
  expect_same(dir, round_trip(dir));

  FileEntry link;
  link.path = "uploads/l";
  link.type = EntryType::kSymlink;
  link.link_target = "../../etc/passwd";  // verbatim: symlink targets may point anywhere
  expect_same(link, round_trip(link));

  FileEntry hard;
  hard.path = "uploads/h";
  hard.type = EntryType::kHardlink;
  hard.hardlink_target = "uploads/a.txt";
  hard.size = 1234;
  expect_same(hard, round_trip(hard));

  FileEntry empty = sample_file("uploads/empty");
  empty.chunks.clear();
  empty.size = 0;
  expect_same(empty, round_trip(empty));
}

TEST(FileEntryJson, RoundTripsUnusualNames) {
  const std::vector<std::string> names = {
      "with space",        "ünïcødé 日本語 🎉", "new\nline",        "tab\tand\rcr",
      "quote\"back\\slash", "bad\xff\xfe utf8",   "overlong\xc0\xaf", "surrogate\xed\xa0\x80",
      "truncated\xe6\x97"};
  for (const std::string& name : names) {
    FileEntry e = sample_file("root/" + name);
    FileEntry link;
    link.path = "root/" + name + ".lnk";
    link.type = EntryType::kSymlink;
    link.link_target = "target " + name;
    FileEntry hard;
    hard.path = "root/" + name + ".hl";
    hard.type = EntryType::kHardlink;
    hard.hardlink_target = e.path;
    for (const FileEntry& original : {e, link, hard}) {
      std::string text;
      ASSERT_NO_THROW(text = to_json(original).dump()) << name;
      expect_same(original, from_json(json::parse(text)));
    }
  }
}

TEST(FileEntryJson, InvalidUtf8IsHexEncodedUnderAnotherKey) {
  const json j = to_json(sample_file(std::string("r/\xff")));
  EXPECT_FALSE(j.contains("p"));
  EXPECT_EQ(j.at("p_hex"), "722fff");
  const json ok = to_json(sample_file("r/é"));
  EXPECT_EQ(ok.at("p"), "r/é");
  EXPECT_FALSE(ok.contains("p_hex"));
}

TEST(FileEntryJson, SafeRelativePaths) {
  const std::vector<std::string> good = {"a", "a/b", "a/b c/d", "a/.hidden", "a/..b", "a/b..", "a/...", "é/\n"};
  for (const std::string& ok : good) {
    EXPECT_TRUE(is_safe_relative_path(ok)) << ok;
  }
  const std::vector<std::string> bad_paths = {
      "", "/", "/etc/passwd", ".", "..", "../x", "a/../../b", "a/..", "./a", "a/./b", "a//b", "a/",
      "//a", std::string("a\0b", 3), std::string(70000, 'x')};
  for (const std::string& bad : bad_paths) {
    EXPECT_FALSE(is_safe_relative_path(bad)) << bad;
  }
}

TEST(FileEntryJson, RejectsHostilePaths) {
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "a//b", "a/", "", ".", "a/."}) {
    json j = to_json(sample_file("a/b"));
    j["p"] = bad;
    expect_damaged(j, "unsafe path");
  }
  // The same via hex, where a NUL byte can be smuggled in.
  json j = to_json(sample_file("a/b"));
  j.erase("p");
  j["p_hex"] = "610062";  // "a\0b"
  expect_damaged(j, "unsafe path");
  j["p_hex"] = "2f6574632f706173737764";  // "/etc/passwd"
  expect_damaged(j, "unsafe path");
  j["p_hex"] = "zz";
  expect_damaged(j, "not valid hex");
  j["p"] = "a/b";
  j["p_hex"] = "61";
  expect_damaged(j, "both");

  FileEntry hard;
  hard.path = "a/h";
  hard.type = EntryType::kHardlink;
  hard.hardlink_target = "a/x";
  json h = to_json(hard);
  h["ht"] = "../../outside";
  expect_damaged(h, "hard link target");
  h["ht"] = "a/h";
  expect_damaged(h, "itself");
  h.erase("ht");
  expect_damaged(h, "without a target");
}

TEST(FileEntryJson, RejectsSizesNotMatchingChunks) {
  json j = to_json(sample_file("a/b"));
  j["s"] = 1233;
  expect_damaged(j, "more than the file size");
  j["s"] = 1235;
  expect_damaged(j, "add up to 1234");
  j["s"] = 0;
  expect_damaged(j, "more than the file size");

  // A chunk size of zero, or beyond anything the chunker produces.
  json z = to_json(sample_file("a/b"));
  z["c"][0][1] = 0;
  expect_damaged(z, "impossible size");
  z["c"][0][1] = 1ull << 32;
  expect_damaged(z, "impossible size");
  z["c"][0][1] = -1000;
  expect_damaged(z, "impossible size");

  // Huge counts: 100,000 one-byte chunks claimed for a small file; a size beyond any disk.
  json many = to_json(sample_file("a/b"));
  many["c"] = json::array();
  const std::string id(64, 'a');
  for (int i = 0; i < 100'000; ++i) many["c"].push_back(json::array({id, 1}));
  expect_damaged(many, "more than the file size");
  json huge = to_json(sample_file("a/b"));
  huge["s"] = std::numeric_limits<uint64_t>::max();
  expect_damaged(huge, "\"s\" is out of range");
}

TEST(FileEntryJson, RejectsWrongTypesAndMissingFields) {
  const json good = to_json(sample_file("a/b"));
  EXPECT_NO_THROW(from_json(good));
  expect_damaged(json::array(), "not a JSON object");
  expect_damaged(json("a/b"), "not a JSON object");

  for (const char* key : {"p", "t", "m", "u", "g", "mt", "ct", "ino", "dev", "s", "c"}) {
    json j = good;
    j.erase(key);
    expect_damaged(j, std::string("missing \"") + key + "\"");
  }
  struct Case {
    const char* key;
    json value;
    const char* needle;
  };
  const Case cases[] = {
      {"p", 5, "not a string"},
      {"t", "x", "unknown type"},
      {"t", 1, "not a string"},
      {"m", "0644", "not an integer"},
      {"m", 0644.5, "not an integer"},
      {"m", 010000, "out of range"},
      {"m", -1, "negative"},
      {"u", 1ull << 32, "out of range"},
      {"g", true, "not an integer"},
      {"mt", 1.5, "not an integer"},
      {"mt", std::numeric_limits<uint64_t>::max(), "out of range"},
      {"s", nullptr, "not an integer"},
      {"c", json::object(), "not an array"},
      {"c", json::array({json::array({"ab", 1234})}), "bad id"},
      {"c", json::array({json::array({std::string(64, 'g'), 1234})}), "bad id"},
      {"c", json::array({json::array({std::string(64, 'a')})}), "pair"},
      {"c", json::array({json::array({std::string(64, 'a'), "1234"})}), "pair"},
      {"c", json::array({5}), "pair"},
  };
  for (const Case& c : cases) {
    json j = good;
    j[c.key] = c.value;
    expect_damaged(j, c.needle);
  }

  // Fields that belong to other types.
  json dir = good;
  dir["t"] = "d";
  expect_damaged(dir, "not a regular file");
  dir.erase("c");
  EXPECT_EQ(from_json(dir).type, EntryType::kDirectory);
  dir["lt"] = "x";
  expect_damaged(dir, "not a symlink");
  dir.erase("lt");
  dir["ht"] = "a/c";
  expect_damaged(dir, "not a hard link");

  json link = dir;
  link.erase("ht");
  link["t"] = "l";
  expect_damaged(link, "symlink without a target");
  link["lt"] = "";
  expect_damaged(link, "symlink without a target");
  link.erase("lt");
  link["lt_hex"] = "610062";
  expect_damaged(link, "contains NUL");
  link["lt_hex"] = to_hex(as_bytes(std::string(5000, 'x')));
  expect_damaged(link, "too long");
}

TEST(FileEntryJson, ErrorsNameTheEntryPrintably) {
  json j = to_json(sample_file("a/evil\nname"));
  j["m"] = 99999;
  expect_damaged(j, "a/evil\\x0aname");
}

TEST(FileEntryJson, IgnoresUnknownKeys) {
  json j = to_json(sample_file("a/b"));
  j["future_field"] = json::array({1, 2});
  expect_same(sample_file("a/b"), from_json(j));
}

}  // namespace
}  // namespace coffer::files
