#include "repo/repository.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "codec/compression.h"
#include "coffer/error.h"
#include "repo/key_cache.h"
#include "repo/repository_identity.h"

namespace coffer {
namespace {

constexpr size_t kMaxMetadataSize = 1u << 30;  // bound on decompressed index/manifest objects

nlohmann::json chunker_json(const ChunkerParams& p) {
  return {{"min", p.min_size}, {"avg", p.avg_size}, {"max", p.max_size}};
}

ChunkerParams chunker_from_json(const nlohmann::json& j) {
  ChunkerParams p{j.at("min").get<uint32_t>(), j.at("avg").get<uint32_t>(), j.at("max").get<uint32_t>()};
  if (!valid_params(p)) fail(ErrorCategory::kDamaged, "repository config has invalid chunker parameters");
  return p;
}

// Metadata objects are compressed with zstd before sealing: JSON and binary indexes shrink well.
Bytes seal_metadata(const ObjectSealer& sealer, std::string_view kind, ByteView plain) {
  return sealer.seal(kind, encode_payload({Codec::kZstd, 3}, plain));
}

Bytes open_metadata(const ObjectSealer& sealer, std::string_view kind, ByteView stored, const std::string& what) {
  return decode_payload(sealer.open(kind, stored, what), kMaxMetadataSize);
}

}  // namespace

bool Repository::exists(Storage& storage) { return storage.head("config").has_value(); }

RepositoryParams params_for(const Storage& storage) {
  RepositoryParams params;
  if (storage.remote()) params.db_chunker = kDbChunkerWithoutDeltas;
  return params;
}

Repository::Repository(std::shared_ptr<Storage> storage, const MasterKeys& keys, bool encrypted, int format_version,
                       const ChunkerParams& files, const ChunkerParams& tree, const ChunkerParams& db)
    : storage_(std::move(storage)),
      sealer_(keys, encrypted, chunk_id_function_of(format_version)),
      file_chunker_(files),
      tree_chunker_(tree),
      db_chunker_(db),
      gear_(make_gear_table(keys.chunker)),
      format_version_(format_version) {}

ChunkIdFunction chunk_id_function_of(int format_version) {
  return format_version >= 3 ? ChunkIdFunction::kKeyedBlake3 : ChunkIdFunction::kHmacSha256;
}

namespace {

// The config is plaintext (it must be readable before the keys are), so it carries an HMAC under
// the repository's id key over its other fields (keys sorted: nlohmann's objects are ordered):
// once the keys are open, a changed or damaged config is found instead of silently used.
std::string config_mac(const MasterKeys& keys, nlohmann::json config) {
  config.erase("config_mac");
  return to_hex(hmac_sha256(keys.id, as_bytes(config.dump())));
}

}  // namespace

namespace {

// Backups of a repository whose config is gone: a new repository must not be made over them,
// and "no repository" would be the wrong thing to tell. (A lone key file is what a failed init
// leaves: no backups, nothing to protect.)
void refuse_orphaned_objects(Storage& storage) {
  for (const char* prefix : {"snapshots/", "index/"})
    if (!storage.list(prefix).empty())
      fail(ErrorCategory::kDamaged,
           "the repository config in " + storage.describe() + " is missing, but " + prefix +
               " holds objects of a repository: restore the config from the off-site copy or a copy of "
               "BACKUP_DIR (coffer will not create a new repository over existing backups)");
}

}  // namespace

std::unique_ptr<Repository> Repository::init(std::shared_ptr<Storage> storage, const RepositoryParams& params) {
  if (exists(*storage)) fail(ErrorCategory::kInput, "a repository already exists in " + storage->describe());
  refuse_orphaned_objects(*storage);
  if (params.encrypted && !params.passphrase)
    fail(ErrorCategory::kConfig,
         "encryption is on but no passphrase is set: set BACKUP_PASSPHRASE_FILE (or BACKUP_PASSPHRASE), "
         "or ENCRYPTION=false");
  if (params.format_version < 1 || params.format_version > kFormatVersion)
    fail(ErrorCategory::kInternal, "cannot create a repository of format " + std::to_string(params.format_version));
  MasterKeys keys = generate_master_keys();
  std::string key_id = to_hex(random_bytes(16));
  const std::string key_name = "keys/" + key_id;
  storage->put(key_name, as_bytes(make_key_file(keys, params.encrypted ? params.passphrase : std::nullopt, params.kdf)));
  // The config names the key files that belong to the repository: a key file left behind by an
  // init that lost a race or failed (same passphrase, other master keys) is never used.
  nlohmann::json config{{"format_version", params.format_version},
                        {"repository_id", to_hex(random_bytes(16))},
                        {"encryption", params.encrypted ? "aes-256-gcm" : "none"},
                        {"key_ids", nlohmann::json::array({key_id})},
                        {"chunker_files", chunker_json(params.file_chunker)},
                        {"chunker_tree", chunker_json(params.tree_chunker)},
                        {"chunker_db", chunker_json(params.db_chunker)}};
  config["config_mac"] = config_mac(keys, config);
  auto drop_key = [&] {
    try {
      storage->remove(key_name);
    } catch (...) {
      // Best effort: the config does not name it, so it is never used anyway.
    }
  };
  // The config is written last: a repository "exists" only once its key is stored.
  bool created = false;
  try {
    created = storage->put_if_absent("config", as_bytes(config.dump(2)));
  } catch (...) {
    drop_key();
    throw;
  }
  if (!created) {
    drop_key();
    fail(ErrorCategory::kInput, "a repository was created concurrently in " + storage->describe());
  }
  auto repo = std::unique_ptr<Repository>(
      new Repository(std::move(storage), keys, params.encrypted, params.format_version, params.file_chunker,
                                                   params.tree_chunker, params.db_chunker));
  repo->id_ = config.at("repository_id").get<std::string>();
  return repo;
}

std::unique_ptr<Repository> Repository::open(std::shared_ptr<Storage> storage,
                                             const std::optional<std::string>& passphrase,
                                             const KeyCache* key_cache) {
  if (!exists(*storage)) refuse_orphaned_objects(*storage);
  if (!exists(*storage))
    fail(ErrorCategory::kNotFound, "no repository in " + storage->describe() +
                                       ": run `coffer init` or `coffer create` first, or check BACKUP_DIR");
  std::string where = storage->describe();
  nlohmann::json config;
  const Bytes config_bytes = storage->get("config");
  try {
    config = nlohmann::json::parse(to_string(config_bytes));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCategory::kDamaged, "repository config in " + where + " is damaged: " + e.what());
  }
  int version = config.value("format_version", 0);
  if (version > kFormatVersion)
    fail(ErrorCategory::kConfig, "the repository in " + where + " has format version " + std::to_string(version) +
                                     ", newer than this coffer supports (" + std::to_string(kFormatVersion) +
                                     "): upgrade coffer");
  if (version < 1) fail(ErrorCategory::kDamaged, "repository config in " + where + " has no valid format_version");
  ChunkerParams files, tree, db;
  try {
    files = chunker_from_json(config.at("chunker_files"));
    tree = chunker_from_json(config.at("chunker_tree"));
    db = chunker_from_json(config.at("chunker_db"));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCategory::kDamaged, "repository config in " + where + " is damaged: " + e.what());
  }
  std::vector<ObjectInfo> key_files = storage->list("keys/");
  if (config.contains("key_ids")) {  // repositories made before key_ids existed try every key file
    std::vector<std::string> named;
    try {
      named = config.at("key_ids").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCategory::kDamaged, "repository config in " + where + " is damaged: key_ids: " + e.what());
    }
    std::erase_if(key_files, [&](const ObjectInfo& kf) {
      return std::find(named.begin(), named.end(), kf.key.substr(std::string("keys/").size())) == named.end();
    });
  }
  if (key_files.empty()) fail(ErrorCategory::kDamaged, "the repository in " + where + " has no key file (keys/)");
  std::sort(key_files.begin(), key_files.end(), [](auto& a, auto& b) { return a.key < b.key; });
  // Any key file that opens will do; report the most telling error when none does.
  std::optional<Error> last_error;
  for (const ObjectInfo& kf : key_files) {
    try {
      std::string text = to_string(storage->get(kf.key));
      bool encrypted = nlohmann::json::parse(text).value("kdf", "") != "none";
      const std::string repository_id = repository_id_of(config_bytes);
      const bool cacheable = key_cache && encrypted && passphrase;
      std::optional<MasterKeys> cached;
      if (cacheable) cached = key_cache->load(repository_id, text, *passphrase);
      MasterKeys keys = cached ? *cached : open_key_file(text, passphrase, kf.key);
      if (config.contains("config_mac") &&  // configs written before it existed have none
          !(config.at("config_mac").is_string() && config.at("config_mac").get<std::string>() == config_mac(keys, config)))
        fail(ErrorCategory::kDamaged, "repository config in " + where +
                                          " is damaged or was edited: its authentication code does not match (the "
                                          "backups are intact; restore the config from the off-site copy or a "
                                          "backup of BACKUP_DIR)");
      // Encryption is decided by the key file, not the plaintext config, so nobody can turn
      // encryption off by editing the config.
      if (cacheable && !cached) key_cache->store(repository_id, text, *passphrase, keys);
      auto repo = std::unique_ptr<Repository>(new Repository(std::move(storage), keys, encrypted, version, files, tree, db));
      repo->id_ = repository_id;
      return repo;
    } catch (const Error& e) {
      if (!last_error || e.category() == ErrorCategory::kAuth || e.category() == ErrorCategory::kConfig) last_error = e;
    } catch (const nlohmann::json::exception& e) {
      if (!last_error) last_error = Error(ErrorCategory::kDamaged, "key file " + kf.key + " is damaged");
    }
  }
  throw *last_error;
}

void Repository::load_index(std::vector<std::pair<std::string, std::string>>* problems) {
  index_ = Index();
  std::vector<ObjectInfo> files = storage_->list("index/");
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.key < b.key; });
  for (const ObjectInfo& f : files) {
    try {
      for (const PackRecord& p : read_index_file(f.key)) index_.add_pack(p.id, p.entries);
    } catch (const Error& e) {
      if (!problems || e.category() != ErrorCategory::kDamaged) throw;
      problems->emplace_back(f.key, e.what());
    }
  }
}

void Repository::add_to_index(const std::vector<PackRecord>& packs) {
  for (const PackRecord& p : packs) index_.add_pack(p.id, p.entries);
}

std::vector<PackRecord> Repository::read_index_file(const std::string& key) {
  Bytes plain = open_metadata(sealer_, "index", storage_->get(key), "index file " + key);
  return decode_index_file(plain, "index file " + key);
}

uint64_t Repository::write_index_file(const std::vector<PackRecord>& packs, std::string* key) {
  Bytes stored = seal_metadata(sealer_, "index", encode_index_file(packs));
  std::string name = "index/" + to_hex(sha256(stored));
  storage_->put(name, stored);
  if (key) *key = name;
  return stored.size();
}

Bytes Repository::read_blob(const ChunkId& id) { return read_blob(id, 0); }

Bytes Repository::read_blob(const ChunkId& id, int depth) {
  const ChunkLocation* loc = index_.find(id);
  if (!loc) fail(ErrorCategory::kNotFound, "chunk " + to_hex(id) + " is not in the index");
  return open_fetched_blob(id, *loc, storage_->get(pack_key_of(*loc), loc->offset, loc->length), depth);
}

std::string Repository::pack_key_of(const ChunkLocation& loc) const { return pack_key(index_.pack_id(loc.pack)); }

Bytes Repository::open_fetched_blob(const ChunkId& id, const ChunkLocation& loc, ByteView sealed) {
  return open_fetched_blob(id, loc, sealed, 0);
}

Bytes Repository::open_fetched_blob(const ChunkId& id, const ChunkLocation& loc, ByteView sealed, int depth) {
  std::string what = "chunk " + to_hex(id).substr(0, 16) + " in pack " + pack_key_of(loc);
  std::optional<Bytes> base;
  if (loc.type == BlobType::kDelta) {
    // Deltas are written against whole blobs only; a longer chain can follow from two copies of
    // one chunk (a raced backup), and a loop only from a damaged or forged index.
    constexpr int kMaxDeltaDepth = 4;
    if (depth >= kMaxDeltaDepth) fail(ErrorCategory::kDamaged, what + " is damaged: its delta chain is longer than 4");
    const ChunkId* base_id = index_.base_of(id);
    if (!base_id) fail(ErrorCategory::kInternal, what + ": a delta without a base in the index");
    try {
      base = read_blob(*base_id, depth + 1);
    } catch (const Error& e) {
      throw Error(e.category(), what + " is a delta whose base cannot be read: " + e.what());
    }
  }
  return open_blob(sealer_, id, sealed, loc.raw_length, what, base ? &*base : nullptr);
}

std::vector<std::string> Repository::list_backup_ids() {
  std::vector<std::string> ids;
  for (const ObjectInfo& o : storage_->list("snapshots/")) {
    std::string id = o.key.substr(std::string("snapshots/").size());
    if (is_valid_backup_id(id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Manifest Repository::read_manifest(const std::string& backup_id) {
  if (!is_valid_backup_id(backup_id))
    fail(ErrorCategory::kInput, "'" + backup_id + "' is not a valid backup id (see `coffer list`)");
  std::string key = manifest_key(backup_id);
  if (!storage_->head(key))
    fail(ErrorCategory::kNotFound, "backup " + backup_id + " does not exist in " + storage_->describe() +
                                       " (see `coffer list`)");
  std::string what = "manifest of backup " + backup_id + " (" + key + ")";
  Bytes plain = open_metadata(sealer_, "manifest", storage_->get(key), what);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(to_string(plain));
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCategory::kDamaged, what + " is damaged: " + e.what());
  }
  Manifest m = manifest_from_json(j, what);
  if (m.info.backup_id != backup_id) fail(ErrorCategory::kDamaged, what + " names another backup");
  return m;
}

bool Repository::write_manifest(const Manifest& m, uint64_t* stored_bytes) {
  Bytes stored = seal_metadata(sealer_, "manifest", as_bytes(manifest_to_json(m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (stored_bytes) *stored_bytes = stored.size();
  return storage_->put_if_absent(manifest_key(m.info.backup_id), stored);
}

}  // namespace coffer
