#include "engine/pack_rewriter.h"

#include <optional>

#include "coffer/error.h"

namespace coffer {

RewriteOutcome rewrite_packs(Repository& repo, const std::vector<PackRewrite>& packs) {
  RewriteOutcome out;
  PackBuilder builder;
  auto flush = [&] {
    if (builder.empty()) return;
    std::vector<PackEntry> entries;
    Bytes bytes = builder.finish(repo.sealer(), &entries);
    std::string id = pack_id_of(bytes);
    repo.storage().put(pack_key(id), bytes);
    out.bytes_written += bytes.size();
    out.written.push_back({id, std::move(entries)});
  };
  for (const PackRewrite& r : packs) {
    std::string key = pack_key(r.pack.id);
    try {
      Bytes pack = repo.storage().get(key);
      // Check every live blob before copying any, so a damaged pack is left whole.
      for (const PackEntry& e : r.live) {
        if (uint64_t(e.offset) + e.length > pack.size())
          fail(ErrorCategory::kDamaged, "pack " + key + " is shorter than its index says");
        const std::string what = "chunk " + to_hex(e.id).substr(0, 16) + " in pack " + key;
        std::optional<Bytes> base;  // a delta is checked against its base (read from its own pack)
        if (e.type == BlobType::kDelta) {
          try {
            base = repo.read_blob(e.base);
          } catch (const Error& err) {
            throw Error(err.category(), what + " is a delta whose base cannot be read: " + err.what());
          }
        }
        open_blob(repo.sealer(), e.id, ByteView(pack).subspan(e.offset, e.length), e.raw_length, what,
                  base ? &*base : nullptr);
      }
      for (const PackEntry& e : r.live) {
        builder.add(e.type, e.id, e.raw_length, ByteView(pack).subspan(e.offset, e.length), e.base);
        if (builder.size() >= kPackTargetSize) flush();
      }
      out.rewritten.push_back(r.pack.id);
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged && e.category() != ErrorCategory::kNotFound) throw;
      out.kept.push_back(r.pack);
      out.warnings.push_back(std::string("left pack ") + key + " as it is: " + e.what() + " (run `coffer verify`)");
    }
  }
  flush();
  return out;
}

}  // namespace coffer
