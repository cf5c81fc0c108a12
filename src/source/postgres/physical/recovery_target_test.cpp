#include "source/postgres/physical/recovery_target.h"

#include <gtest/gtest.h>

#include "coffer/error.h"

namespace coffer::pg::physical {
namespace {

TEST(RecoveryTargetTest, TimesNeedAnOffsetAndAreTakenToUtc) {
  const TimePoint utc = *parse_iso8601_utc("2026-12-05T09:42:17Z");
  EXPECT_EQ(parse_target_time("2026-12-05 10:42:17+01"), utc);
  EXPECT_EQ(parse_target_time("2026-12-05T09:42:17Z"), utc);
  EXPECT_EQ(parse_target_time("2026-12-05 04:12:17-05:30"), utc);
  EXPECT_EQ(parse_target_time("2026-12-05 15:12:17 +0530"), utc);
  EXPECT_EQ(parse_target_time("2026-12-05 09:42:17.250+00") - utc, std::chrono::milliseconds(250));
  for (const char* bad : {"2026-12-05 09:42:17", "2026-12-05", "yesterday", "2026-12-05 09:42:17 CET",
                          "2026-12-05 09:42:17+1", "2026-12-05 09:42:17+25", "2026-02-30 09:42:17Z",
                          "2026-12-05 09:42:17+01:00x"}) {
    try {
      parse_target_time(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kInput);
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(RecoveryTargetTest, WritesTheSettingsPostgresReads) {
  RecoveryTarget t;
  t.kind = RecoveryTarget::Kind::kTime;
  t.time = parse_target_time("2026-12-05 10:42:17+01");
  t.action = "promote";
  const std::string conf = recovery_settings(t, "'/usr/bin/coffer' --backup-dir '/srv/b' wal-fetch %f \"%p\"");
  EXPECT_NE(conf.find("restore_command = '''/usr/bin/coffer'' --backup-dir ''/srv/b'' wal-fetch %f \"%p\"'\n"),
            std::string::npos) << conf;
  EXPECT_NE(conf.find("recovery_target_time = '2026-12-05 09:42:17.000000+00'\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("recovery_target_action = 'promote'\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("recovery_target_timeline = 'latest'\n"), std::string::npos) << conf;

  RecoveryTarget latest;
  const std::string all = recovery_settings(latest, "coffer wal-fetch %f %p");
  EXPECT_EQ(all.find("recovery_target_action"), std::string::npos) << all;  // no target: replay everything
  EXPECT_EQ(all.find("recovery_target ="), std::string::npos) << all;

  RecoveryTarget lsn;
  lsn.kind = RecoveryTarget::Kind::kLsn;
  lsn.lsn = 0x16B374D848ull;
  EXPECT_NE(recovery_settings(lsn, "x").find("recovery_target_lsn = '16/B374D848'"), std::string::npos);
}

TEST(RecoveryTargetTest, RefusesBadTextTargets) {
  RecoveryTarget t;
  t.kind = RecoveryTarget::Kind::kXid;
  t.xid = "12a";
  EXPECT_THROW(validate(t), Error);
  t.xid = "1234";
  EXPECT_NO_THROW(validate(t));
  t.kind = RecoveryTarget::Kind::kName;
  t.name = "before'; DROP";
  EXPECT_THROW(validate(t), Error);
  t.name = "before upgrade";
  EXPECT_NO_THROW(validate(t));
  t.action = "resume";
  EXPECT_THROW(validate(t), Error);
  t.action = "shutdown";
  t.timeline = "2x";
  EXPECT_THROW(validate(t), Error);
  t.timeline = "2";
  EXPECT_NO_THROW(validate(t));
}

}  // namespace
}  // namespace coffer::pg::physical
