// Reads chunks ahead of a consumer that needs them in a known order (restore, staging a
// database dump): several threads fetch, decrypt, decompress and check blobs while the consumer
// writes the earlier ones. On S3 this turns one request at a time into several in flight.
// At most `max_ahead` chunks are held, so memory stays bounded.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "repo/repository.h"

namespace coffer {

class BlobPrefetcher {
 public:
  // `repo`'s index must be loaded; `repo` must outlive this.
  BlobPrefetcher(Repository& repo, std::vector<ChunkId> order, unsigned threads = 4, size_t max_ahead = 16);
  ~BlobPrefetcher();  // stops the threads; chunks not taken are dropped
  BlobPrefetcher(const BlobPrefetcher&) = delete;
  BlobPrefetcher& operator=(const BlobPrefetcher&) = delete;

  // The next chunk in order, or the Error its read raised (the chunk counts as taken either way).
  Bytes next();
  // Drops the next `n` chunks unread by the consumer (the rest of a file that failed).
  void skip(size_t n);

 private:
  struct Slot {
    std::optional<Bytes> data;
    std::exception_ptr error;
  };
  void worker();

  Repository& repo_;
  std::vector<ChunkId> order_;
  size_t max_ahead_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::vector<Slot> slots_;
  size_t next_fetch_ = 0;  // next index a worker claims
  size_t consumed_ = 0;    // next index the consumer takes
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace coffer
