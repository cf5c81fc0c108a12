// `coffer report --html FILE`: the dashboard as one self-contained HTML file (charts of the
// backups, the repository's growth and forecast, the last failures, the backups), for a browser,
// an e-mail or a phone. `coffer report --json`: the analytics only (as `status --json` has them).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli.h"
#include "coffer/clock.h"
#include "coffer/report.h"

namespace coffer::cli {

namespace {

namespace fs = std::filesystem;

// Written beside `path` and renamed over it: a reader never sees half a page.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      fail(ErrorCategory::kStorage, "cannot write " + path.string() + ": check that its folder exists and is writable");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail(ErrorCategory::kStorage, "cannot write " + path.string() + ": " + ec.message());
  }
}

}  // namespace

Runner add_report(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("report", "the backups' health at a glance: --html FILE writes a self-contained page "
                                           "(charts, forecast, failures, backups; no script, nothing fetched); "
                                           "--json prints the analytics");
  struct Args {
    std::string html;
    int refresh = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--html", a->html, "write the page to this file (replaced whole)");
  cmd->add_option("--refresh", a->refresh, "the page reloads itself every N seconds (0: never)")
      ->check(CLI::Range(0, 86400));
  return [&g, a] {
    if (a->html.empty() && !g.json)
      fail(ErrorCategory::kInput, "coffer report: give --html FILE for the page, or --json for the analytics");
    const ReportSettings settings = report_settings(service_settings_of(g));
    auto manager = make_manager(g, kReading);
    const BackupReport report(*manager, settings, job_now());
    clear_progress();
    if (a->html.empty()) {
      print_json(report.analytics_json());
      return 0;
    }
    const std::string page = report.html(a->refresh);
    write_atomically(a->html, page);
    if (g.json)
      print_json({{"file", a->html}, {"backups", report.backup_count()}, {"bytes", page.size()}});
    else if (!g.quiet)
      std::printf("report: %s (%zu backups, %s)\n", a->html.c_str(), report.backup_count(),
                  human_bytes(page.size()).c_str());
    for (const std::string& w : report.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
    return 0;
  };
}

}  // namespace coffer::cli
