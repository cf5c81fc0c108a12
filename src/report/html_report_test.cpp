#include "report/html_report.h"

#include <gtest/gtest.h>

#include <regex>

namespace coffer::report {
namespace {

TimePoint at_hours(double h) {
  return *parse_iso8601_utc("2026-11-01T00:00:00Z") + std::chrono::seconds(static_cast<long>(h * 3600));
}

HistoryRecord attempt(const std::string& type, double hour, bool ok, const std::string& error = "") {
  HistoryRecord r;
  r.backup_type = type;
  r.timestamp = format_iso8601_utc(at_hours(hour));
  r.backup_id = ok ? type + "_" + std::to_string(static_cast<int>(hour)) : "";
  r.status = ok ? "success" : "failed";
  r.duration_seconds = 2;
  r.backup.bytes_added = ok ? 1000 : 0;
  r.error = error;
  return r;
}

BackupInfo backup(const std::string& id, double hour) {
  BackupInfo b;
  b.backup_id = id;
  b.timestamp = format_iso8601_utc(at_hours(hour));
  b.size_bytes = 5000;
  return b;
}

// The svg element of a section, whole.
std::string chart(const std::string& page, const std::string& section) {
  const size_t start = page.find("<svg class=\"chart\" data-section=\"" + section + "\"");
  if (start == std::string::npos) return "";
  return page.substr(start, page.find("</svg>", start) - start);
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

int data_marks(const std::string& svg) {
  std::smatch m;
  if (!std::regex_search(svg, m, std::regex("data-marks=\"(\\d+)\""))) return -1;
  return std::stoi(m[1]);
}

struct Page {
  Analytics analytics;
  std::vector<BackupInfo> backups;
  PageOptions options;
  std::string html() const { return render_html(analytics, backups, options); }
};

Page a_week() {
  Page p;
  AnalyticsInput in;
  in.now = at_hours(24 * 7 + 1);
  in.stored_bytes = 20000;
  for (int d = 0; d < 7; ++d) {
    in.history.push_back(attempt("full", 24.0 * d + 2, true));
    in.history.push_back(attempt("incremental", 24.0 * d + 12, true));
    p.backups.push_back(backup("full_" + std::to_string(d), 24.0 * d + 2));
  }
  in.history.push_back(attempt("incremental", 50, false, "S3 said <NoSuchBucket> & \"gave up\""));
  in.history.push_back(attempt("differential", 100, false, ""));
  HistoryRecord c = attempt("cleanup", 75, true);
  c.cleanup.bytes_freed = 10;
  in.history.push_back(c);
  // Too old to be shown (more than 31 days before now).
  in.history.insert(in.history.begin(), attempt("full", -24 * 40, true));
  in.rooms = {{"BACKUP_DIR's filesystem", "/b", 1 << 30, std::nullopt}};
  p.analytics = analyze(in);
  p.options = {"/srv/backups", in.now, 0, {}, std::nullopt};
  return p;
}

TEST(HtmlReport, EachChartHasOneMarkPerDatumOfTheLastThirtyOneDays) {
  const Page p = a_week();
  const std::string html = p.html();
  const std::string timeline = chart(html, "timeline");
  EXPECT_EQ(data_marks(timeline), 16);  // 14 successes and 2 failures; the 40-day-old one is out
  EXPECT_EQ(count(timeline, "class=\"mark "), 16u);
  EXPECT_EQ(count(timeline, " failed\""), 2u);
  const std::string added = chart(html, "bytes-added");
  EXPECT_EQ(data_marks(added), 14);
  EXPECT_EQ(count(added, "class=\"mark "), 14u);
  const std::string duration = chart(html, "duration");
  EXPECT_EQ(data_marks(duration), 16);
  EXPECT_EQ(count(duration, "class=\"mark "), 16u);
  const std::string size = chart(html, "repository-size");
  EXPECT_EQ(data_marks(size), 15);  // 14 backups and the cleanup
  EXPECT_EQ(count(size, "class=\"mark "), 15u);
  EXPECT_EQ(count(size, "class=\"forecast\""), 1u);
  EXPECT_EQ(count(html, "<svg class=\"chart\""), 4u);
  EXPECT_EQ(count(html, "<tr class=\"failure\">"), 2u);
  EXPECT_EQ(count(html, "<tr class=\"backup\">"), 7u);
  EXPECT_EQ(html.find("<p class=\"empty\""), std::string::npos);
}

TEST(HtmlReport, FetchesNothingAndRunsNothing) {
  const std::string html = a_week().html();
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(html.find("<link rel=\"icon\" href=\"data:,\">"), std::string::npos);  // no /favicon.ico request
}

TEST(HtmlReport, ErrorsAreEscaped) {
  const std::string html = a_week().html();
  EXPECT_EQ(html.find("<NoSuchBucket>"), std::string::npos);
  EXPECT_NE(html.find("S3 said &lt;NoSuchBucket&gt; &amp; &quot;gave up&quot;"), std::string::npos);
  EXPECT_EQ(html_escape("a<b>&'\""), "a&lt;b&gt;&amp;&#39;&quot;");
}

TEST(HtmlReport, HealthAndRefreshAsAsked) {
  Page p = a_week();
  EXPECT_NE(p.html().find("class=\"health ok\""), std::string::npos);
  EXPECT_EQ(p.html().find("http-equiv=\"refresh\""), std::string::npos);
  p.options.health = {"the last full backup failed: <x>"};
  p.options.refresh_seconds = 60;
  const std::string html = p.html();
  EXPECT_NE(html.find("<div class=\"health bad\">the last full backup failed: &lt;x&gt;</div>"), std::string::npos);
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"60\">"), std::string::npos);
}

TEST(HtmlReport, AnEmptyRepositorySaysSoWithoutCharts) {
  Page p;
  AnalyticsInput in;
  in.now = at_hours(1);
  p.analytics = analyze(in);
  p.options.repository = "/srv/backups";
  p.options.now = in.now;
  const std::string html = p.html();
  EXPECT_NE(html.find("<p class=\"empty\">No backups yet"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace coffer::report
