// HistoryRecord <-> the JSON of one backup_log.json record. The field names and which fields a
// record holds are the file's format (README, tests/integration/test_backup_log.py): changing
// them changes what older readers and monitoring scripts see.
#pragma once

#include <nlohmann/json.hpp>

#include "coffer/history.h"

namespace coffer {

// The record as backup_log.json holds it: the fields its backup_type and status call for.
nlohmann::json history_record_json(const HistoryRecord& record);

// Reads a record written by any coffer version: a field that is missing or of another type is
// left at its default, never an error (the log is read by status and the scheduler, which must
// not stop on one odd record).
HistoryRecord history_record_from_json(const nlohmann::json& j);

}  // namespace coffer
