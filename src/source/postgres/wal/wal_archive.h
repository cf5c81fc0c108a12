// The WAL archive of one PostgreSQL cluster in the repository (docs/pitr.md): every file
// archive_command hands over (segments, partial segments, backup and timeline history files),
// one object each, compressed and sealed like everything else, never overwritten.
//
//   wal/<cluster>/<timeline and log, 16 hex digits>/<file name>   segments, .partial, .backup
//   wal/<cluster>/history/<TLI>.history                           timeline history files
//
// <cluster> is "<system identifier>-<major version>" (source/postgres/wal/cluster_id.h). WAL
// objects are not in packs or the index: a push is one put, a fetch one get. The file name is
// bound into the seal, so an object renamed in storage does not open as another file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "codec/compression.h"
#include "repo/repository.h"
#include "source/postgres/wal/wal_chain.h"

namespace coffer::pg::wal {

class WalArchive {
 public:
  WalArchive(Repository& repo, std::string cluster);

  enum class Pushed { kStored, kAlreadyThere };
  // Stores `content` as WAL file `name`, durably (Storage::put_if_absent). When the name is
  // taken, the stored file is read back: the same content is kAlreadyThere (PostgreSQL archives
  // a file again after a crash), other content throws Error(kInput) naming the file; nothing is
  // ever overwritten. Throws Error(kInput) for a name that is not a WAL file name.
  Pushed push(const std::string& name, ByteView content, const CompressionSpec& compression);
  // The file's content; nullopt when the archive does not hold it. Throws Error(kDamaged) when
  // the stored object does not open, Error(kStorage) when storage fails.
  std::optional<Bytes> fetch(const std::string& name);
  struct File {
    std::string name;
    uint64_t stored_bytes = 0;  // as stored: compressed and sealed
  };
  // Every file in the archive, sorted by name (segments in timeline, then LSN order).
  std::vector<File> files();
  std::vector<std::string> list();  // their names
  // Every timeline history file, parsed: timeline -> its switch points (wal_chain.h).
  std::map<uint32_t, std::vector<TimelineSwitch>> histories();
  void remove(const std::string& name);

  const std::string& cluster() const { return cluster_; }
  // The object key of WAL file `name` of `cluster`; throws Error(kInput) for a bad name.
  static std::string key_of(const std::string& cluster, const std::string& name);
  // The clusters whose WAL the repository holds ("<sysid>-<major>").
  static std::vector<std::string> clusters(Storage& storage);

 private:
  Repository& repo_;
  std::string cluster_;
};

}  // namespace coffer::pg::wal
