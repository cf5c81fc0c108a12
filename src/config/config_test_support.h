// What the config module's tests share: a fresh folder for the files a test writes, and the
// message of the configuration error a call throws. For *_test.cpp files.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::config_test {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_support::make_temp_dir("coffer-config");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `content` to dir_/name with `mode`; returns the path.
  std::filesystem::path write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    const std::filesystem::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }

  std::filesystem::path dir_;
};

// Runs f and returns the kConfig error message; fails the test when no kConfig error is thrown.
inline std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kConfig) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected a configuration error";
  return {};
}

}  // namespace coffer::config_test
