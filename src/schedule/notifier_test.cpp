#include "schedule/notifier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "coffer/clock.h"
#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::schedule {
namespace {

namespace fs = std::filesystem;

EnvLookup env_of(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

JobRun failed_full() {
  JobRun r;
  r.name = "full";
  r.slot = r.started = parse_iso8601_utc("2026-01-01T02:00:00Z").value();
  r.ended = r.started + std::chrono::seconds(12);
  r.ok = false;
  r.error = "could not connect to the database";
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(Notifier, FailedJobRunsTheCommandWithDetailsAndWithoutSecrets) {
  test_support::TempDir dir{"coffer-notify"};
  setenv("DB_PASSWORD", "s3cr3t-db-pw", 1);
  setenv("BACKUP_PASSPHRASE", "s3cr3t-pass", 1);
  setenv("DASHBOARD_TOKEN", "s3cr3t-token", 1);
  setenv("PGPASSWORD", "s3cr3t-pg", 1);
  NotifySettings s;
  s.command = "env > '" + (dir.path / "env").string() + "'";
  NotifyOutcome o = Notifier(s).job_finished(failed_full());
  unsetenv("DB_PASSWORD");
  unsetenv("BACKUP_PASSPHRASE");
  unsetenv("DASHBOARD_TOKEN");
  unsetenv("PGPASSWORD");
  EXPECT_TRUE(o.ran);
  EXPECT_EQ(o.exit_code, 0);
  std::string env = slurp(dir.path / "env");
  EXPECT_NE(env.find("COFFER_JOB=full\n"), std::string::npos) << env;
  EXPECT_NE(env.find("COFFER_STATUS=failure\n"), std::string::npos);
  EXPECT_NE(env.find("COFFER_ERROR=could not connect to the database\n"), std::string::npos);
  EXPECT_NE(env.find("COFFER_STARTED=2026-01-01T02:00:00"), std::string::npos);
  EXPECT_NE(env.find("COFFER_DURATION_SECONDS=12"), std::string::npos);
  EXPECT_EQ(env.find("s3cr3t"), std::string::npos);  // no secret reaches the hook
}

TEST(Notifier, SuccessRunsOnlyWhenAskedForAlways) {
  test_support::TempDir dir{"coffer-notify"};
  JobRun ok = failed_full();
  ok.ok = true;
  ok.error.clear();
  ok.output.backup_id = "full_20260101_020000";
  NotifySettings s;
  s.command = "echo \"$COFFER_STATUS $COFFER_BACKUP_ID\" >> '" + (dir.path / "log").string() + "'";
  EXPECT_FALSE(Notifier(s).job_finished(ok).ran);
  s.always = true;
  EXPECT_TRUE(Notifier(s).job_finished(ok).ran);
  EXPECT_EQ(slurp(dir.path / "log"), "success full_20260101_020000\n");
  EXPECT_FALSE(Notifier(NotifySettings{}).job_finished(failed_full()).ran);  // no command
}

TEST(Notifier, FailingCommandIsReportedNotThrown) {
  NotifySettings s;
  s.command = "echo mail server down >&2; exit 3";
  NotifyOutcome o = Notifier(s).job_finished(failed_full());
  EXPECT_TRUE(o.ran);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_FALSE(o.timed_out);
  EXPECT_NE(o.output.find("mail server down"), std::string::npos);
}

TEST(Notifier, HangingCommandAndItsChildrenAreKilledAtTheTimeout) {
  test_support::TempDir dir{"coffer-notify"};
  NotifySettings s;
  s.timeout = std::chrono::seconds(1);
  // A child that ignores SIGTERM and keeps the output pipe open, and a parent that waits for it.
  fs::path pidfile = dir.path / "child.pid";
  s.command = "sh -c 'trap \"\" TERM; echo $$ > " + pidfile.string() + "; sleep 60' & wait";
  auto t0 = std::chrono::steady_clock::now();
  NotifyOutcome o = Notifier(s).job_finished(failed_full());
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(o.timed_out);
  EXPECT_LT(took, std::chrono::seconds(8));  // 1 s timeout + 2 s grace, with room for a slow machine
  pid_t child = std::stoi(slurp(pidfile));
  // Gone, or a zombie waiting for whoever adopted it (here: PID 1) to reap it.
  auto alive = [child] {
    std::string stat = slurp("/proc/" + std::to_string(child) + "/stat");
    size_t close_paren = stat.rfind(')');
    return !stat.empty() && close_paren != std::string::npos && stat.substr(close_paren + 2, 1) != "Z";
  };
  for (int i = 0; i < 50 && alive(); ++i) usleep(20000);
  EXPECT_FALSE(alive()) << "the hook's child survived";
}

TEST(NotifySettings, ParsesAndRejectsWithTheSettingsName) {
  NotifySettings d = load_notify_settings(env_of({}));
  EXPECT_EQ(d.command, "");
  EXPECT_FALSE(d.always);
  EXPECT_EQ(d.timeout, std::chrono::seconds(30));
  NotifySettings s = load_notify_settings(
      env_of({{"NOTIFY_COMMAND", " /usr/local/bin/page-me "}, {"NOTIFY_ON", "always"}, {"NOTIFY_TIMEOUT_SECONDS", "5"}}));
  EXPECT_EQ(s.command, "/usr/local/bin/page-me");
  EXPECT_TRUE(s.always);
  EXPECT_EQ(s.timeout, std::chrono::seconds(5));
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"NOTIFY_ON", "sometimes"}, {"NOTIFY_TIMEOUT_SECONDS", "0"}, {"NOTIFY_TIMEOUT_SECONDS", "ten"}}) {
    try {
      load_notify_settings(env_of({{k, v}}));
      ADD_FAILURE() << k << "=" << v;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig);
      EXPECT_NE(std::string(e.what()).find(k), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace coffer::schedule
