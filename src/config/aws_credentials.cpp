#include "config/aws_credentials.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "coffer/error.h"

namespace coffer::config {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

}  // namespace

AwsProfiles parse_aws_credentials(const std::string& text, const std::string& file_name) {
  AwsProfiles profiles;
  std::istringstream in(text);
  std::string line;
  std::string section;
  bool in_section = false;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    const auto where = "AWS credentials file '" + file_name + "' line " + std::to_string(number);
    if (t.front() == '[') {
      if (t.back() != ']') fail(ErrorCategory::kConfig, where + ": a section header needs a closing ']'");
      section = trim(t.substr(1, t.size() - 2));
      if (section.rfind("profile ", 0) == 0) section = trim(section.substr(8));
      profiles[section];
      in_section = true;
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos || !in_section) {
      fail(ErrorCategory::kConfig, where + ": expected [profile] or key = value (line not shown)");
    }
    std::string key = trim(t.substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    profiles[section][key] = trim(t.substr(eq + 1));
  }
  return profiles;
}

AwsProfiles read_aws_credentials_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    fail(ErrorCategory::kConfig, "cannot read AWS credentials file '" + file.string() +
                                     "' (AWS_SHARED_CREDENTIALS_FILE): check its permissions");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_aws_credentials(ss.str(), file.string());
}

}  // namespace coffer::config
