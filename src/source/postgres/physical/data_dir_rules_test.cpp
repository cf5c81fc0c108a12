#include "source/postgres/physical/data_dir_rules.h"

#include <gtest/gtest.h>

namespace coffer::pg::physical {
namespace {

TEST(DataDirRulesTest, LeavesOutWhatPgBasebackupLeavesOut) {
  const std::set<std::string> none;
  for (const char* out :
       {"pg_wal/000000010000000000000001", "pg_wal/archive_status", "pg_wal/archive_status/x.ready",
        "pg_stat_tmp/global.stat", "pg_replslot/slot1", "pg_subtrans/0000", "pg_notify/0000", "pg_serial/0000",
        "pg_snapshots/00000003-1", "pg_dynshmem/mmap.1", "postmaster.pid", "postmaster.opts", "recovery.signal",
        "standby.signal", "backup_label", "tablespace_map", "backup_manifest", "base/pgsql_tmp/pgsql_tmp123.0",
        "base/pgsql_tmp", "pg_tblspc/16390/PG_15_202209061/pgsql_tmp/x", "global/pg_internal.init",
        "base/5/pg_internal.init.1234", "base/5/t3_16384", "base/5/t3_16384_fsm", "base/5/t12_99.1"})
    EXPECT_TRUE(excluded(out, none)) << out;
  for (const char* in : {"pg_wal", "pg_stat_tmp", "pg_replslot", "PG_VERSION", "global/pg_control", "base/5/16384",
                         "base/5/16384_vm", "base/5/16384.2", "pg_xact/0000", "pg_multixact/offsets/0000",
                         "postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_tblspc/16390",
                         "pg_tblspc/16390/PG_15_202209061/5/16400", "pg_logical/replorigin_checkpoint",
                         "base/5/PG_VERSION", "base/5/pg_filenode.map", "current_logfiles", "log/postgresql.log"})
    EXPECT_FALSE(excluded(in, none)) << in;
}

TEST(DataDirRulesTest, AnUnloggedRelationKeepsOnlyItsInitFork) {
  const std::set<std::string> unlogged = {"base/5/16500"};
  EXPECT_TRUE(excluded("base/5/16500", unlogged));
  EXPECT_TRUE(excluded("base/5/16500.1", unlogged));
  EXPECT_TRUE(excluded("base/5/16500_fsm", unlogged));
  EXPECT_TRUE(excluded("base/5/16500_vm", unlogged));
  EXPECT_FALSE(excluded("base/5/16500_init", unlogged));
  EXPECT_FALSE(excluded("base/5/16501", unlogged));
  EXPECT_FALSE(excluded("base/6/16500", unlogged));
}

TEST(DataDirRulesTest, RecognisesRelationFiles) {
  auto r = relation_file("base/16384/2619_fsm");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->relation, "base/16384/2619");
  EXPECT_EQ(r->fork, "fsm");
  EXPECT_EQ(r->segment, 0u);
  r = relation_file("pg_tblspc/16390/PG_15_202209061/5/16400.3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->relation, "pg_tblspc/16390/PG_15_202209061/5/16400");
  EXPECT_EQ(r->segment, 3u);
  EXPECT_EQ(relation_file("global/1262")->relation, "global/1262");
  for (const char* no : {"global/pg_control", "base/5/PG_VERSION", "base/5/pg_filenode.map", "base/5/16384_xyz",
                         "base/5/16384.x", "pg_xact/0000", "base/5/t3_16384", "base/x/16384", "base/5/6/16384"})
    EXPECT_FALSE(relation_file(no)) << no;
}

}  // namespace
}  // namespace coffer::pg::physical
