#include "source/postgres/pg_archive_rows.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "source/postgres/pg_archive_format.h"

namespace coffer::pg {
namespace {

using archive::kBlockBlobs;
using archive::kBlockData;
using archive::kOffsetNoData;
using archive::Unparseable;

constexpr size_t kRetryStep = 4096;       // header / TOC: bytes to wait for between parse tries

// COPY's end marker, which pg_dump writes after the rows: "\\.\n\n\n", as the low bytes of tail_.
constexpr uint64_t kEndMarker = 0x5c2e0a0a0aULL;
constexpr uint64_t kEndMarkerBytes = 5;
constexpr uint64_t kEndMarkerLines = 3;

uint64_t count_newlines(const uint8_t* p, size_t n) {
  uint64_t count = 0;
  const uint8_t* end = p + n;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (!hit) break;
    ++count;
    p = static_cast<const uint8_t*>(hit) + 1;
  }
  return count;
}

}  // namespace

void ArchiveRowCounter::fail(std::string why) {
  understood_ = false;
  reason_ = std::move(why);
  pending_ = Bytes();
  counting_ = nullptr;
}

void ArchiveRowCounter::feed(ByteView bytes) {
  if (!understood_ || finished_ || bytes.empty()) return;
  const uint64_t at = fed_;
  fed_ += bytes.size();
  if (in_data_) {
    walk_data(bytes.data(), bytes.data() + bytes.size(), at);
    return;
  }
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (pending_.size() >= retry_at_) parse_pending();
}

void ArchiveRowCounter::parse_pending() {
  size_t used;
  try {
    used = parse_header_and_toc();
  } catch (const Unparseable& e) {
    fail(e.what());
    return;
  }
  if (!in_data_) {
    // Keep only the unparsed rest; the next attempt starts at the item it stopped in. Try again
    // once the item can be complete, and not before a few KiB more came: in tiny pieces, a try
    // per piece would cost more than the parse.
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
    retry_at_ = std::max(need_ - used, pending_.size() + kRetryStep);
    return;
  }
  Bytes rest(pending_.begin() + static_cast<std::ptrdiff_t>(used), pending_.end());
  pending_ = Bytes();
  walk_data(rest.data(), rest.data() + rest.size(), fed_ - rest.size());
}

// Parses whole items (the header, then one table-of-contents entry at a time) from pending_,
// stopping at the first item not fully buffered. Mirrors ReadHead / ReadToc of pg_dump.
size_t ArchiveRowCounter::parse_header_and_toc() {
  archive::SpanReader r(pending_, /*partial=*/true);
  r.int_size = int_size_;
  size_t done = 0;
  try {
    if (!in_toc_) {
      const archive::Header h = archive::read_header(r);
      if (h.compression != 0)
        throw Unparseable("the archive is compressed (" + std::string(h.vmin >= 15 ? "algorithm " : "level ") +
                          std::to_string(h.compression) + "): its data blocks cannot be counted");
      vmin_ = h.vmin;
      toc_left_ = h.toc_entries;
      int_size_ = r.int_size;
      in_toc_ = true;
      done = r.pos();
    }
    for (; toc_left_ > 0; --toc_left_) {
      archive::TocEntry t = archive::read_toc_entry(r, vmin_);
      Entry e;
      e.expects_data = t.offset_flag != kOffsetNoData;
      e.table_data = t.desc && *t.desc == "TABLE DATA";
      if (e.table_data) e.table = {t.schema.value_or(""), t.tag.value_or("")};
      if (e.table_data && e.expects_data && (!t.copy_statement || t.copy_statement->empty()))
        throw Unparseable("the data of table " + e.table.first + "." + e.table.second +
                          " is dumped as INSERT statements, whose rows cannot be counted");
      if (!entries_.emplace(t.dump_id, std::move(e)).second)
        throw Unparseable("dump id " + std::to_string(t.dump_id) + " appears twice in the table of contents");
      done = r.pos();
    }
    in_data_ = true;
    need_ = 0;
  } catch (const archive::NeedMore& more) {
    need_ = more.need;
  }
  return done;
}

void ArchiveRowCounter::start_block(int64_t dump_id) {
  auto it = entries_.find(dump_id);
  if (it == entries_.end())
    return fail("a data block belongs to dump id " + std::to_string(dump_id) + ", which is not in the table of contents");
  Entry& e = it->second;
  if (e.seen) return fail("two data blocks for dump id " + std::to_string(dump_id));
  e.seen = true;
  block_offsets_[dump_id] = block_start_;
  if (e.table_data && block_type_ == kBlockData) {
    counting_ = &rows_[e.table];
    tail_ = 0;
    table_bytes_ = 0;
  }
}

void ArchiveRowCounter::count_rows(const uint8_t* p, size_t n) {
  *counting_ += count_newlines(p, n);
  for (size_t i = n > 8 ? n - 8 : 0; i < n; ++i) tail_ = (tail_ << 8) | p[i];
  table_bytes_ += n;
}

// The lines counted include the end marker's; check it is there, on a line of its own.
void ArchiveRowCounter::end_table_data() {
  bool marker = (tail_ & 0xff'ffff'ffffULL) == kEndMarker &&
                (table_bytes_ == kEndMarkerBytes || (table_bytes_ > kEndMarkerBytes && ((tail_ >> 40) & 0xff) == '\n'));
  if (!marker) return fail("a table's data does not end with COPY's end marker");
  *counting_ -= kEndMarkerLines;
  counting_ = nullptr;
}

// A data block (BLK_DATA): dump id, then pieces (length, bytes) ending with length 0.
// Large objects (BLK_BLOBS): dump id, then (oid, pieces ending with length 0)* ending with oid 0.
void ArchiveRowCounter::on_int(int64_t value) {
  switch (step_) {
    case Step::kBlockId:
      start_block(value);
      step_ = block_type_ == kBlockData ? Step::kDataLen : Step::kBlobOid;
      break;
    case Step::kDataLen:
    case Step::kBlobLen:
      if (value < 0) return fail("negative data length in a data block");
      if (value == 0) {
        step_ = step_ == Step::kDataLen ? Step::kBlockType : Step::kBlobOid;
        if (step_ == Step::kBlockType && counting_) end_table_data();
      } else {
        after_payload_ = step_;
        payload_left_ = static_cast<uint64_t>(value);
        step_ = Step::kPayload;
      }
      break;
    case Step::kBlobOid:
      step_ = value == 0 ? Step::kBlockType : Step::kBlobLen;
      break;
    case Step::kBlockType:
    case Step::kPayload:
      break;  // not integers
  }
}

void ArchiveRowCounter::walk_data(const uint8_t* p, const uint8_t* end, uint64_t stream_pos) {
  const uint8_t* begin = p;
  while (p < end && understood_) {
    if (step_ == Step::kPayload) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, static_cast<uint64_t>(end - p)));
      if (counting_) count_rows(p, take);
      p += take;
      payload_left_ -= take;
      if (payload_left_ == 0) step_ = after_payload_;
    } else if (step_ == Step::kBlockType) {
      block_start_ = stream_pos + static_cast<uint64_t>(p - begin);
      block_type_ = *p++;
      if (block_type_ != kBlockData && block_type_ != kBlockBlobs)
        return fail("unknown data block type " + std::to_string(block_type_));
      step_ = Step::kBlockId;
    } else {
      int64_t value;
      auto got = int_.take(p, end, int_size_, value);
      if (got == archive::SplitInt::Got::kOutOfRange) return fail("an integer in the data blocks is out of range");
      if (got == archive::SplitInt::Got::kValue) on_int(value);
    }
  }
}

bool ArchiveRowCounter::finish() {
  if (finished_) return complete_;
  finished_ = true;
  if (!understood_) return false;
  if (!in_data_ && !pending_.empty()) parse_pending();  // what arrived since the last try
  if (!understood_) return false;
  if (!in_data_) {
    reason_ = "the archive ends in its header or table of contents";
  } else if (step_ != Step::kBlockType) {
    reason_ = "the archive ends inside a data block";
  } else {
    for (const auto& [id, e] : entries_)
      if (e.expects_data && !e.seen) {
        reason_ = "the data block of dump id " + std::to_string(id) + " is missing";
        return false;
      }
    complete_ = true;
  }
  return complete_;
}

}  // namespace coffer::pg
