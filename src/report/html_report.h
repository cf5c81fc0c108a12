// The dashboard page: one self-contained HTML document (inline CSS and SVG charts; no script, no
// font, image or style fetched from anywhere, and a Content-Security-Policy that forbids it), so
// it works offline, attached to an e-mail, on a phone. `coffer report --html` writes it; the
// scheduler's metrics server serves it at GET /.
//
// What a test can count: each chart is <svg class="chart" data-section=S data-marks=N> whose N
// elements of class "mark" are its data: `timeline` (each create attempt, failed ones also
// "failed"), `bytes-added` (each successful create), `duration` (each attempt), `repository-size`
// (each point of the size series), all within the last 31 days. Tables: `failures` (the last
// 10 failed attempts, newest first), `backups` (what `coffer list` shows). An empty repository
// gets <p class="empty"> and no chart.
#pragma once

#include <string>
#include <vector>

#include "coffer/backup_types.h"
#include "coffer/history.h"
#include "report/analytics.h"

namespace coffer::report {

struct PageOptions {
  std::string repository;   // where the repository is (BACKUP_DIR, or the S3 bucket and prefix)
  TimePoint now{};
  int refresh_seconds = 0;  // > 0: the browser reloads the page that often (the live page)
  std::vector<std::string> health;  // problems `coffer status` sees; empty: healthy
  std::optional<HistoryRecord> last_drill;
};

std::string render_html(const Analytics& analytics, const std::vector<BackupInfo>& backups, const PageOptions& options);

// `text` with &, <, >, " and ' as entities: safe in element content and quoted attributes.
std::string html_escape(const std::string& text);

}  // namespace coffer::report
