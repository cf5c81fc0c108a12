// Row counts per table, read from pg_dump's custom-format stream as it passes by, so a backup
// need not run count(*) on every table (a second full scan competing with the dump).
//
// In a custom archive each TABLE DATA entry's data block is the table's COPY text: one line per
// row, newlines inside values escaped, then COPY's end marker "\.\n\n\n" (which pg_dump writes
// into the data too, and which is not counted). ArchiveRowCounter is a push parser: feed() it the stream
// in pieces of any size; it buffers only the header and table of contents, then walks the data
// blocks in O(1) memory, counting '\n' in TABLE DATA payloads. It counts nothing it does not
// fully understand: another format version, a compressed archive or an unexpected block stops
// it (so does table data without its end marker, or dumped as INSERT statements), and
// understood() turns false with a reason: the caller falls back to count(*).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "source/postgres/pg_archive_format.h"
#include "util/bytes.h"

namespace coffer::pg {

class ArchiveRowCounter {
 public:
  using TableName = std::pair<std::string, std::string>;  // (schema, table), unquoted

  void feed(ByteView bytes);
  // The stream has ended. Returns complete().
  bool finish();

  // Everything fed so far was parsed: custom format 1.12-1.15, uncompressed, known blocks.
  bool understood() const { return understood_; }
  // finish() was called, everything was understood, the stream ended at a block boundary and
  // every entry the table of contents promised data for had its data block.
  bool complete() const { return complete_; }
  // Why not understood(), or (after finish()) why not complete().
  const std::string& reason() const { return reason_; }
  // Rows of every TABLE DATA entry whose data block was seen (so far: while the table of
  // contents arrives in small pieces, parsing may lag a few KiB behind until finish()).
  const std::map<TableName, uint64_t>& rows() const { return rows_; }
  // Where each data block starts in the stream (its block-type byte), by dump id: lets a restore
  // read one table's data without the rest.
  const std::map<int64_t, uint64_t>& block_offsets() const { return block_offsets_; }

 private:
  struct Entry {
    bool expects_data = false;  // offset flag says the entry has a data block
    bool seen = false;          // its data block was read
    bool table_data = false;    // desc "TABLE DATA": count its rows
    TableName table;
  };
  // Where the data-block walk is: the next byte belongs to this field.
  enum class Step : uint8_t { kBlockType, kBlockId, kDataLen, kBlobOid, kBlobLen, kPayload };

  void parse_pending();
  size_t parse_header_and_toc();  // from pending_; returns the bytes consumed
  void walk_data(const uint8_t* p, const uint8_t* end, uint64_t stream_pos);
  void count_rows(const uint8_t* p, size_t n);
  void end_table_data();
  void on_int(int64_t value);
  void start_block(int64_t dump_id);
  void fail(std::string why);

  bool understood_ = true, complete_ = false, finished_ = false;
  std::string reason_;
  std::map<TableName, uint64_t> rows_;
  std::map<int64_t, uint64_t> block_offsets_;
  uint64_t fed_ = 0;           // bytes fed so far
  uint64_t block_start_ = 0;   // stream offset of the block being started
  std::unordered_map<int64_t, Entry> entries_;  // by dump id

  // Header and table of contents, until parsed.
  bool in_toc_ = false, in_data_ = false;
  int vmin_ = 0;
  int int_size_ = 4;
  int64_t toc_left_ = 0;
  Bytes pending_;
  size_t need_ = 0;      // the item being parsed needs pending_ to hold this many bytes
  size_t retry_at_ = 0;  // parse again once pending_ holds this many bytes

  // Data blocks.
  Step step_ = Step::kBlockType;
  Step after_payload_ = Step::kDataLen;
  int block_type_ = 0;
  uint64_t payload_left_ = 0;
  uint64_t* counting_ = nullptr;  // rows_ entry of the TABLE DATA block being read
  uint64_t tail_ = 0;             // its last 8 payload bytes, the latest lowest
  uint64_t table_bytes_ = 0;      // its payload bytes so far
  archive::SplitInt int_;          // an integer split across feeds
};

}  // namespace coffer::pg
