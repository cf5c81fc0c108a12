#include "engine/restore_conflicts.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "coffer/error.h"

namespace coffer {
using files::EntryType;
using files::Existing;
using files::FileEntry;

namespace {

constexpr size_t kConflictsShown = 5;

bool is_under(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

// Whether what is in the place of a file, symlink or hard link already equals the backup's.
bool same_as_backup(const Placement& p, const Existing& found, const ObjectSealer& sealer,
                    const std::function<const FileEntry*(const std::string&)>& content_of) {
  const FileEntry& e = *p.entry;
  if (e.type == EntryType::kSymlink) return found.kind == Existing::Kind::kSymlink && found.link_target == e.link_target;
  if (found.kind != Existing::Kind::kFile) return false;
  const FileEntry* content = e.type == EntryType::kHardlink ? content_of(e.hardlink_target) : &e;
  return content && same_content(found.fd, found.size, *content, sealer);
}

// `one` / `many`: what the list is, after the count ("path to restore exists already").
[[noreturn]] void refuse(const std::vector<std::string>& shown, const std::string& one, const std::string& many,
                         const std::string& way_out) {
  std::string list;
  for (size_t i = 0; i < shown.size() && i < kConflictsShown; ++i) list += (i ? ", " : "") + shown[i];
  if (shown.size() > kConflictsShown) list += ", and " + std::to_string(shown.size() - kConflictsShown) + " more";
  fail(ErrorCategory::kInput, std::to_string(shown.size()) + " " + (shown.size() == 1 ? one : many) + " (" + list +
                                  "); nothing was written. " + way_out);
}

}  // namespace

bool same_content(int fd, uint64_t size, const FileEntry& e, const ObjectSealer& sealer) {
  if (size != e.size) return false;
  Bytes piece;
  uint64_t offset = 0;
  for (const ChunkRef& c : e.chunks) {
    piece.resize(c.size);
    size_t got = 0;
    while (got < piece.size()) {
      const ssize_t n = ::pread(fd, piece.data() + got, piece.size() - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(ErrorCategory::kStorage, "cannot read " + files::display_path(e.path) + ": " + std::strerror(errno));
      if (n == 0) return false;  // shorter than it said: it is being changed
      got += static_cast<size_t>(n);
    }
    if (sealer.chunk_id(piece) != c.id) return false;
    offset += c.size;
  }
  return true;
}

std::vector<PlaceAction> plan_existing(const std::vector<Placement>& placements, ExistingFiles policy,
                                       const ObjectSealer& sealer,
                                       const std::function<const FileEntry*(const std::string&)>& content_of,
                                       std::vector<std::string>& removed_temps) {
  std::vector<const Placement*> existing_dirs;  // to be written into: swept for abandoned temps
  std::vector<PlaceAction> actions(placements.size(), PlaceAction::kWrite);
  std::vector<std::string> conflicts, directories_in_the_way;
  // A directory of the backup that is missing, or whose place holds something else: what goes
  // below it is decided with it, without looking (written into the new directory, or kept with
  // what is there). The walk order puts a directory's contents right after it.
  std::optional<std::pair<std::string, PlaceAction>> subtree;
  for (size_t i = 0; i < placements.size(); ++i) {
    const Placement& p = placements[i];
    const FileEntry& e = *p.entry;
    const bool dir = e.type == EntryType::kDirectory;
    if (subtree && is_under(e.path, subtree->first)) {
      actions[i] = subtree->second == PlaceAction::kKeep ? PlaceAction::kKeep : PlaceAction::kWrite;
      continue;
    }
    subtree.reset();
    const Existing found = p.writer->inspect(p.local.path, policy == ExistingFiles::kIfDifferent);
    if (found.kind == Existing::Kind::kNone) {
      if (dir) subtree.emplace(e.path, PlaceAction::kWrite);
      continue;
    }
    if (dir) {
      if (found.kind == Existing::Kind::kDirectory) {  // merged into
        existing_dirs.push_back(&p);
        continue;
      }
    } else if (found.kind == Existing::Kind::kDirectory && policy != ExistingFiles::kSkip) {
      directories_in_the_way.push_back(p.writer->shown(p.local.path));
      continue;
    }
    switch (policy) {
      case ExistingFiles::kFail: conflicts.push_back(p.writer->shown(p.local.path)); break;
      case ExistingFiles::kSkip: actions[i] = PlaceAction::kKeep; break;
      case ExistingFiles::kOverwrite: actions[i] = PlaceAction::kReplace; break;
      case ExistingFiles::kIfDifferent:
        actions[i] = !dir && same_as_backup(p, found, sealer, content_of) ? PlaceAction::kKeep : PlaceAction::kReplace;
        break;
    }
    if (dir) subtree.emplace(e.path, actions[i]);
  }
  if (!conflicts.empty()) {
    refuse(conflicts, "path to restore exists already", "paths to restore exist already",
           "Choose what to do with them: --existing skip (keep them, restore only what is missing), "
           "--existing if-different (replace those whose content differs from the backup), "
           "--existing overwrite (replace them all), or restore elsewhere with --target DIR");
  }
  if (!directories_in_the_way.empty()) {
    refuse(directories_in_the_way, "folder is where the backup has a file, symlink or hard link",
           "folders are where the backup has files, symlinks or hard links",
           "Remove or rename them, or restore with --existing skip (keeps them) or --target DIR");
  }
  for (const Placement* p : existing_dirs)
    for (std::string& t : p->writer->remove_abandoned_temps(p->local.path)) removed_temps.push_back(std::move(t));
  return actions;
}

}  // namespace coffer
