#include "codec/delta.h"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "coffer/error.h"

namespace coffer {
namespace {

[[noreturn]] void damaged(const std::string& what) {
  fail(ErrorCategory::kDamaged, "delta payload is damaged: " + what + " (the object is corrupt; run `coffer verify`)");
}

struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// The window must reach from the end of the data back to the start of the base.
int window_log_for(size_t span) {
  int log = 10;  // ZSTD_WINDOWLOG_MIN (static-linking-only in zstd.h)
  while (log < 30 && (size_t{1} << log) < span) ++log;
  return log;
}

// Bases and chunks are at most 64 MiB each (the chunker's limit): the decoder allows that window
// and no more, so a hostile frame cannot ask for gigabytes.
constexpr int kMaxWindowLog = 27;

}  // namespace

Bytes encode_delta_payload(int level, ByteView base, ByteView data) {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> cctx(ZSTD_createCCtx());
  if (!cctx) fail(ErrorCategory::kInternal, "zstd: out of memory creating a compression context");
  ZSTD_CCtx* c = cctx.get();
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, std::clamp(level, 1, 19));
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, std::min(kMaxWindowLog, window_log_for(base.size() + data.size())));
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
  // Large bases (file-sized, not row-sized): the level's hash tables cover only part of the
  // window; long-distance matching finds the rest, as `zstd --patch-from` does.
  if (base.size() > (1u << 20)) ZSTD_CCtx_setParameter(c, ZSTD_c_enableLongDistanceMatching, 1);
  size_t rc = ZSTD_CCtx_refPrefix(c, base.data(), base.size());
  if (ZSTD_isError(rc)) fail(ErrorCategory::kInternal, std::string("zstd: ") + ZSTD_getErrorName(rc));
  Bytes out(1 + ZSTD_compressBound(data.size()));
  out[0] = kDeltaCodecId;
  size_t n = ZSTD_compress2(c, out.data() + 1, out.size() - 1, data.data(), data.size());
  if (ZSTD_isError(n)) fail(ErrorCategory::kInternal, std::string("zstd delta compression failed: ") + ZSTD_getErrorName(n));
  out.resize(1 + n);
  return out;
}

bool is_delta_payload(ByteView encoded) { return !encoded.empty() && encoded[0] == kDeltaCodecId; }

Bytes decode_delta_payload(ByteView encoded, ByteView base, size_t max_size) {
  if (!is_delta_payload(encoded)) damaged("not a delta payload");
  ByteView frame = encoded.subspan(1);
  size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size)) damaged(std::string("zstd: ") + ZSTD_getErrorName(frame_size));
  if (frame_size != frame.size()) damaged("trailing bytes after its frame");
  unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) damaged("frame has no content size");
  if (content > max_size)
    damaged("decompresses to " + std::to_string(content) + " bytes, more than the allowed " + std::to_string(max_size));

  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> dctx(ZSTD_createDCtx());
  if (!dctx) fail(ErrorCategory::kInternal, "zstd: out of memory creating a decompression context");
  ZSTD_DCtx* d = dctx.get();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, kMaxWindowLog);
  size_t rc = ZSTD_DCtx_refPrefix(d, base.data(), base.size());
  if (ZSTD_isError(rc)) fail(ErrorCategory::kInternal, std::string("zstd: ") + ZSTD_getErrorName(rc));
  Bytes out(static_cast<size_t>(content));
  size_t n = ZSTD_decompressDCtx(d, out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) damaged(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != content) damaged("frame is shorter than its declared size");
  return out;
}

}  // namespace coffer
