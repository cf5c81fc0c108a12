#include "source/postgres/physical/backup_privileges.h"

#include <gtest/gtest.h>

namespace coffer::pg::physical {
namespace {

std::string whats(const std::vector<Privilege>& ps) {
  std::string out;
  for (const Privilege& p : ps) out += p.what + ";";
  return out;
}

TEST(BackupPrivilegesTest, TheFunctionsOfEachServerVersion) {
  EXPECT_EQ(whats(backup_privileges(150004, false)),
            "EXECUTE on pg_backup_start(text, boolean);EXECUTE on pg_backup_stop(boolean);EXECUTE on pg_switch_wal();");
  EXPECT_EQ(whats(backup_privileges(140010, false)),
            "EXECUTE on pg_start_backup(text, boolean, boolean);EXECUTE on pg_stop_backup(boolean, boolean);"
            "EXECUTE on pg_switch_wal();");
  const std::vector<Privilege> all = backup_privileges(150004, true);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.back().check, "pg_has_role('pg_read_all_settings', 'USAGE')");
  EXPECT_EQ(all[1].check, "has_function_privilege('pg_backup_stop(boolean)', 'EXECUTE')");
}

TEST(BackupPrivilegesTest, TheMessageNamesWhatIsMissingAndTheGrantsToRun) {
  const std::vector<Privilege> all = backup_privileges(150004, true);
  const std::string m = missing_privileges_message("backup \"ops\"", {all[1], all[3]});
  EXPECT_NE(m.find("role backup \"ops\" may not take a physical backup: it lacks EXECUTE on pg_backup_stop(boolean), "
                   "the privileges of pg_read_all_settings"),
            std::string::npos) << m;
  EXPECT_NE(m.find("GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO \"backup \"\"ops\"\"\"; "
                   "GRANT pg_read_all_settings TO \"backup \"\"ops\"\"\";"),
            std::string::npos) << m;
  EXPECT_EQ(m.find("pg_backup_start"), std::string::npos) << m;  // only what is missing
}

}  // namespace
}  // namespace coffer::pg::physical
