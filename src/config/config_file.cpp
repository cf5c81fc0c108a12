#include "config/config_file.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "coffer/error.h"
#include "config/settings.h"

namespace coffer::config {
namespace {

std::string known_keys_list() {
  std::string out;
  for (const auto& s : settings()) {
    if (!out.empty()) out += ", ";
    out += file_key(s);
  }
  return out;
}

std::string nth_line(const std::filesystem::path& file, size_t line_number) {
  std::ifstream in(file);
  std::string line;
  for (size_t i = 1; std::getline(in, line); ++i) {
    if (i == line_number) return line;
  }
  return {};
}

// toml++ descriptions can quote a few characters of the offending value; suppress them when the
// broken line assigns a secret.
bool line_assigns_secret(const std::string& line) {
  std::string trimmed = lower_case(line);
  trimmed.erase(0, trimmed.find_first_not_of(" \t\"'"));
  for (const auto& s : settings()) {
    if (!s.secret) continue;
    const std::string key = file_key(s);
    if (trimmed.rfind(key, 0) == 0) return true;
  }
  return false;
}

toml::table parse_toml(const std::filesystem::path& file) {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status)) {
    fail(ErrorCategory::kConfig, "config file '" + file.string() +
                                     "' (from --config) does not exist: check the path");
  }
  if (std::filesystem::is_directory(status)) {
    fail(ErrorCategory::kConfig,
         "config file '" + file.string() + "' (from --config) is a directory, not a TOML file");
  }
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    const size_t line = e.source().begin.line;
    std::string what(e.description());
    if (line > 0 && line_assigns_secret(nth_line(file, line))) {
      what = "invalid value for a secret setting (value not shown)";
    }
    fail(ErrorCategory::kConfig, "config file '" + file.string() + "' line " +
                                     std::to_string(line) + ": TOML syntax error: " + what);
  }
}

std::string kind_expectation(Kind kind) {
  switch (kind) {
    case Kind::kString: return "a string";
    case Kind::kText: return "a string or a number";
    case Kind::kPath: return "a string (a path)";
    case Kind::kPathList: return "a string (\"a:b\") or an array of strings";
    case Kind::kInt: return "an integer";
    case Kind::kBool: return "a boolean (true or false)";
    case Kind::kCompression: return "a boolean or an algorithm name string";
  }
  return "a value";
}

[[noreturn]] void wrong_toml_type(const std::string& file, const std::string& key, Kind kind) {
  fail(ErrorCategory::kConfig, "config file '" + file + "': key '" + key + "' must be " +
                                   kind_expectation(kind));
}

RawValue raw_from_toml(const std::string& file, const std::string& key, const toml::node& node,
                       Kind kind) {
  RawValue raw;
  raw.origin = Origin::kFile;
  if (const auto* s = node.as_string(); s && kind != Kind::kInt && kind != Kind::kBool) {
    raw.text = s->get();
    return raw;
  }
  if (const auto* i = node.as_integer(); i && (kind == Kind::kInt || kind == Kind::kText)) {
    raw.text = std::to_string(i->get());
    return raw;
  }
  if (const auto* f = node.as_floating_point(); f && kind == Kind::kText) {
    std::ostringstream text;
    text << f->get();
    raw.text = text.str();
    return raw;
  }
  if (const auto* b = node.as_boolean(); b && (kind == Kind::kBool || kind == Kind::kCompression)) {
    raw.text = b->get() ? "true" : "false";
    return raw;
  }
  if (const auto* arr = node.as_array(); arr && kind == Kind::kPathList) {
    std::vector<std::string> items;
    for (const auto& element : *arr) {
      const auto* s = element.as_string();
      if (!s) wrong_toml_type(file, key, kind);
      items.push_back(s->get());
    }
    raw.list = items;
    for (const auto& item : items) raw.text += (raw.text.empty() ? "" : ":") + item;
    return raw;
  }
  wrong_toml_type(file, key, kind);
}

}  // namespace

void read_config_file(const std::filesystem::path& file, RawSettings& raw) {
  const toml::table table = parse_toml(file);
  raw.config_file = file.string();
  for (const auto& [key_node, value] : table) {
    const std::string key(key_node.str());
    const Setting* setting = find_file_key(key);
    if (!setting) {
      fail(ErrorCategory::kConfig, "unknown key '" + key + "' in config file '" + file.string() +
                                       "': known keys are " + known_keys_list());
    }
    raw.values[setting->name] = raw_from_toml(file.string(), key, value, setting->kind);
  }
}

}  // namespace coffer::config
