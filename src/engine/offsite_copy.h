// Off-site copy (S3_MODE=copy): after a backup, upload to S3 the repository objects it lacks.
//
// Same repository first: before anything is uploaded, the prefix must be empty or hold this
// very repository (its `config` byte for byte; without a config, only our own key files, which
// a first copy cut off early leaves). A prefix holding another repository is refused, naming
// both places, both repository ids (repository_identity.h) and the way out (another S3_PREFIX).
//
// What is uploaded: an object S3 lacks. Packs and index files are named by the hash of their
// content, and manifests and pins are written once per name in a repository, so once the
// repository is known to be the same, an object of the same name and size is the same object
// (a different size is a damaged or cut-off one: uploaded again). Key files are compared byte
// for byte. An interrupted copy resumes where it stopped; an object deleted on S3 comes back.
// Commit order, each phase finished before the next: keys/, config, data/ (packs), index/,
// wal/ (the WAL archive, docs/pitr.md), snapshots/ (the manifests that make backups visible),
// pins/. A manifest therefore never reaches S3 before the packs, index and WAL it needs. Only
// those folders and the config are copied: never locks/, backup_log.json, its lock, or anything
// else in BACKUP_DIR.
#pragma once

#include <cstdint>
#include <string>

#include "storage/storage.h"

namespace coffer {

struct OffsiteCopyResult {
  bool copied = false;   // every object is on the remote side
  std::string error;     // why not, when !copied
  uint64_t objects = 0;  // objects uploaded by this run
  uint64_t bytes = 0;    // their bytes
};

// Never throws for storage errors or a foreign prefix: a failed copy is reported in the result.
OffsiteCopyResult copy_offsite(Storage& local, Storage& remote, int threads = 4);

// Uploads the one object `key` of `local` (wal-push in copy mode: the WAL file it has just
// stored) without waiting for anything else the copy lacks. The same repository first, as
// above: when `remote` holds no repository yet, the key files and config go first. An object
// already there with the same size is not uploaded again. Throws Error(kConfig) for another
// repository there, Error(kStorage) when the upload fails: the object is then only local.
void copy_object_offsite(Storage& local, Storage& remote, const std::string& key);

// Throws Error(kConfig) when `remote` holds another repository than `local`, or any repository
// (or foreign objects) while `local` has none yet: the check create makes before a backup, so a
// wrong S3_PREFIX stops it before anything is written. Storage errors propagate.
void check_offsite_target(Storage& local, Storage& remote);

}  // namespace coffer
