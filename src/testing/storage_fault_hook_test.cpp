#include "testing/storage_fault_hook.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "coffer/error.h"
#include "storage/local/local_storage.h"
#include "testing/faulty_storage.h"
#include "testing/fixtures.h"

namespace coffer::test_hooks {
namespace {

TEST(StorageFaultHookTest, WrapsOnlyWhenTheVariableIsSet) {
  test_support::TempDir dir("coffer-fault-hook");
  auto local = std::make_shared<LocalStorage>(dir.path);
  ::unsetenv(kStorageFaultsVariable);
  EXPECT_EQ(with_storage_faults(local, true), local);
  ::setenv(kStorageFaultsVariable, "", 1);
  EXPECT_EQ(with_storage_faults(local, true), local);

  ::setenv(kStorageFaultsVariable, "get:data/:1:eio", 1);
  std::shared_ptr<Storage> faulty = with_storage_faults(local, true);
  ::unsetenv(kStorageFaultsVariable);
  EXPECT_NE(faulty, local);
  const Bytes body = {1, 2, 3};
  faulty->put("data/x", body);
  EXPECT_THROW(faulty->get("data/x"), Error);  // the first matching get fails
  EXPECT_EQ(faulty->get("data/x"), body);      // the rule named the first one only
}

}  // namespace
}  // namespace coffer::test_hooks
