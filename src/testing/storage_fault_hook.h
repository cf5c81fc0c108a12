// The one test hook in release binaries that touches storage: when COFFER_STORAGE_FAULTS is set,
// the repository's storage is wrapped in a FaultyStorage (testing/faulty_storage.h says what the
// rules mean). The integration tests and the crash harness drive the real binary, so the hook
// lives in it; nothing else in the product reads that variable.
#pragma once

#include <memory>

#include "storage/storage.h"

namespace coffer::test_hooks {

// `storage` as it is when COFFER_STORAGE_FAULTS is unset or empty, else wrapped in the injector.
// `temp_names_hidden`: the driver keeps unfinished objects under hidden temp names (local disk),
// so a short write leaves one there; S3 uploads are all or nothing.
std::shared_ptr<Storage> with_storage_faults(std::shared_ptr<Storage> storage, bool temp_names_hidden);

}  // namespace coffer::test_hooks
