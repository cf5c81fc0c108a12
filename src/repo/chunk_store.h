// The backup write path: chunk -> id -> known? -> compress -> seal -> pack -> storage.
//
// Producers (the files part and the database part, each on its own thread) read, chunk and hash; new chunks go to worker
// threads that compress and seal them and append them to the open pack; full packs are stored
// by the worker that filled them. In-flight data is bounded (memory stays flat).
// commit() stores the last pack and then one index file for all packs written: packs before
// index, as DESIGN.md's invariant 3 requires. Nothing is visible to readers before commit().
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>
#include <deque>
#include <functional>

#include "chunk/chunker.h"
#include "codec/compression.h"
#include "repo/byte_source.h"
#include "repo/repository.h"

namespace coffer {

struct ChunkStoreStats {
  uint64_t bytes_read = 0;        // plaintext bytes offered
  uint64_t chunks_new = 0;
  uint64_t chunks_known = 0;
  uint64_t bytes_new_raw = 0;     // plaintext bytes of new chunks
  uint64_t bytes_stored = 0;      // bytes of packs and index files written
  uint64_t packs_written = 0;
};

class ChunkStore {
 public:
  // `repo` must have its index loaded and outlive the store. threads = 0: one per core.
  ChunkStore(Repository& repo, CompressionSpec compression, unsigned threads = 0);
  ~ChunkStore();  // stops the workers; uncommitted packs stay unreferenced (cleanup's job)

  // Stores one chunk (deduplicated) and returns its reference.
  ChunkRef add(BlobType type, ByteView chunk);
  // Chunks a whole stream with `params` and stores every chunk; returns the refs in order.
  // `on_bytes` (optional) is told how many bytes were consumed, for progress.
  std::vector<ChunkRef> add_stream(ByteSource& source, BlobType type, const ChunkerParams& params,
                                   const std::function<void(size_t)>& on_bytes = {});
  // Stores the open pack, waits for all workers, writes the index file, adds the new packs to
  // the repository's in-memory index. Rethrows a worker's failure.
  void commit();
  // Makes every producer's next add() throw: used when one part of a backup failed.
  void abort();
  ChunkStoreStats stats() const;

 private:
  struct Job {
    BlobType type;
    ChunkId id;
    Bytes data;
  };
  void worker();
  void process(Job& job);
  void store_pack(PackBuilder& pack);
  void rethrow_failure();

  Repository& repo_;
  CompressionSpec compression_;
  std::unordered_set<ChunkId, ChunkIdHash> pending_;  // new this run (guarded by mu_)

  mutable std::mutex mu_;
  std::condition_variable can_submit_, can_work_, idle_;
  std::deque<Job> queue_;
  size_t queued_bytes_ = 0;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::exception_ptr failure_;
  PackBuilder open_pack_;
  std::vector<PackRecord> written_;
  ChunkStoreStats stats_;
  std::vector<std::thread> workers_;
};

}  // namespace coffer
