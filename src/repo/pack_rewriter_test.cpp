// Pack rewriting on a real local repository, with the delta blobs a database backup stores: a
// copied delta keeps its base, is checked against it before it is copied, and reads back after
// the index names the new pack.
#include "repo/pack_rewriter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "coffer/error.h"
#include "repo/chunk_store.h"
#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

namespace {

Bytes rows(int count, int skip_every = 0) { return test_support::table_rows(0, count, skip_every, 1); }

class PackRewriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_support::TempRepository t = test_support::make_temp_repository("coffer-rewrite", true);
    dir_ = t.dir;
    storage_ = t.storage;
    repo_ = std::move(t.repo);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One commit (one pack) holding `chunks`, each stored against `similar` when given.
  std::vector<ChunkId> store(const std::vector<Bytes>& chunks, const std::vector<ChunkId>& similar = {}) {
    ChunkStore s(*repo_, {}, 1);
    std::vector<ChunkId> ids;
    for (const Bytes& c : chunks) ids.push_back(s.add(BlobType::kData, c, similar).id);
    s.commit();
    return ids;
  }
  PackRecord record_of(const ChunkId& id) {
    std::string pack = repo_->index().pack_id(repo_->index().find(id)->pack);
    for (const PackRecord& p : repo_->read_index_file(index_key_of(pack))) if (p.id == pack) return p;
    ADD_FAILURE() << "pack not found";
    return {};
  }
  std::string index_key_of(const std::string& pack) {
    for (const ObjectInfo& o : storage_->list("index/"))
      for (const PackRecord& p : repo_->read_index_file(o.key))
        if (p.id == pack) return o.key;
    return "";
  }

  fs::path dir_;
  std::shared_ptr<LocalStorage> storage_;
  std::unique_ptr<Repository> repo_;
};

}  // namespace

TEST_F(PackRewriterTest, ACopiedDeltaKeepsItsBaseAndReadsBack) {
  ChunkId base = store({rows(3000)})[0];
  // One pack: a delta against `base`, and garbage (a chunk no backup will need).
  std::vector<ChunkId> ids = store({rows(3000, 50), rows(500)}, {base});
  ChunkId delta = ids[0];
  ASSERT_EQ(repo_->index().find(delta)->type, BlobType::kDelta);
  PackRecord pack = record_of(delta);
  PackRewrite r{pack, {}, 0};
  for (const PackEntry& e : pack.entries)
    if (e.id == delta) r.live.push_back(e);
  ASSERT_EQ(r.live.size(), 1u);

  RewriteOutcome out = rewrite_packs(*repo_, {r});
  ASSERT_EQ(out.written.size(), 1u) << (out.warnings.empty() ? "" : out.warnings[0]);
  ASSERT_EQ(out.written[0].entries.size(), 1u);
  EXPECT_EQ(out.written[0].entries[0].type, BlobType::kDelta);
  EXPECT_EQ(out.written[0].entries[0].base, base);

  // The new pack alone (plus the base's) serves the chunk, as after cleanup's index swap.
  storage_->remove(pack_key(pack.id));
  Index index;
  index.add_pack(out.written[0].id, out.written[0].entries);
  index.add_pack(repo_->index().pack_id(repo_->index().find(base)->pack), record_of(base).entries);
  repo_->replace_index(std::move(index));
  EXPECT_EQ(repo_->read_blob(delta), rows(3000, 50));
}

TEST_F(PackRewriterTest, ADeltaWhoseBaseIsUnreadableIsNotCopied) {
  ChunkId base = store({rows(3000)})[0];
  ChunkId delta = store({rows(3000, 50)}, {base})[0];
  PackRecord pack = record_of(delta);
  storage_->remove(pack_key(repo_->index().pack_id(repo_->index().find(base)->pack)));
  RewriteOutcome out = rewrite_packs(*repo_, {{pack, pack.entries, 0}});
  EXPECT_TRUE(out.written.empty());
  ASSERT_EQ(out.kept.size(), 1u);  // left as it is, with a warning naming why
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("base"), std::string::npos) << out.warnings[0];
}

}  // namespace coffer
