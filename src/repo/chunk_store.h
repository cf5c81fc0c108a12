// The backup write path: chunk -> id -> known? -> compress -> seal -> pack -> storage.
//
// Producers (the files part's readers and the database part, each on its own thread) read, chunk
// and hash; new chunks go to worker threads that compress and seal them and append them to their
// lane's open pack (kLanes); a full pack is stored (synced and named) by the finisher thread when
// it is free, else by the worker that filled it, so a worker rarely waits on the disk. In-flight
// data is bounded (memory stays flat).
// commit() stores the last packs and then one index file for all packs written: packs before
// index, as DESIGN.md's invariant 3 requires. Nothing is visible to readers before commit().
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>
#include <deque>
#include <optional>
#include <functional>
#include <memory>

#include "chunk/chunker.h"
#include "codec/compression.h"
#include "util/byte_source.h"
#include "repo/repository.h"

namespace coffer {

struct ChunkStoreStats {
  uint64_t bytes_read = 0;        // plaintext bytes offered
  uint64_t chunks_new = 0;
  uint64_t chunks_known = 0;
  uint64_t bytes_new_raw = 0;     // plaintext bytes of new chunks
  uint64_t bytes_stored = 0;      // bytes of packs and index files written
  uint64_t packs_written = 0;
  uint64_t chunks_delta = 0;      // new chunks stored as deltas against a similar chunk
  uint64_t chunks_fast = 0;       // new chunks compressed at the fastest level (Pace::kKeepUp)
};

// How a stream's new chunks are compressed.
enum class Pace {
  kRatio,   // always at the configured level
  // At the codec's fastest level while the workers are behind (their queue over half full), at
  // the configured level otherwise: for a producer that should not wait on compression, such as
  // pg_dump, whose snapshot stays open (holding back vacuum on the server) until it finishes.
  kKeepUp,
};

// Suggests, for each chunk of a stream in order, stored chunks it probably resembles, best
// first (delta_base_picker.h); add_stream then stores a new chunk as a delta against one.
class DeltaBaseSource {
 public:
  virtual ~DeltaBaseSource() = default;
  virtual std::vector<ChunkId> next(const ChunkId& id) = 0;
};

class ChunkStore {
 public:
  // `repo` must have its index loaded and outlive the store. threads = 0: one per core.
  ChunkStore(Repository& repo, CompressionSpec compression, unsigned threads = 0);
  ~ChunkStore();  // stops the workers; uncommitted packs stay unreferenced (cleanup's job)

  // Stores one chunk (deduplicated) and returns its reference. `similar`: stored chunks this
  // one probably resembles; a new chunk is then stored as a zstd delta against the one that
  // gives the smallest delta, when that is well under its plain compressed size, if the
  // repository's format and the compression (zstd) allow.
  // Lanes: each fills packs of its own, so that chunks a restore reads in order (the files read
  // from one end of a backup's walk order) are stored in order, not interleaved with another
  // producer's. Lane 0 unless said.
  static constexpr unsigned kLanes = 2;
  ChunkRef add(BlobType type, ByteView chunk, const std::vector<ChunkId>& similar = {}, Pace pace = Pace::kRatio,
               unsigned lane = 0);
  // Chunks a whole stream with `params` and stores every chunk; returns the refs in order.
  // `on_bytes` (optional) is told how many bytes were consumed, for progress. `bases`
  // (optional) suggests a similar chunk for each one. `earlier` (optional): the chunks the same
  // stream had before (a grown log): as long as its leading chunks still hold the same bytes
  // (checked by their ids) they are taken without running the chunker, which would cut at the
  // same places (a cut depends only on the bytes since the previous one); the last one, cut by
  // the end of the old stream, is always chunked again. `pace`: see Pace. `lane`: see kLanes.
  std::vector<ChunkRef> add_stream(ByteSource& source, BlobType type, const ChunkerParams& params,
                                   const std::function<void(size_t)>& on_bytes = {}, DeltaBaseSource* bases = nullptr,
                                   const std::vector<ChunkRef>* earlier = nullptr, Pace pace = Pace::kRatio,
                                   unsigned lane = 0);
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
    std::vector<ChunkId> candidates;  // whole blobs to try a delta against
    std::optional<ChunkId> base;      // the one chosen (encode())
    Pace pace = Pace::kRatio;
    unsigned lane = 0;
  };
  ChunkRef add_with_id(BlobType type, const ChunkId& id, ByteView chunk, const std::vector<ChunkId>& similar,
                       Pace pace, unsigned lane);
  // The whole data blobs among `similar` (a delta's own base stands in for it) to try.
  std::vector<ChunkId> delta_candidates(const ChunkId& id, const std::vector<ChunkId>& similar) const;
  // The blob's payload for a job, as a delta when that pays (sets job.type to kDelta then). The
  // view is into `holder` or this thread's compression buffer.
  ByteView encode(Job& job, const CompressionSpec& spec, Bytes& holder);
  void worker();
  // `behind`: the queue was over half full when the job was taken (see Pace::kKeepUp).
  void process(Job& job, bool behind);
  void store_pack(PackWriter& pack);
  void finisher();
  void rethrow_failure();

  Repository& repo_;
  CompressionSpec compression_;
  CompressionSpec fast_compression_;  // the codec's fastest level (Pace::kKeepUp)
  std::unordered_set<ChunkId, ChunkIdHash> pending_;  // new this run (guarded by mu_)

  mutable std::mutex mu_;
  std::condition_variable can_submit_, can_work_, idle_, can_finish_;
  std::deque<Job> queue_;
  size_t queued_bytes_ = 0;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::unique_ptr<PackWriter> open_packs_[kLanes];  // each lane's pack being filled (guarded by mu_), or null
  std::unique_ptr<PackWriter> to_finish_;  // a full pack handed to the finisher (guarded by mu_)
  bool finishing_ = false;                 // the finisher holds a pack (guarded by mu_)
  std::vector<PackRecord> written_;
  ChunkStoreStats stats_;
  std::vector<std::thread> workers_;
  std::thread finisher_;
};

}  // namespace coffer
