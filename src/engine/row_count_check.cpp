#include "engine/row_count_check.h"

namespace coffer {

RowCountCheck check_row_counts(const std::vector<TableRows>& expected, const std::map<std::string, uint64_t>& inserted,
                               const std::function<std::optional<uint64_t>(const TableRows&)>& count) {
  RowCountCheck out;
  for (const TableRows& t : expected) {
    std::string name = t.schema + "." + t.name;
    if (auto it = inserted.find(name); it != inserted.end() && it->second == t.rows) continue;
    ++out.scanned;
    std::optional<uint64_t> got = count(t);
    if (!got || *got != t.rows) out.mismatches.push_back({name, t.rows, got.value_or(0)});
  }
  return out;
}

}  // namespace coffer
