#include "config/passphrase.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "config/config_test_support.h"

namespace coffer::config {
namespace {

using config_test::config_error;
using PassphraseTest = config_test::TempDirTest;

TEST_F(PassphraseTest, FileStripsOneTrailingNewline) {
  BackupConfig c;
  c.passphrase_file = write("pass", "correct horse\n");
  EXPECT_EQ(read_passphrase(c), "correct horse");
  c.passphrase_file = write("pass2", "two newlines\n\n");
  EXPECT_EQ(read_passphrase(c), "two newlines\n");
  c.passphrase_file = write("pass3", "crlf\r\n");
  EXPECT_EQ(read_passphrase(c), "crlf");
  c.passphrase_file = write("pass4", "no newline");
  EXPECT_EQ(read_passphrase(c), "no newline");
}

TEST_F(PassphraseTest, FileWinsOverEnvironmentValue) {
  BackupConfig c;
  c.passphrase = "from-env";
  EXPECT_EQ(read_passphrase(c), "from-env");
  c.passphrase_file = write("pass", "from-file\n");
  EXPECT_EQ(read_passphrase(c), "from-file");
  EXPECT_EQ(read_passphrase(BackupConfig{}), std::nullopt);
}

TEST_F(PassphraseTest, MissingOrEmptyFileIsAnError) {
  BackupConfig c;
  c.passphrase_file = dir_ / "absent-pass";
  std::string msg = config_error([&] { read_passphrase(c); });
  EXPECT_NE(msg.find("absent-pass"), std::string::npos) << msg;

  c.passphrase_file = write("empty", "\n");
  msg = config_error([&] { read_passphrase(c); });
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;

  c.passphrase_file = dir_;
  EXPECT_NE(config_error([&] { read_passphrase(c); }).find(dir_.string()),
            std::string::npos);

  BackupConfig direct;
  direct.passphrase = "";
  config_error([&] { read_passphrase(direct); });
}

TEST_F(PassphraseTest, WarnsWhenTheFileIsReadableByOthers) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));

  BackupConfig c;
  c.passphrase_file = write("private", "p\n", 0600);
  read_passphrase(c);
  const size_t quiet = sink->last_formatted().size();
  c.passphrase_file = write("shared", "p\n", 0644);
  read_passphrase(c);
  const auto lines = sink->last_formatted();
  spdlog::set_default_logger(previous);

  EXPECT_EQ(quiet, 0u);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("shared"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("chmod 600"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace coffer::config
