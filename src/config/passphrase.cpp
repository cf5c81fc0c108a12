#include "config/passphrase.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

#include "coffer/error.h"

namespace coffer::config {

std::optional<std::string> read_passphrase(const BackupConfig& config) {
  if (!config.passphrase_file.empty()) {
    const std::string file = config.passphrase_file.string();
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      fail(ErrorCategory::kConfig, "cannot read passphrase file '" + file +
                                       "' (BACKUP_PASSPHRASE_FILE): " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      fail(ErrorCategory::kConfig,
           "passphrase file '" + file + "' (BACKUP_PASSPHRASE_FILE) is not a regular file");
    }
    if (st.st_mode & (S_IRGRP | S_IROTH)) {
      spdlog::warn("passphrase file '{}' is readable by group or others; run: chmod 600 '{}'",
                   file, file);
    }
    std::ifstream in(config.passphrase_file, std::ios::binary);
    if (!in) {
      fail(ErrorCategory::kConfig, "cannot read passphrase file '" + file +
                                       "' (BACKUP_PASSPHRASE_FILE): " + std::strerror(errno));
    }
    std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) {
      fail(ErrorCategory::kConfig,
           "cannot read passphrase file '" + file + "' (BACKUP_PASSPHRASE_FILE)");
    }
    if (!content.empty() && content.back() == '\n') {
      content.pop_back();
      if (!content.empty() && content.back() == '\r') content.pop_back();
    }
    if (content.empty()) {
      fail(ErrorCategory::kConfig, "passphrase file '" + file +
                                       "' (BACKUP_PASSPHRASE_FILE) is empty: put the "
                                       "passphrase in it");
    }
    return content;
  }
  if (config.passphrase) {
    if (config.passphrase->empty()) {
      fail(ErrorCategory::kConfig, "BACKUP_PASSPHRASE is empty: set a non-empty passphrase");
    }
    return config.passphrase;
  }
  return std::nullopt;
}

}  // namespace coffer::config
