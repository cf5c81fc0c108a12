// A coffer repository on any Storage: its config, keys, index, packs and manifests.
//
//   config               plaintext JSON: format_version, repository id, chunker parameters
//                        (files, tree streams, database dumps)
//   keys/<id>            master keys, wrapped by a passphrase-derived key (see keys.h)
//   data/<xx>/<pack id>  pack files (pack.h)
//   index/<id>           index files (index.h)
//   snapshots/<id>       manifests (manifest.h), one per committed backup
//
// Thread-safety: read_blob() may be called from several threads once the index is loaded;
// everything else from one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chunk/chunker.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/object_sealer.h"
#include "storage/storage.h"

namespace coffer {

class KeyCache;

// 2: packs and index files may hold delta blobs (pack.h). 3: chunk ids are keyed BLAKE3 instead
// of HMAC-SHA-256 (the id of every byte backed up and restored: 4x faster). Older repositories
// are read and written in their own format (no deltas in 1, HMAC ids up to 2), so the coffers
// that made them can still read them.
constexpr int kFormatVersion = 3;
// The chunk-id hash of a repository format.
ChunkIdFunction chunk_id_function_of(int format_version);

struct RepositoryParams {
  int format_version = kFormatVersion;   // an older one (1..kFormatVersion) only for compatibility tests
  bool encrypted = true;
  std::optional<std::string> passphrase;  // required when encrypted
  KdfParams kdf;
  ChunkerParams file_chunker;             // for file contents
  ChunkerParams tree_chunker{16 * 1024, 64 * 1024, 256 * 1024};  // for tree streams
  // Database dumps change in scattered rows, so most chunks of a table change a little each day;
  // they are stored as deltas against the last dump's (chunk_store.h). Measured on the school
  // workload (scale 2, one day), the day adds: 4 KiB chunks 6.6% of the full backup (13% without
  // deltas), 16 KiB 6.1%, 32 KiB 9.7% (more chunks misaligned with their base). 16 KiB also
  // compresses the full backup 12% smaller than 4 KiB and needs a quarter of the index entries.
  ChunkerParams db_chunker{4096, 16384, 65536};
};

// Without deltas (a repository on S3, see backup_job.cpp) small chunks are what keeps a day's
// scattered changes small: 4 KiB adds 13% of the full per day, 16 KiB 33% (school workload).
constexpr ChunkerParams kDbChunkerWithoutDeltas{1024, 4096, 16384};
// The parameters for a new repository on `storage`.
RepositoryParams params_for(const Storage& storage);

class Repository {
 public:
  static bool exists(Storage& storage);
  // Creates a new repository; throws Error(kInput) when one exists.
  static std::unique_ptr<Repository> init(std::shared_ptr<Storage> storage, const RepositoryParams& params);
  // Opens an existing one: checks the format version, unwraps the key. Throws Error(kNotFound)
  // when there is none, Error(kConfig) for a newer format, Error(kAuth) for a wrong passphrase.
  // With a `key_cache` (wal-push, wal-fetch: repo/key_cache.h), the keys come from it when it
  // holds them for this key file and passphrase, and go into it when it did not.
  static std::unique_ptr<Repository> open(std::shared_ptr<Storage> storage,
                                          const std::optional<std::string>& passphrase,
                                          const KeyCache* key_cache = nullptr);

  Storage& storage() { return *storage_; }
  const ObjectSealer& sealer() const { return sealer_; }
  bool encrypted() const { return sealer_.encrypted(); }
  const ChunkerParams& file_chunker() const { return file_chunker_; }
  const ChunkerParams& tree_chunker() const { return tree_chunker_; }
  const ChunkerParams& db_chunker() const { return db_chunker_; }
  const GearTable& gear() const { return gear_; }
  int format_version() const { return format_version_; }
  // The repository's identity (repository_identity.h): the same on every copy of it.
  const std::string& id() const { return id_; }
  // Whether new chunks may be stored as deltas (format 2 and later).
  bool supports_deltas() const { return format_version_ >= 2; }

  // Reads every index file. Damaged ones throw, unless `problems` is given: then each is
  // recorded there (object key, message) and skipped.
  void load_index(std::vector<std::pair<std::string, std::string>>* problems = nullptr);
  const Index& index() const { return index_; }
  // Replaces the in-memory index (index repair checks backups against the rebuilt one).
  void replace_index(Index index) { index_ = std::move(index); }
  // Adds packs this process wrote (after their index file is stored).
  void add_to_index(const std::vector<PackRecord>& packs);
  // Writes one index file; returns the stored size (and, with `key`, the object's name).
  uint64_t write_index_file(const std::vector<PackRecord>& packs, std::string* key = nullptr);
  // Reads one index file ("index/<id>"). Throws Error(kDamaged) naming it.
  std::vector<PackRecord> read_index_file(const std::string& key);

  // Fetches, decrypts, decompresses and checks one chunk (and, for a delta blob, its base first).
  // Throws Error(kDamaged) naming the pack, Error(kNotFound) when the chunk or a delta's base is
  // not indexed.
  Bytes read_blob(const ChunkId& id);
  // The same for a chunk whose stored bytes (`sealed`, at index location `loc`) the caller has
  // fetched already, e.g. with the chunks stored next to it in one ranged read.
  Bytes open_fetched_blob(const ChunkId& id, const ChunkLocation& loc, ByteView sealed);
  // The storage key of the pack holding `loc`.
  std::string pack_key_of(const ChunkLocation& loc) const;

  std::vector<std::string> list_backup_ids();  // sorted
  Manifest read_manifest(const std::string& backup_id);
  // Commits a backup. Returns false (and writes nothing) when the id is taken. Returns the
  // stored size through `stored_bytes`.
  bool write_manifest(const Manifest& m, uint64_t* stored_bytes);

 private:
  Repository(std::shared_ptr<Storage> storage, const MasterKeys& keys, bool encrypted, int format_version,
             const ChunkerParams& files, const ChunkerParams& tree, const ChunkerParams& db);
  Bytes read_blob(const ChunkId& id, int depth);
  Bytes open_fetched_blob(const ChunkId& id, const ChunkLocation& loc, ByteView sealed, int depth);
  std::shared_ptr<Storage> storage_;
  ObjectSealer sealer_;
  ChunkerParams file_chunker_;
  ChunkerParams tree_chunker_;
  ChunkerParams db_chunker_;
  GearTable gear_;
  int format_version_;
  std::string id_;
  Index index_;
};

}  // namespace coffer
