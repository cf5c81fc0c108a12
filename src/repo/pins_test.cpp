#include "repo/pins.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "storage/local/local_storage.h"
#include "testing/fixtures.h"

namespace coffer {
namespace fs = std::filesystem;

TEST(PinsTest, AddListRemove) {
  fs::path dir = test_support::make_temp_dir("coffer-pins");
  LocalStorage storage(dir);
  EXPECT_TRUE(read_pins(storage).empty());
  EXPECT_TRUE(add_pin(storage, "full_20241201_020000"));
  EXPECT_FALSE(add_pin(storage, "full_20241201_020000")) << "pinning twice changes nothing";
  EXPECT_TRUE(add_pin(storage, "incremental_20241202_020000_2"));
  storage.put("pins/not a backup id", as_bytes("{}"));  // ignored: not a valid id
  EXPECT_EQ(read_pins(storage), (std::set<std::string>{"full_20241201_020000", "incremental_20241202_020000_2"}));
  EXPECT_TRUE(fs::exists(dir / "pins" / "full_20241201_020000"));
  EXPECT_TRUE(remove_pin(storage, "full_20241201_020000"));
  EXPECT_FALSE(remove_pin(storage, "full_20241201_020000"));
  EXPECT_EQ(read_pins(storage), (std::set<std::string>{"incremental_20241202_020000_2"}));
  fs::remove_all(dir);
}

}  // namespace coffer
