#include "testing/storage_fault_hook.h"

#include <cstdlib>
#include <utility>

#include "testing/faulty_storage.h"

namespace coffer::test_hooks {

std::shared_ptr<Storage> with_storage_faults(std::shared_ptr<Storage> storage, bool temp_names_hidden) {
  const char* spec = std::getenv(kStorageFaultsVariable);
  if (!spec || !*spec) return storage;
  return std::make_shared<FaultyStorage>(std::move(storage), parse_storage_faults(spec), temp_names_hidden);
}

}  // namespace coffer::test_hooks
