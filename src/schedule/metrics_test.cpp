#include "schedule/metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "coffer/clock.h"
#include "coffer/error.h"
#include "testing/fixtures.h"

namespace coffer::schedule {
namespace {

TimePoint at(const std::string& iso) { return parse_iso8601_utc(iso).value(); }

EnvLookup env_of(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

// Every sample line "name{labels} value" of a rendered text, keyed by "name{labels}".
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

JobRun job(const std::string& name, const char* start, int seconds, bool ok, uint64_t added = 0) {
  JobRun r;
  r.name = name;
  r.slot = r.started = at(start);
  r.ended = r.started + std::chrono::seconds(seconds);
  r.ok = ok;
  if (!ok) r.error = "boom";
  r.output.bytes_added = added;
  return r;
}

TEST(Metrics, RecordsSuccessesFailuresDurationsAndBytesPerJob) {
  Metrics m(at("2026-01-01T00:00:00Z"));
  m.seed_last_success("full", at("2025-12-31T02:00:00Z"));
  m.record(job("full", "2026-01-01T02:00:00Z", 30, true, 1000));
  m.record(job("incremental", "2026-01-01T09:00:00Z", 5, true, 10));
  m.record(job("incremental", "2026-01-01T10:00:00Z", 7, false));
  m.set_repository_bytes(123456);
  AnalyticsGauges gauges;
  gauges.growth_bytes_per_day = 1048576;
  gauges.dedup_ratio = 2.5;
  gauges.days_left["disk"] = 42;
  m.set_analytics(gauges);
  auto s = samples(m.render());
  EXPECT_EQ(s["coffer_scheduler_start_time_seconds"], "1767225600");
  EXPECT_EQ(s["coffer_repository_growth_bytes_per_day"], "1048576");
  EXPECT_EQ(s["coffer_dedup_ratio"], "2.5");
  EXPECT_EQ(s.count("coffer_compression_ratio"), 0u);  // unknown: left out, not 0
  EXPECT_EQ(s["coffer_storage_days_left{room=\"disk\"}"], "42");
  EXPECT_EQ(s["coffer_job_last_success_timestamp_seconds{job=\"full\"}"], "1767232830");  // 02:00:30
  EXPECT_EQ(s["coffer_job_last_duration_seconds{job=\"full\"}"], "30");
  EXPECT_EQ(s["coffer_job_runs_total{job=\"full\"}"], "1");
  EXPECT_EQ(s["coffer_backup_last_bytes_added{job=\"full\"}"], "1000");
  EXPECT_EQ(s["coffer_job_runs_total{job=\"incremental\"}"], "1");
  EXPECT_EQ(s["coffer_job_failures_total{job=\"incremental\"}"], "1");
  EXPECT_EQ(s["coffer_job_last_run_success{job=\"incremental\"}"], "0");
  EXPECT_EQ(s["coffer_job_last_failure_timestamp_seconds{job=\"incremental\"}"], "1767261607");
  EXPECT_EQ(s["coffer_backup_bytes_added_total{job=\"incremental\"}"], "10");
  EXPECT_EQ(s["coffer_job_failures_total{job=\"cleanup\"}"], "0");
  EXPECT_EQ(s.count("coffer_job_last_success_timestamp_seconds{job=\"cleanup\"}"), 0u);  // never ran
  EXPECT_EQ(s["coffer_repository_size_bytes"], "123456");
}

TEST(Metrics, DrillsHaveTheirLastSuccessDurationAndFailures) {
  Metrics m(at("2026-12-01T00:00:00Z"));
  auto before = samples(m.render());
  EXPECT_EQ(before["coffer_job_failures_total{job=\"drill\"}"], "0");  // listed before the first drill
  m.record(job("drill", "2026-12-06T04:00:00Z", 95, true));
  m.record(job("drill", "2027-01-03T04:00:00Z", 40, false));
  auto s = samples(m.render());
  EXPECT_EQ(s["coffer_job_last_success_timestamp_seconds{job=\"drill\"}"], "1796529695");  // 04:01:35
  EXPECT_EQ(s["coffer_job_last_duration_seconds{job=\"drill\"}"], "40");
  EXPECT_EQ(s["coffer_job_failures_total{job=\"drill\"}"], "1");
  EXPECT_EQ(s["coffer_job_last_run_success{job=\"drill\"}"], "0");
}

TEST(Metrics, SeededSuccessSurvivesUntilANewerOne) {
  Metrics m(at("2026-01-01T00:00:00Z"));
  m.seed_last_success("full", at("2025-12-31T02:00:00Z"));
  m.seed_last_success("full", at("2025-12-30T02:00:00Z"));  // older: ignored
  auto s = samples(m.render());
  EXPECT_EQ(s["coffer_job_last_success_timestamp_seconds{job=\"full\"}"], "1767146400");
  EXPECT_EQ(s.count("coffer_job_last_run_success{job=\"full\"}"), 0u);  // no run since start
}

TEST(Metrics, TextFormatHasHelpAndTypeForEveryFamily) {
  Metrics m(at("2026-01-01T00:00:00Z"));
  std::string text = m.render();
  std::istringstream in(text);
  std::string last_type_for;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      last_type_for = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("#", 0) == 0) continue;
    EXPECT_EQ(line.rfind(last_type_for, 0), 0u) << line;  // sample belongs to the family announced
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, WalArchiveAgeAndFailedPushesPerClusterAskedAtEachRender) {
  Metrics m(at("2026-12-05T10:00:00Z"));
  EXPECT_EQ(m.render(at("2026-12-05T10:05:00Z")).find("coffer_wal_"), std::string::npos);  // no source, no family
  int asked = 0;
  m.set_wal_source([&asked] {
    ++asked;
    WalArchiveStatus s;
    s.cluster = "7345-15";
    s.last_archived_time = "2026-12-05T10:04:00Z";
    s.failed_pushes = 3;
    return std::vector<WalArchiveStatus>{s};
  });
  const std::string text = m.render(at("2026-12-05T10:05:00Z"));
  EXPECT_NE(text.find("coffer_wal_last_archived_age_seconds{cluster=\"7345-15\"} 60\n"), std::string::npos) << text;
  EXPECT_NE(text.find("coffer_wal_failed_pushes{cluster=\"7345-15\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE coffer_wal_last_archived_timestamp_seconds gauge"), std::string::npos);
  m.render();
  EXPECT_EQ(asked, 2);
  m.set_wal_source([]() -> std::vector<WalArchiveStatus> { throw Error(ErrorCategory::kStorage, "unreadable"); });
  EXPECT_EQ(m.render().find("coffer_wal_failed"), std::string::npos);
}

TEST(Metrics, WriteFileIsAtomicAndComplete) {
  test_support::TempDir tmp("coffer-metrics");
  const std::filesystem::path& dir = tmp.path;
  Metrics m(at("2026-01-01T00:00:00Z"));
  m.record(job("full", "2026-01-01T02:00:00Z", 3, true, 5));
  m.write_file(dir / "coffer.prom");
  std::ifstream in(dir / "coffer.prom");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, m.render());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temp file left
  EXPECT_THROW(m.write_file(dir / "missing" / "coffer.prom"), Error);
}

TEST(MetricsSettings, ParsesAndRejectsWithTheSettingsName) {
  MetricsSettings d = load_metrics_settings(env_of({}));
  EXPECT_TRUE(d.file.empty());
  EXPECT_EQ(d.port, 0);
  EXPECT_EQ(d.address, "127.0.0.1");
  MetricsSettings s = load_metrics_settings(env_of({{"METRICS_PORT", "9187"}, {"METRICS_FILE", "/tmp/x.prom"}}));
  EXPECT_EQ(s.port, 9187);
  EXPECT_EQ(s.file, "/tmp/x.prom");
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"METRICS_PORT", "70000"},
                                                        {"METRICS_PORT", "http"},
                                                        {"METRICS_ADDRESS", "localhost:1"},
                                                        {"METRICS_FILE", "/no/such/dir/x.prom"}}) {
    try {
      load_metrics_settings(env_of({{k, v}}));
      ADD_FAILURE() << k << "=" << v;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kConfig);
      EXPECT_NE(std::string(e.what()).find(k), std::string::npos) << e.what();
    }
  }
}

TEST(Metrics, OffsiteResultPerJobAndAgeOfTheNewestOffsiteBackup) {
  Metrics m(at("2026-01-01T00:00:00Z"));
  auto s = samples(m.render(at("2026-01-01T00:00:00Z")));
  EXPECT_EQ(s.count("coffer_offsite_newest_backup_age_seconds"), 0u);  // nothing known: no sample
  m.seed_newest_offsite(at("2025-12-31T02:00:00Z"));
  JobRun copied = job("full", "2026-01-01T02:00:00Z", 30, true, 1000);
  copied.output.offsite_copied = true;
  m.record(copied);
  JobRun not_copied = job("incremental", "2026-01-01T09:00:00Z", 5, false);
  not_copied.output.offsite_copied = false;
  m.record(not_copied);
  m.record(job("cleanup", "2026-01-01T03:00:00Z", 5, true));  // no copy: no sample
  s = samples(m.render(at("2026-01-01T10:00:00Z")));
  EXPECT_EQ(s["coffer_job_last_offsite_copy_success{job=\"full\"}"], "1");
  EXPECT_EQ(s["coffer_job_last_offsite_copy_success{job=\"incremental\"}"], "0");
  EXPECT_EQ(s.count("coffer_job_last_offsite_copy_success{job=\"cleanup\"}"), 0u);
  EXPECT_EQ(s["coffer_offsite_newest_backup_timestamp_seconds"], "1767232800");  // the full at 02:00
  EXPECT_EQ(s["coffer_offsite_newest_backup_age_seconds"], "28800");             // 8 h later
}

}  // namespace
}  // namespace coffer::schedule
