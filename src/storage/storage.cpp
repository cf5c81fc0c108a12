#include "storage/storage.h"

#include "coffer/error.h"

namespace coffer {
namespace {

// Storage::begin_object's default: the pieces in one buffer, stored with put() at finish().
class BufferedObjectWriter : public ObjectWriter {
 public:
  BufferedObjectWriter(Storage& storage, size_t size_hint) : storage_(storage) { data_.reserve(size_hint); }
  void append(ByteView data) override {
    if (done_) fail(ErrorCategory::kInternal, "append to a finished object");
    data_.insert(data_.end(), data.begin(), data.end());
  }
  void finish(const std::string& key) override {
    if (done_) fail(ErrorCategory::kInternal, "finish of a finished object " + key);
    done_ = true;
    Bytes data = std::move(data_);
    storage_.put(key, data);
  }

 private:
  Storage& storage_;
  Bytes data_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ObjectWriter> Storage::begin_object(const std::string& /*folder*/, size_t size_hint) {
  return std::make_unique<BufferedObjectWriter>(*this, size_hint);
}

}  // namespace coffer
