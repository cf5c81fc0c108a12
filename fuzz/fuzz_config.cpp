// Config file parsing: config::load with a Sources whose config_file holds the input (TOML), no
// environment and no flags; on success also config::describe and config::service_settings, as
// `coffer config` and `coffer schedule` do. HOME points to a directory that does not exist, so
// only a credentials file named by the input itself is read.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>

#include "config/config_loader.h"
#include "fuzz_common.h"

namespace {

std::filesystem::path config_path() {
  static const std::filesystem::path path = [] {
    char dir[] = "/tmp/coffer-fuzz-config-XXXXXX";
    if (mkdtemp(dir) == nullptr) coffer::fuzz::bug("mkdtemp failed");
    setenv("HOME", (std::string(dir) + "/no-home").c_str(), 1);
    return std::filesystem::path(dir) / "coffer.toml";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::filesystem::path path = config_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  config::Sources sources;
  sources.config_file = path;
  fuzz::run_guarded([&] {
    (void)config::load(sources);
    (void)config::describe(sources);
    (void)config::service_settings(sources);
  });
  return 0;
}
