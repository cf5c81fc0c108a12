// After a database restore: do the restored tables hold the rows the dump's snapshot counted?
// The server's own count of what each COPY inserted settles most tables without reading them;
// count(*) settles the rest.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coffer/backup_types.h"

namespace coffer {

struct RowCountCheck {
  std::vector<RowCountMismatch> mismatches;
  size_t scanned = 0;  // tables that needed count(*)
};

// `expected`: the dump's tables and counts. `inserted`: "schema.name" -> rows the statistics say
// were inserted (only tables with no updates or deletes). `count`: exact count(*) of a table, or
// nullopt when the table does not exist. A table is fine when its inserted count equals the
// expected one; otherwise count(*) decides (statistics lag behind pg_restore's sessions).
RowCountCheck check_row_counts(const std::vector<TableRows>& expected, const std::map<std::string, uint64_t>& inserted,
                               const std::function<std::optional<uint64_t>(const TableRows&)>& count);

}  // namespace coffer
