// PostgreSQL's data page checksum (FNV-1a based, 32 lanes; storage/checksum_impl.h), so a
// physical backup can report a damaged page instead of silently copying it. The same numbers as
// the server computes, checked against pages of a real cluster in the integration tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "util/byte_source.h"
#include "util/bytes.h"

namespace coffer::pg::physical {

inline constexpr size_t kPageBytes = 8192;  // BLCKSZ (coffer supports the default only)

// The checksum of `page` (kPageBytes) as block `block` of its relation file (the block number
// counts across the file's 1 GiB segments: segment * 131072 + block in the segment).
uint16_t page_checksum(ByteView page, uint32_t block);

// What a page's header says: its LSN, stored checksum and whether it is new (pd_upper == 0: never
// initialised, nothing to check).
struct PageHeader {
  uint64_t lsn = 0;
  uint16_t checksum = 0;
  bool is_new = false;
};
PageHeader page_header(ByteView page);

// Whether `page` fails its checksum. Pages that cannot be judged pass: new pages, and pages with
// an LSN at or after `backup_start_lsn` (written while the backup read them, possibly half
// copied; WAL replay rewrites them).
bool page_checksum_fails(ByteView page, uint32_t block, uint64_t backup_start_lsn);

}  // namespace coffer::pg::physical

namespace coffer::pg::physical {

// Reads a relation file through, checking each whole page as it passes (page_checksum_fails);
// `on_bad_page` gets each failing block number (counted across the relation's segments from
// `first_block`). A short last page is not checked.
class PageCheckingSource : public ByteSource {
 public:
  PageCheckingSource(ByteSource& inner, uint32_t first_block, uint64_t backup_start_lsn,
                     std::function<void(uint32_t block)> on_bad_page)
      : inner_(inner), block_(first_block), start_lsn_(backup_start_lsn), on_bad_page_(std::move(on_bad_page)) {}
  size_t read(uint8_t* buf, size_t n) override;

 private:
  ByteSource& inner_;
  uint32_t block_;
  uint64_t start_lsn_;
  std::function<void(uint32_t)> on_bad_page_;
  Bytes partial_;  // the start of a page split across reads
};

}  // namespace coffer::pg::physical
