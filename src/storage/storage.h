// The storage seam: a handful of object operations that both local disk and S3 offer.
// Nothing above this layer knows which backend it talks to. Keys are '/'-separated relative
// names ("data/ab/abcd...", "snapshots/full_20241201_020000"). Objects are written once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace coffer {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

// A new object written in pieces, in order (a pack as it fills), and named when it is done (a
// pack's name hashes its header, written last). Readers see nothing before finish(), then the
// whole object, as with put(). Destroying an unfinished writer discards what it wrote.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void append(ByteView data) = 0;
  // Stores the object under `key`; the writer is done after this, whether it succeeds or throws.
  virtual void finish(const std::string& key) = 0;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Stores `data` under `key` atomically: readers see the whole object or nothing.
  // Overwrites an existing object (callers use fresh names for data).
  virtual void put(const std::string& key, ByteView data) = 0;
  // Like put, but fails (returns false, writes nothing) when `key` already exists.
  virtual bool put_if_absent(const std::string& key, ByteView data) = 0;
  // Reads [offset, offset+length) of an object; length = kWhole reads to the end.
  // Throws Error(kNotFound) when missing, Error(kDamaged) when shorter than asked.
  static constexpr uint64_t kWhole = UINT64_MAX;
  virtual Bytes get(const std::string& key, uint64_t offset = 0, uint64_t length = kWhole) = 0;
  virtual std::optional<ObjectInfo> head(const std::string& key) = 0;
  // All objects whose key starts with `prefix`, in no particular order. Temp files are hidden.
  virtual std::vector<ObjectInfo> list(const std::string& prefix) = 0;
  // Removes an object; removing a missing one is not an error.
  virtual void remove(const std::string& key) = 0;
  // Human-readable location for messages ("/srv/backups", "s3://bucket/prefix").
  virtual std::string describe() const = 0;
  // Whether each request crosses a network (S3): callers then avoid many small reads.
  virtual bool remote() const { return false; }
  // Starts an object whose key will begin with `folder` ("data/") and that will be about
  // `size_hint` bytes. This default gathers the pieces in memory and put()s them at finish();
  // LocalStorage writes them to a temp file as they come, holding no copy in memory.
  virtual std::unique_ptr<ObjectWriter> begin_object(const std::string& folder, size_t size_hint);
  // Removes the temp files that interrupted writes left under `folder` (a killed backup's
  // half-written pack, a killed wal-push's segment) unchanged for `min_age` or more, and returns
  // the bytes they held. Cleanup calls it for "data/" under the exclusive lock (nothing writes
  // there then: min_age 0), and for "wal/" with an hour (wal-push takes no lock: a push in
  // progress keeps its temp file). S3 objects are never half-written: nothing to do.
  virtual uint64_t remove_temp_files(const std::string& /*folder*/, std::chrono::seconds /*min_age*/) { return 0; }
};

}  // namespace coffer
