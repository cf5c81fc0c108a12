// README.md's table of settings is written by hand; these tests fail when it and the settings
// table (settings.cpp) disagree on which settings exist, their flags or their defaults, and when a
// documented default is not the value `coffer config` shows.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "coffer/schedule_service.h"
#include "config/config_loader.h"
#include "config/settings.h"

namespace coffer::config {
namespace {

// One setting as a row of README's table states it.
struct DocumentedSetting {
  std::string flag;
  std::string default_text;
  int row = 0;  // 1-based, among the table's rows
};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + separator.size())
    out.push_back(text.substr(start, at - start));
  out.push_back(text.substr(start));
  return out;
}

std::string without_backticks(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '`'), s.end());
  return s;
}

// The rows of the table under README's "### Settings": | variable | flag | default | meaning |.
// A row may name several settings ("DB_HOST, DB_PORT"; "BACKUP_SCHEDULE_FULL, _INCREMENTAL":
// a leading '_' continues the first name's prefix) with one default for all, or one each.
std::map<std::string, std::vector<DocumentedSetting>> readme_settings(std::string& problems) {
  const std::filesystem::path readme = std::filesystem::path(__FILE__).parent_path() / "../../README.md";
  std::ifstream in(readme);
  if (!in) {
    problems += "cannot read " + readme.string() + "\n";
    return {};
  }
  std::map<std::string, std::vector<DocumentedSetting>> out;
  std::string line;
  bool in_section = false;
  int row = -1;  // the header row is row 0
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) == 0) {
      if (in_section) break;
      in_section = line == "### Settings";
      continue;
    }
    if (!in_section || line.rfind("|", 0) != 0 || line.rfind("|---", 0) == 0) continue;
    if (++row == 0) continue;
    const std::vector<std::string> cells = split(line, "|");  // "", variable, flag, default, meaning, ""
    if (cells.size() != 6) {
      problems += "row " + std::to_string(row) + " has " + std::to_string(cells.size()) + " cells: " + line + "\n";
      continue;
    }
    std::vector<std::string> names = split(trim(cells[1]), ", ");
    for (std::string& name : names)
      if (name.rfind("_", 0) == 0) name = names.front().substr(0, names.front().rfind('_')) + name;
    std::vector<std::string> defaults = split(without_backticks(trim(cells[3])), ", ");
    if (names.size() == 1 || defaults.size() == 1) defaults.assign(names.size(), without_backticks(trim(cells[3])));
    if (defaults.size() != names.size()) {
      problems += "row " + std::to_string(row) + ": cannot tell which default is whose: " + line + "\n";
      continue;
    }
    for (size_t i = 0; i < names.size(); ++i) out[names[i]].push_back({trim(cells[2]), defaults[i], row});
  }
  if (out.empty()) problems += "no table of settings under '### Settings' in " + readme.string() + "\n";
  return out;
}

TEST(SettingsDocsTest, ReadmeListsEverySettingWithItsFlagAndDefault) {
  std::string problems;
  const auto documented = readme_settings(problems);
  ASSERT_EQ(problems, "");
  for (const Setting& s : settings()) {
    SCOPED_TRACE(s.name);
    auto it = documented.find(s.name);
    if (it == documented.end()) {
      ADD_FAILURE() << "README.md's table of settings lacks " << s.name << " (flag '" << s.flag << "', default '"
                    << s.default_text << "')";
      continue;
    }
    ASSERT_EQ(it->second.size(), 1u) << s.name << " is in README.md's table more than once";
    const DocumentedSetting& doc = it->second.front();
    EXPECT_EQ(doc.flag, s.flag) << "the flag of " << s.name << " (README.md row " << doc.row << ")";
    EXPECT_EQ(doc.default_text, s.default_text) << "the default of " << s.name << " (README.md row " << doc.row
                                                << ")";
  }
  for (const auto& [name, rows] : documented)
    EXPECT_NE(find_setting(name), nullptr) << "README.md's table of settings lists " << name
                                           << ", which is no setting (row " << rows.front().row << ")";
}

// `value` appears in `text` as a whole word ("0" in "0 (off)", "off" in "copy if ..., else off").
bool names_value(const std::string& text, const std::string& value) {
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + 1)) {
    const bool starts = at == 0 || !word_char(text[at - 1]);
    const size_t end = at + value.size();
    if (starts && (end == text.size() || !word_char(text[end]))) return true;
  }
  return false;
}

TEST(SettingsDocsTest, DocumentedDefaultsAreTheValuesCofferConfigShows) {
  EXPECT_TRUE(names_value("0 (off)", "0"));
  EXPECT_FALSE(names_value("30", "3"));
  EXPECT_TRUE(names_value("./backups", "backups"));
  for (const SettingView& view : describe(Sources{})) {
    SCOPED_TRACE(view.name);
    // The scheduler's settings: `coffer config` shows the schedule module's defaults.
    const std::string value = find_setting(view.name)->service ? schedule::default_service_setting(view.name) : view.value;
    if (value.empty()) continue;  // unset: the docs say what that means
    EXPECT_TRUE(names_value(find_setting(view.name)->default_text, value))
        << view.name << " defaults to '" << value << "', but the settings table documents '"
        << find_setting(view.name)->default_text << "'";
  }
}

}  // namespace
}  // namespace coffer::config
