#include "codec/compression.h"

#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>

#include "codec/delta.h"
#include "coffer/error.h"

namespace coffer {

namespace {

constexpr size_t kLz4LengthPrefix = 4;
// zlib counts in uInt; feed it in pieces small enough to fit.
constexpr size_t kZlibStep = 1u << 30;

[[noreturn]] void damaged(const std::string& what) {
  fail(ErrorCategory::kDamaged,
       "compressed payload is damaged: " + what + " (the object is corrupt; run a repository check)");
}

[[noreturn]] void too_large(const char* codec, size_t max_size) {
  damaged(std::string(codec) + " payload decompresses to more than the allowed " +
          std::to_string(max_size) + " bytes");
}

int clamp_level(Codec c, int level) {
  auto [lo, hi] = level_range(c);
  return std::clamp(level, lo, hi);
}

// ---- zstd ----

struct DctxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};
struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// Frames written without a content size (e.g. by streaming tools): grow the output as we go,
// never past max_size. The caller has checked that `in` is exactly one frame.
Bytes zstd_decompress_streaming(ByteView in, size_t max_size) {
  std::unique_ptr<ZSTD_DCtx, DctxFree> dctx(ZSTD_createDCtx());
  if (!dctx) fail(ErrorCategory::kInternal, "zstd: out of memory creating a decompression context");
  const size_t limit = max_size < SIZE_MAX ? max_size + 1 : SIZE_MAX;  // +1 detects overflow
  Bytes out;
  size_t produced = 0;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= limit) too_large("zstd", max_size);
      size_t grow = std::max(ZSTD_DStreamOutSize(), out.size());
      out.resize(out.size() + std::min(grow, limit - out.size()));
    }
    ZSTD_outBuffer output{out.data(), out.size(), produced};
    size_t rc = ZSTD_decompressStream(dctx.get(), &output, &input);
    produced = output.pos;
    if (ZSTD_isError(rc)) damaged(std::string("zstd: ") + ZSTD_getErrorName(rc));
    if (rc == 0) break;  // frame complete
    // All input used and room left over, yet the frame is not complete: it was cut short.
    if (input.pos == input.size && produced < out.size()) damaged("zstd frame is truncated");
  }
  if (produced > max_size) too_large("zstd", max_size);
  out.resize(produced);
  return out;
}

Bytes zstd_decompress(ByteView in, size_t max_size) {
  // Exactly one frame and nothing after it.
  size_t frame_size = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame_size)) damaged(std::string("zstd: ") + ZSTD_getErrorName(frame_size));
  if (frame_size != in.size()) damaged("zstd payload has trailing bytes after its frame");

  unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) damaged("zstd frame header is invalid");
  if (content == ZSTD_CONTENTSIZE_UNKNOWN) return zstd_decompress_streaming(in, max_size);
  if (content > max_size) too_large("zstd", max_size);

  Bytes out(static_cast<size_t>(content));
  // One context per thread: creating one per call cost more than decompressing a 4 KiB chunk.
  thread_local std::unique_ptr<ZSTD_DCtx, DctxFree> dctx(ZSTD_createDCtx());
  if (!dctx) fail(ErrorCategory::kInternal, "zstd: out of memory creating a decompression context");
  size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) damaged(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != content) damaged("zstd frame is shorter than its declared size");
  return out;
}

// ---- gzip (zlib deflate with a gzip header) ----

constexpr int kGzipWindowBits = 15 + 16;

Bytes gzip_compress(ByteView data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fail(ErrorCategory::kInternal, "gzip: deflateInit2 failed");
  }
  Bytes out(deflateBound(&zs, static_cast<uLong>(data.size())));
  const uint8_t* src = data.data();
  size_t src_left = data.size();
  int rc = Z_OK;
  while (rc == Z_OK) {
    size_t in_now = std::min(src_left, kZlibStep);
    zs.next_in = const_cast<Bytef*>(src);
    zs.avail_in = static_cast<uInt>(in_now);
    if (zs.total_out == out.size()) out.resize(out.size() * 2);  // bound was too small
    size_t out_used = static_cast<size_t>(zs.total_out);
    zs.next_out = out.data() + out_used;
    zs.avail_out = static_cast<uInt>(std::min(out.size() - out_used, kZlibStep));
    rc = deflate(&zs, in_now == src_left ? Z_FINISH : Z_NO_FLUSH);
    size_t consumed = in_now - zs.avail_in;
    src += consumed;
    src_left -= consumed;
    if (rc == Z_BUF_ERROR) rc = Z_OK;  // no progress possible this round; loop grows output
  }
  size_t total = static_cast<size_t>(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) fail(ErrorCategory::kInternal, "gzip: deflate failed");
  out.resize(total);
  return out;
}

struct InflateGuard {
  z_stream* zs;
  ~InflateGuard() { inflateEnd(zs); }
};

Bytes gzip_decompress(ByteView in, size_t max_size) {
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    fail(ErrorCategory::kInternal, "gzip: inflateInit2 failed");
  }
  InflateGuard guard{&zs};
  const size_t limit = max_size < SIZE_MAX ? max_size + 1 : SIZE_MAX;  // +1 detects overflow
  Bytes out;
  size_t produced = 0;
  const uint8_t* src = in.data();
  size_t src_left = in.size();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (produced == out.size()) {
      if (out.size() >= limit) too_large("gzip", max_size);
      size_t grow = std::max<size_t>(64 * 1024, std::min(out.size(), in.size() * 4));
      out.resize(std::min(limit, out.size() + grow));
    }
    size_t in_now = std::min(src_left, kZlibStep);
    zs.next_in = const_cast<Bytef*>(src);
    zs.avail_in = static_cast<uInt>(in_now);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kZlibStep));
    uInt out_before = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    size_t consumed = in_now - zs.avail_in;
    src += consumed;
    src_left -= consumed;
    produced += out_before - zs.avail_out;
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
      damaged(std::string("gzip: ") + (zs.msg ? zs.msg : "invalid deflate data"));
    }
    if (rc == Z_MEM_ERROR) fail(ErrorCategory::kInternal, "gzip: out of memory while inflating");
    // All input handed over and output room left, yet the stream has not ended: cut short.
    if (rc != Z_STREAM_END && src_left == 0 && zs.avail_out > 0) damaged("gzip stream is truncated");
  }
  if (produced > max_size) too_large("gzip", max_size);
  if (src_left != 0) damaged("gzip payload has trailing bytes after its stream");
  out.resize(produced);
  return out;
}

// ---- lz4 (block format, prefixed with the 4-byte little-endian plaintext length) ----

Bytes lz4_compress(ByteView data) {
  if (data.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) {
    fail(ErrorCategory::kInternal, "lz4: input of " + std::to_string(data.size()) +
                                       " bytes exceeds the lz4 block limit; use zstd");
  }
  int src_size = static_cast<int>(data.size());
  Bytes out(kLz4LengthPrefix + static_cast<size_t>(LZ4_compressBound(src_size)));
  for (size_t i = 0; i < kLz4LengthPrefix; ++i) out[i] = static_cast<uint8_t>(data.size() >> (8 * i));
  int n = LZ4_compress_default(reinterpret_cast<const char*>(data.data()),
                               reinterpret_cast<char*>(out.data() + kLz4LengthPrefix), src_size,
                               static_cast<int>(out.size() - kLz4LengthPrefix));
  if (n <= 0) fail(ErrorCategory::kInternal, "lz4 compression failed");
  out.resize(kLz4LengthPrefix + static_cast<size_t>(n));
  return out;
}

Bytes lz4_decompress(ByteView in, size_t max_size) {
  if (in.size() < kLz4LengthPrefix + 1) damaged("lz4 payload is truncated");
  uint32_t length = 0;
  for (size_t i = 0; i < kLz4LengthPrefix; ++i) length |= static_cast<uint32_t>(in[i]) << (8 * i);
  if (length > max_size) too_large("lz4", max_size);
  if (length > static_cast<uint32_t>(LZ4_MAX_INPUT_SIZE)) damaged("lz4 length prefix is out of range");
  ByteView block = in.subspan(kLz4LengthPrefix);
  if (block.size() > static_cast<size_t>(INT_MAX)) damaged("lz4 block is too large");
  Bytes out(std::max<uint32_t>(length, 1));  // never hand lz4 a null destination
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(block.data()),
                              reinterpret_cast<char*>(out.data()), static_cast<int>(block.size()),
                              static_cast<int>(length));
  if (n < 0 || static_cast<uint32_t>(n) != length) damaged("lz4 block does not match its length");
  out.resize(length);
  return out;
}

}  // namespace

std::optional<Codec> codec_from_name(std::string_view name) {
  if (name == "zstd") return Codec::kZstd;
  if (name == "gzip") return Codec::kGzip;
  if (name == "lz4") return Codec::kLz4;
  if (name == "none") return Codec::kNone;
  return std::nullopt;
}

const char* codec_name(Codec c) {
  switch (c) {
    case Codec::kNone: return "none";
    case Codec::kZstd: return "zstd";
    case Codec::kGzip: return "gzip";
    case Codec::kLz4: return "lz4";
  }
  return "unknown";
}

int default_level(Codec c) {
  switch (c) {
    case Codec::kZstd: return 3;
    case Codec::kGzip: return 6;
    case Codec::kNone:
    case Codec::kLz4: return 0;
  }
  return 0;
}

std::pair<int, int> level_range(Codec c) {
  switch (c) {
    case Codec::kZstd: return {1, 19};
    case Codec::kGzip: return {1, 9};
    case Codec::kNone:
    case Codec::kLz4: return {0, 0};
  }
  return {0, 0};
}

bool looks_like_noise(ByteView data) {
  // Order-0 entropy of four 2 KiB samples spread over the data. Photos, PDFs and archives are
  // at 7.9-8 bits per byte; text, logs and database dumps at 2-6.
  constexpr size_t kSample = 2048, kSamples = 4;
  if (data.size() < kSample * kSamples) return false;
  uint32_t counts[256] = {};
  for (size_t s = 0; s < kSamples; ++s) {
    const uint8_t* p = data.data() + (data.size() - kSample) * s / (kSamples - 1);
    for (size_t i = 0; i < kSample; ++i) ++counts[p[i]];
  }
  const double total = kSample * kSamples;
  double bits = 0;
  for (uint32_t c : counts)
    if (c) bits -= c / total * std::log2(c / total);
  return bits > 7.5;
}

ByteView encode_payload_scratch(const CompressionSpec& spec, ByteView data) {
  // Out-of-range levels are clamped rather than rejected: the config loader validates them.
  int level = clamp_level(spec.codec, spec.level);
  // Noise-like data (already compressed) shrinks by what entropy coding of its literals gives,
  // the same at zstd's level 1 as at higher levels, which only search harder for matches that
  // are not there: level 3 took 0.49 s for the bench's 368 MB of photos and PDFs, level 1 0.35 s,
  // for 0.07% more bytes.
  if (spec.codec == Codec::kZstd && level > 1 && looks_like_noise(data)) level = 1;
  // The hot path of every backup: the codec byte and the payload go into one reused buffer that
  // is neither zero-filled nor copied again (a Bytes of compressBound would be both).
  thread_local std::unique_ptr<uint8_t[]> scratch;
  thread_local size_t scratch_size = 0;
  auto room = [&](size_t n) {
    if (scratch_size < n) {
      scratch.reset(new uint8_t[n]);  // default-initialised: no memset
      scratch_size = n;
    }
    return scratch.get();
  };
  if (spec.codec == Codec::kZstd) {
    const size_t bound = ZSTD_compressBound(data.size());
    uint8_t* out = room(1 + bound);
    // One context per thread, reused: ZSTD_compress() would set one up per chunk.
    thread_local std::unique_ptr<ZSTD_CCtx, CctxFree> cctx(ZSTD_createCCtx());
    if (!cctx) fail(ErrorCategory::kInternal, "zstd: out of memory creating a compression context");
    size_t n = ZSTD_compressCCtx(cctx.get(), out + 1, bound, data.data(), data.size(), level);
    if (ZSTD_isError(n)) fail(ErrorCategory::kInternal, std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    if (n < data.size()) {
      out[0] = static_cast<uint8_t>(Codec::kZstd);
      return ByteView(out, 1 + n);
    }
  } else if (spec.codec != Codec::kNone) {
    Bytes packed = spec.codec == Codec::kGzip ? gzip_compress(data, level) : lz4_compress(data);
    if (packed.size() < data.size()) {
      uint8_t* out = room(1 + packed.size());
      out[0] = static_cast<uint8_t>(spec.codec);
      std::memcpy(out + 1, packed.data(), packed.size());
      return ByteView(out, 1 + packed.size());
    }
  }
  // No codec, or the data did not shrink: stored as it is.
  uint8_t* out = room(1 + data.size());
  out[0] = static_cast<uint8_t>(Codec::kNone);
  if (!data.empty()) std::memcpy(out + 1, data.data(), data.size());
  return ByteView(out, 1 + data.size());
}

Bytes encode_payload(const CompressionSpec& spec, ByteView data) {
  ByteView payload = encode_payload_scratch(spec, data);
  return Bytes(payload.begin(), payload.end());
}

Bytes decode_payload(ByteView encoded, size_t max_size) {
  if (encoded.empty()) damaged("payload is empty (no codec byte)");
  ByteView body = encoded.subspan(1);
  switch (encoded[0]) {
    case static_cast<uint8_t>(Codec::kNone):
      if (body.size() > max_size) too_large("uncompressed", max_size);
      return Bytes(body.begin(), body.end());
    case static_cast<uint8_t>(Codec::kZstd): return zstd_decompress(body, max_size);
    case static_cast<uint8_t>(Codec::kGzip): return gzip_decompress(body, max_size);
    case static_cast<uint8_t>(Codec::kLz4): return lz4_decompress(body, max_size);
    case kDeltaCodecId: damaged("a delta payload was read without its base (the index does not mark it as a delta)");
    default: break;
  }
  damaged("unknown codec id " + std::to_string(encoded[0]));
}

}  // namespace coffer
