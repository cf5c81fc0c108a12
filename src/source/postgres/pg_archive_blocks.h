// One data block of a custom-format archive, without its framing. pg_dump writes a block as
// its type (data or large objects), its dump id, then the payload in length-prefixed pieces
// (one per row for table data) ended by a zero length; a large-objects block repeats
// (oid, pieces) and ends with oid 0. BlockReader is a push parser: feed() it the block in pieces
// of any size and it hands the payload on: a table's COPY text as it would be in a
// directory-format archive's "<dump id>.dat", or the large objects one by one.
#pragma once

#include <cstdint>

#include "source/postgres/pg_archive_format.h"
#include "util/bytes.h"

namespace coffer::pg {

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  virtual void data(ByteView bytes) = 0;   // payload, in order
  virtual void blob_begin(uint32_t oid) { (void)oid; }  // large objects: the payload that follows is this one's
  virtual void blob_end() {}
};

class BlockReader {
 public:
  // `int_size` from the archive's header; the block must belong to `dump_id`.
  BlockReader(int int_size, int64_t dump_id, BlockSink& sink) : int_size_(int_size), dump_id_(dump_id), sink_(sink) {}
  // Throws archive::Unparseable on another block type, another dump id, a negative length, or
  // bytes after the block's end.
  void feed(ByteView bytes);
  // The block's end (its final zero) was read.
  bool done() const { return step_ == Step::kDone; }

 private:
  enum class Step : uint8_t { kType, kId, kLen, kPayload, kBlobOid, kDone };
  void on_int(int64_t value);

  const int int_size_;
  const int64_t dump_id_;
  BlockSink& sink_;
  Step step_ = Step::kType;
  bool blobs_ = false;
  uint64_t payload_left_ = 0;
  archive::SplitInt int_;
};

}  // namespace coffer::pg
