#include "source/postgres/pg_archive_directory.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "coffer/error.h"
#include "util/fd_io.h"

namespace coffer::pg {

using archive::Unparseable;

namespace {

void write_str(Bytes& out, const std::string& s, int int_size) {
  archive::write_int(out, static_cast<int64_t>(s.size()), int_size);
  out.insert(out.end(), s.begin(), s.end());
}

std::optional<int64_t> as_id(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// New dump ids for the entries, such that their order is the one pg_restore -j would pick for
// a seekable archive. It restores the ready items with the most data first (the table data,
// and the indexes and constraints of the largest tables), ties by dump id; the data sizes it
// reads from a directory archive are the files' sizes, which a pipe does not have. So the
// entries are numbered in that order instead: data size (inherited by post-data entries from
// the tables they depend on, as pg_restore's repoint_table_dependencies does) descending, then
// dump id. The same ids are used, only permuted. Without sizes: none are changed.
std::map<int64_t, int64_t> largest_first_ids(const std::vector<archive::TocEntry>& entries,
                                             const std::map<int64_t, uint64_t>& data_sizes) {
  std::map<int64_t, int64_t> renumber;
  if (data_sizes.empty()) return renumber;
  std::map<int64_t, uint64_t> table_size;  // table's dump id -> its data's size
  for (const archive::TocEntry& e : entries)
    if (e.desc == "TABLE DATA" && !e.deps.empty())
      if (auto table = as_id(e.deps.front()); table && data_sizes.count(e.dump_id))
        table_size[*table] = data_sizes.at(e.dump_id);
  std::vector<std::pair<uint64_t, int64_t>> order;  // (size, dump id)
  std::vector<int64_t> ids;
  for (const archive::TocEntry& e : entries) {
    uint64_t size = 0;
    if (auto it = data_sizes.find(e.dump_id); it != data_sizes.end()) {
      size = it->second;
    } else if (e.section == archive::kSectionPostData) {
      for (const std::string& dep : e.deps)
        if (auto id = as_id(dep); id && table_size.count(*id)) size = std::max(size, table_size.at(*id));
    }
    order.push_back({size, e.dump_id});
    ids.push_back(e.dump_id);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end())
    throw Unparseable("a dump id appears twice in the table of contents");
  for (size_t i = 0; i < order.size(); ++i) renumber[order[i].second] = ids[i];
  return renumber;
}

}  // namespace

DirectoryToc to_directory_toc(ByteView head, const std::map<int64_t, uint64_t>& data_sizes) {
  archive::SpanReader r(head);
  const archive::Header h = archive::read_header(r);
  if (h.compression != 0)
    throw Unparseable("the archive is compressed (" + std::string(h.vmin >= 15 ? "algorithm " : "level ") +
                      std::to_string(h.compression) + ")");
  if (h.toc_entries > 10'000'000) throw Unparseable("implausible entry count");
  const uint64_t entries_start = r.pos();
  std::vector<archive::TocEntry> entries;
  for (int64_t i = 0; i < h.toc_entries; ++i) entries.push_back(archive::read_toc_entry(r, h.vmin));
  const std::map<int64_t, int64_t> renumber = largest_first_ids(entries, data_sizes);
  auto new_id = [&](int64_t id) {
    auto it = renumber.find(id);
    return it == renumber.end() ? id : it->second;
  };

  DirectoryToc out;
  out.int_size = r.int_size;
  // The header as it is, but for the format byte; each entry as it is, but for its dump id, its
  // dependencies' ids and its format-specific part (a file name instead of the data offset).
  out.toc_dat.assign(head.begin(), head.begin() + static_cast<ptrdiff_t>(entries_start));
  out.toc_dat[archive::kFormatBytePos] = archive::kFormatDirectory;
  for (const archive::TocEntry& e : entries) {
    archive::write_int(out.toc_dat, new_id(e.dump_id), out.int_size);
    out.toc_dat.insert(out.toc_dat.end(), head.begin() + static_cast<ptrdiff_t>(e.after_id_pos),
                       head.begin() + static_cast<ptrdiff_t>(e.deps_pos));
    for (const std::string& dep : e.deps) {
      std::optional<int64_t> id = as_id(dep);
      write_str(out.toc_dat, id ? std::to_string(new_id(*id)) : dep, out.int_size);
    }
    archive::write_int(out.toc_dat, -1, out.int_size);  // the list's end: a null string
    std::string file;
    if (e.offset_flag != archive::kOffsetNoData) {
      const std::string desc = e.desc.value_or("");
      DirectoryEntry d;
      d.dump_id = e.dump_id;
      d.blobs = desc == "BLOBS";
      if (!d.blobs && desc != "TABLE DATA")
        throw Unparseable("entry " + std::to_string(e.dump_id) + " (" + desc + ") has data of a kind not known here");
      d.file = d.blobs ? "blobs.toc" : std::to_string(new_id(e.dump_id)) + ".dat";
      d.label = desc + " " + e.schema.value_or("") + (e.schema && !e.schema->empty() ? "." : "") + e.tag.value_or("");
      file = d.file;
      out.data.push_back(std::move(d));
    }
    write_str(out.toc_dat, file, out.int_size);
  }
  return out;
}

BlobFilesSink::~BlobFilesSink() {
  if (fd_ >= 0) ::close(fd_);
}

void BlobFilesSink::blob_begin(uint32_t oid) {
  std::string name = "blob_" + std::to_string(oid) + ".dat";
  path_ = dir_ + "/" + name;
  fd_ = create_new_file(path_);
  toc_ += std::to_string(oid) + " " + name + "\n";
}

void BlobFilesSink::data(ByteView bytes) {
  if (fd_ < 0) throw archive::Unparseable("large-object bytes outside a large object");
  write_all(fd_, bytes, path_);
  written_ += bytes.size();
}

void BlobFilesSink::blob_end() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  close_written(fd, path_);
}

void BlobFilesSink::finish() {
  write_new_file(dir_ + "/blobs.toc", as_bytes(toc_));
  written_ += toc_.size();
}

}  // namespace coffer::pg
