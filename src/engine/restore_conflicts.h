// Decides, before a files restore writes anything, what happens where a restored entry finds
// something already in its place (RestoreOptions::existing). With the default policy every such
// place is a conflict, and the restore is refused naming them, so a restore either starts with
// every conflict settled or writes nothing.
#pragma once

#include <functional>
#include <vector>

#include "coffer/backup_types.h"
#include "repo/object_sealer.h"
#include "source/files/tree_writer.h"

namespace coffer {

// One entry of a restore: as the backup holds it, as its writer names it, and that writer.
struct Placement {
  const files::FileEntry* entry;
  files::FileEntry local;
  files::TreeWriter* writer;
};

enum class PlaceAction {
  kWrite,    // nothing in the way (or a directory to merge into)
  kReplace,  // replace what is there
  kKeep,     // leave what is there; restore nothing here
};

// One action per placement, in order. `content_of` gives the file entry a hard link's content
// comes from (by path in the backup). Throws Error(kInput) under kFail when anything is in the
// way, and under every policy for a directory where a file, symlink or hard link goes. Once the
// plan stands, removes from the existing directories it will write into the temporary files a
// killed restore left there (named in `removed_temps`).
std::vector<PlaceAction> plan_existing(const std::vector<Placement>& placements, ExistingFiles policy,
                                       const ObjectSealer& sealer,
                                       const std::function<const files::FileEntry*(const std::string&)>& content_of,
                                       std::vector<std::string>& removed_temps);

// True when the open regular file `fd` of `size` bytes holds exactly `e`'s content: cut at the
// backup's chunk boundaries, each piece has the recorded chunk id.
bool same_content(int fd, uint64_t size, const files::FileEntry& e, const ObjectSealer& sealer);

}  // namespace coffer
