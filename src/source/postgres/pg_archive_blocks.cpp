#include "source/postgres/pg_archive_blocks.h"

#include <algorithm>
#include <string>

#include "source/postgres/pg_archive_format.h"

namespace coffer::pg {

using archive::Unparseable;

void BlockReader::on_int(int64_t value) {
  switch (step_) {
    case Step::kId:
      if (value != dump_id_)
        throw Unparseable("expected the data block of dump id " + std::to_string(dump_id_) + ", found dump id " +
                          std::to_string(value));
      step_ = blobs_ ? Step::kBlobOid : Step::kLen;
      break;
    case Step::kLen:
      if (value < 0) throw Unparseable("negative length in the data block of dump id " + std::to_string(dump_id_));
      if (value > 0) {
        payload_left_ = static_cast<uint64_t>(value);
        step_ = Step::kPayload;
      } else if (blobs_) {
        sink_.blob_end();
        step_ = Step::kBlobOid;
      } else {
        step_ = Step::kDone;
      }
      break;
    case Step::kBlobOid:
      if (value == 0) {
        step_ = Step::kDone;
      } else {
        sink_.blob_begin(static_cast<uint32_t>(value));  // a negative int is an oid above 2^31
        step_ = Step::kLen;
      }
      break;
    default:
      break;
  }
}

void BlockReader::feed(ByteView bytes) {
  const uint8_t* p = bytes.data();
  const uint8_t* end = p + bytes.size();
  while (p < end) {
    switch (step_) {
      case Step::kDone:
        throw Unparseable("bytes after the end of the data block of dump id " + std::to_string(dump_id_));
      case Step::kType:
        if (*p != archive::kBlockData && *p != archive::kBlockBlobs)
          throw Unparseable("no data block starts where dump id " + std::to_string(dump_id_) + "'s should (type " +
                            std::to_string(*p) + ")");
        blobs_ = *p == archive::kBlockBlobs;
        ++p;
        step_ = Step::kId;
        break;
      case Step::kPayload: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, static_cast<uint64_t>(end - p)));
        sink_.data(ByteView(p, take));
        p += take;
        payload_left_ -= take;
        if (payload_left_ == 0) step_ = Step::kLen;
        break;
      }
      default: {
        int64_t value;
        auto got = int_.take(p, end, int_size_, value);
        if (got == archive::SplitInt::Got::kOutOfRange)
          throw Unparseable("an integer in the data block of dump id " + std::to_string(dump_id_) + " is out of range");
        if (got == archive::SplitInt::Got::kValue) on_int(value);
        break;
      }
    }
  }
}

}  // namespace coffer::pg
