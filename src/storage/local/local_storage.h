// Storage on a local directory. Writes go to "<dir>/.tmp-<random>" in the object's folder,
// are fsynced, renamed into place and the folder fsynced (DESIGN.md invariant 2). An object
// begun with begin_object() is written to a temp file in its folder as its pieces come, and
// renamed into place (a subfolder of it) by finish().
// Files are created 0600 and folders 0700. Thread-safe.
#pragma once

#include <filesystem>

#include "storage/storage.h"

namespace coffer {

class LocalStorage : public Storage {
 public:
  // `root` is created (with parents) if missing. Throws Error(kStorage) when it cannot be
  // created or written, naming the directory. With `read_only`, `root` must exist and is neither
  // created nor required to be writable (a mounted snapshot, a write-protected disk): reads work,
  // writes fail naming the object.
  explicit LocalStorage(std::filesystem::path root, bool read_only = false);

  void put(const std::string& key, ByteView data) override;
  bool put_if_absent(const std::string& key, ByteView data) override;
  Bytes get(const std::string& key, uint64_t offset, uint64_t length) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  void remove(const std::string& key) override;
  std::string describe() const override { return root_.string(); }
  std::unique_ptr<ObjectWriter> begin_object(const std::string& folder, size_t size_hint) override;
  uint64_t remove_temp_files(const std::string& folder, std::chrono::seconds min_age) override;

  const std::filesystem::path& root() const { return root_; }

 private:
  friend class LocalObjectWriter;
  std::filesystem::path path_of(const std::string& key) const;
  // Writes a synced temp file beside `final_path` and returns its path.
  std::filesystem::path write_temp(const std::filesystem::path& final_path, ByteView data);
  std::filesystem::path root_;
};

}  // namespace coffer
