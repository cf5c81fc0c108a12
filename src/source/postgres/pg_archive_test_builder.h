// Test support: custom-format archives built by hand, the way pg_dump writes them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/bytes.h"

namespace coffer::pg {

// Writes a custom-format archive the way pg_dump does, small enough to build by hand.
class ArchiveBuilder {
 public:
  explicit ArchiveBuilder(int vmin = 14, int compression = 0) {
    for (char c : std::string("PGDMP")) out.push_back(static_cast<uint8_t>(c));
    out.insert(out.end(), {1, static_cast<uint8_t>(vmin), 0, 4, 8, 1});
    if (vmin >= 15)
      out.push_back(static_cast<uint8_t>(compression));
    else
      write_int(compression);
    for (int v : {5, 4, 3, 2, 1, 124, 0}) write_int(v);  // creation time
    write_str("db");
    write_str("15.18");
    write_str("15.18");
    vmin_ = vmin;
  }
  void write_int(int64_t v) {
    out.push_back(v < 0 ? 1 : 0);
    uint64_t m = static_cast<uint64_t>(v < 0 ? -v : v);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(m >> (8 * i)));
  }
  void write_str(const std::string& s) {
    write_int(static_cast<int64_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void write_null() { write_int(-1); }

  struct Entry {
    int id;
    std::string desc, schema, tag;
    bool has_data;
    bool as_inserts = false;  // pg_dump --inserts: no COPY statement
    std::vector<std::string> deps = {"7"};
    int section = 0;  // 0: data (3) for entries with data, else pre-data (2)
  };
  void toc(const std::vector<Entry>& entries) {
    write_int(static_cast<int64_t>(entries.size()));
    for (const Entry& e : entries) {
      write_int(e.id);
      write_int(e.has_data);
      write_str("1259");
      write_str("16384");
      write_str(e.tag);
      write_str(e.desc);
      write_int(e.section ? e.section : e.has_data ? 3 : 2);
      write_str("");                  // defn
      write_str("");                  // drop
      write_str(e.desc == "TABLE DATA" && !e.as_inserts ? "COPY x FROM stdin;\n" : "");
      write_str(e.schema);
      write_str("");
      if (vmin_ >= 14) write_str("heap");
      write_str("owner");
      write_str("false");
      for (const std::string& dep : e.deps) write_str(dep);
      write_null();
      out.push_back(e.has_data ? 1 : 3);  // offset not set / no data
      for (int i = 0; i < 8; ++i) out.push_back(0);
    }
  }
  void data_block(int id, const std::vector<std::string>& pieces) {
    starts[id] = out.size();
    out.push_back(1);
    write_int(id);
    for (const auto& p : pieces) write_str(p);
    write_int(0);
  }
  // A table's COPY text: the rows, one piece each as pg_dump writes them, then the end marker.
  void table_block(int id, std::vector<std::string> rows) {
    rows.push_back("\\.\n\n\n");
    data_block(id, rows);
  }
  void blobs_block(int id, const std::vector<std::pair<int64_t, std::string>>& blobs) {
    starts[id] = out.size();
    out.push_back(3);
    write_int(id);
    for (const auto& [oid, bytes] : blobs) {
      write_int(oid);
      write_str(bytes);
      write_int(0);
    }
    write_int(0);
  }

  Bytes out;
  std::map<int64_t, uint64_t> starts;  // dump id -> offset of its data block

 private:
  int vmin_;
};

// Two tables, a large object with newlines, an entry without data, and optionally a table of
// `many` rows (enough to stream the data in small pieces once the table of contents is parsed).
inline ArchiveBuilder valid_archive(int vmin = 14, int many = 0) {
  ArchiveBuilder b(vmin);
  b.toc({{1, "TABLE", "public", "a", false},
         {2, "TABLE DATA", "public", "a", true},
         {3, "TABLE DATA", "odd schema", "B \"x\"", true},
         {4, "BLOBS", "", "BLOBS", true},
         {5, "TABLE DATA", "public", "many", true}});
  b.table_block(2, {"1\tx\\ny\n", "2\t\\N\n", "3\t\\\\.\n"});
  b.table_block(3, {});
  b.blobs_block(4, {{16385, "a\nb\nc\n"}, {-1294967296, "\n"}});
  b.table_block(5, std::vector<std::string>(static_cast<size_t>(many), "row\n"));
  return b;
}

}  // namespace coffer::pg
