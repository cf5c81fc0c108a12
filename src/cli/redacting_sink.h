// Every log line coffer writes (errors, warnings, the scheduler's log) passes through here on its
// way to stderr, so credentials written into a URL (S3_ENDPOINT) are never shown (util/redact.h).
#pragma once

#include <memory>
#include <string>

#include <spdlog/sinks/sink.h>

#include "coffer/redact.h"

namespace coffer::cli {

class RedactingSink : public spdlog::sinks::sink {
 public:
  explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    const std::string text = redact_url_credentials(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override { inner_->set_formatter(std::move(formatter)); }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace coffer::cli
