#include "repo/live_chunks.h"

#include "coffer/error.h"
#include "repo/tree_stream.h"

namespace coffer {

ChunkSet referenced_chunks(Repository& repo, const std::vector<Manifest>& backups) {
  ChunkSet live;
  auto add = [&](const std::vector<ChunkRef>& refs) {
    for (const ChunkRef& r : refs) live.insert(r.id);
  };
  for (const Manifest& m : backups) {
    const std::string& id = m.info.backup_id;
    try {
      add(m.tree);
      for_each_tree_entry(repo, m.tree, id, [&](files::FileEntry& e) { add(e.chunks); });
      if (m.database) {
        add(m.database->dump_list);
        add(read_ref_list(repo, m.database->dump_list, m.database->info.dump_bytes, "database dump of backup " + id));
        add(m.database->globals);
      }
      if (m.physical) {
        add(m.physical->tree);
        for_each_tree_entry(repo, m.physical->tree, id, [&](files::FileEntry& e) { add(e.chunks); });
      }
    } catch (const Error& e) {
      if (e.category() != ErrorCategory::kDamaged && e.category() != ErrorCategory::kNotFound) throw;
      fail(ErrorCategory::kDamaged, "cannot tell which data backup " + id + " needs: " + e.what() +
                                        ". Nothing was deleted; run `coffer verify` to see the damage (if index files were lost or "
                                        "damaged, `coffer repair index` rebuilds the index from the packs)");
    }
  }
  return live;
}

}  // namespace coffer
