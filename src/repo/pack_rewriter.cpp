#include "repo/pack_rewriter.h"

#include <memory>
#include <optional>

#include "coffer/error.h"

namespace coffer {

RewriteOutcome rewrite_packs(Repository& repo, const std::vector<PackRewrite>& packs) {
  RewriteOutcome out;
  std::unique_ptr<PackWriter> writer;  // the pack being filled, as a backup writes its packs
  auto flush = [&] {
    if (!writer || writer->empty()) return;
    std::vector<PackEntry> entries;
    uint64_t bytes = 0;
    std::string id = writer->finish(repo.sealer(), &entries, &bytes);
    writer.reset();
    out.bytes_written += bytes;
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
        if (!writer) writer = std::make_unique<PackWriter>(repo.storage());
        writer->add(e.type, e.id, e.raw_length, ByteView(pack).subspan(e.offset, e.length), e.base);
        if (writer->size() >= kPackTargetSize) flush();
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
