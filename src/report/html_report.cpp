#include "report/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "coffer/human_bytes.h"

namespace coffer::report {

namespace {

constexpr int kWindowDays = 31;
// The forecast reaches as far ahead as the history shown goes back, within these bounds.
constexpr double kMinForecastDays = 7, kMaxForecastDays = 30;
constexpr size_t kFailuresShown = 10;
// The chart's drawing area inside its viewBox (0 0 kWidth kHeight).
constexpr double kWidth = 720, kHeight = 220, kLeft = 84, kRight = 12, kTop = 12, kBottom = 28;

const char* kStyle = R"(
:root{color-scheme:light dark;--fg:#1a202c;--muted:#5a6270;--bg:#fff;--card:#f4f6f8;--line:#d5dae0;
--full:#2b6cb0;--incremental:#2f855a;--differential:#b7791f;--failed:#c53030}
@media (prefers-color-scheme:dark){:root{--fg:#e2e8f0;--muted:#a0aec0;--bg:#171923;--card:#222633;--line:#3a4150}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:980px;padding:12px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;
color:var(--fg);background:var(--bg)}
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em}
.where,.note,.legend{color:var(--muted);font-size:.9em}
.where,p.empty,td.error{overflow-wrap:anywhere}
.health{padding:8px 12px;border-radius:6px;margin:8px 0;font-weight:600}
.ok{background:#e6f4ea;color:#1e4620}.bad{background:#fde8e8;color:#7b1d1d}
@media (prefers-color-scheme:dark){.ok{background:#1e3a2a;color:#c6f6d5}.bad{background:#4a1d1d;color:#fed7d7}}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:8px 0}
.card{background:var(--card);border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:1.15em}.card span{color:var(--muted);font-size:.85em}
svg.chart{width:100%;height:auto;display:block;background:var(--card);border-radius:6px}
svg text{fill:var(--muted);font-size:11px}
@media (max-width:600px){svg text{font-size:17px}body{font-size:14px}}
.axis{stroke:var(--line);stroke-width:1}
.full{fill:var(--full)}.incremental{fill:var(--incremental)}.differential{fill:var(--differential)}
.failed{fill:var(--failed)}
.size{fill:none;stroke:var(--full);stroke-width:2}.forecast{fill:none;stroke:var(--muted);stroke-width:2;stroke-dasharray:6 4}
.dot{fill:var(--full)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
.legend i.full{background:var(--full)}.legend i.incremental{background:var(--incremental)}
.legend i.differential{background:var(--differential)}.legend i.failed{background:var(--failed)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.88em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
td.error{white-space:normal;min-width:14em}
td.n,th.n{text-align:right}
p.empty{font-size:1.1em;padding:16px;background:var(--card);border-radius:6px}
)";

std::string num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string short_utc(TimePoint t) {
  std::string s = format_iso8601_utc(t);  // 2024-12-01T02:00:00.000000Z
  return s.substr(0, 10) + " " + s.substr(11, 5);
}

std::string day_label(TimePoint t) { return format_iso8601_utc(t).substr(5, 5); }  // MM-DD

double days_between(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count() / 86400; }

std::string duration_text(double seconds) {
  if (seconds < 10) return num(seconds, 2) + " s";
  if (seconds < 120) return num(seconds) + " s";
  if (seconds < 7200) return num(seconds / 60) + " min";
  return num(seconds / 3600) + " h";
}

// One chart: the SVG element, its frame, and the marks counted in data-marks.
class Chart {
 public:
  Chart(std::string section, std::string title) : section_(std::move(section)), title_(std::move(title)) {}
  void mark(const std::string& element) {
    body_ << element << '\n';
    ++marks_;
  }
  void decoration(const std::string& element) { body_ << element << '\n'; }
  std::string svg() const {
    std::ostringstream o;
    o << "<svg class=\"chart\" data-section=\"" << section_ << "\" data-marks=\"" << marks_ << "\" viewBox=\"0 0 "
      << kWidth << ' ' << kHeight << "\" role=\"img\" aria-label=\"" << html_escape(title_) << "\">\n"
      << "<title>" << html_escape(title_) << "</title>\n"
      << "<line class=\"axis\" x1=\"" << kLeft << "\" y1=\"" << kHeight - kBottom << "\" x2=\"" << kWidth - kRight
      << "\" y2=\"" << kHeight - kBottom << "\"/>\n"
      << "<line class=\"axis\" x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\""
      << kHeight - kBottom << "\"/>\n"
      << body_.str() << "</svg>\n";
    return o.str();
  }

 private:
  std::string section_, title_;
  std::ostringstream body_;
  size_t marks_ = 0;
};

std::string text_at(double x, double y, const std::string& text, const char* anchor = "middle") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\">" + html_escape(text) +
         "</text>";
}

// Maps time onto the x axis of a chart covering [from, to].
struct TimeAxis {
  TimePoint from, to;
  double x(TimePoint t) const {
    const double span = std::max(days_between(from, to), 1e-9);
    return kLeft + (kWidth - kLeft - kRight) * days_between(from, t) / span;
  }
  void label_days(Chart& c) const {
    const double days = days_between(from, to);
    const int step = days > 20 ? 7 : days > 8 ? 2 : 1;
    for (int d = 0; d <= static_cast<int>(days); d += step) {
      TimePoint t = from + std::chrono::hours(24 * d);
      c.decoration(text_at(x(t), kHeight - kBottom + 16, day_label(t)));
    }
  }
};

// A y axis from 0 to `max` with three labels.
struct ValueAxis {
  double max;
  double y(double v) const { return kHeight - kBottom - (kHeight - kTop - kBottom) * (max > 0 ? v / max : 0); }
  void label(Chart& c, const std::function<std::string(double)>& text) const {
    for (double f : {0.0, 0.5, 1.0}) c.decoration(text_at(kLeft - 6, y(max * f) + 4, text(max * f), "end"));
  }
};

std::string title_of(const Attempt& a) {
  return a.type + " " + (a.ok ? a.backup_id : "FAILED") + " at " + short_utc(a.at) + ", " +
         duration_text(a.duration_seconds) + (a.ok ? ", added " + human_bytes(a.bytes_added) : ": " + a.error);
}

std::string bar(double x, double width, double top, double bottom, const std::string& cls, const std::string& title) {
  return "<rect class=\"mark " + cls + "\" x=\"" + num(x) + "\" y=\"" + num(top) + "\" width=\"" + num(width) +
         "\" height=\"" + num(std::max(bottom - top, 1.0)) + "\"><title>" + html_escape(title) + "</title></rect>";
}

// Each attempt by day (x) and hour of day (y).
std::string timeline_chart(const std::vector<Attempt>& shown, const TimeAxis& axis) {
  Chart c("timeline", "Backups by day and hour, coloured by type; failures in red");
  for (int h : {0, 6, 12, 18, 24}) {
    double y = kTop + (kHeight - kTop - kBottom) * h / 24.0;
    c.decoration(text_at(kLeft - 6, y + 4, (h < 10 ? "0" : "") + std::to_string(h) + ":00", "end"));
  }
  axis.label_days(c);
  for (const Attempt& a : shown) {
    const std::string t = format_iso8601_utc(a.at);
    const double hour = std::stod(t.substr(11, 2)) + std::stod(t.substr(14, 2)) / 60;
    const double y = kTop + (kHeight - kTop - kBottom) * hour / 24.0;
    const std::string cls = a.ok ? a.type : a.type + " failed";
    c.mark("<circle class=\"mark " + cls + "\" cx=\"" + num(axis.x(a.at)) + "\" cy=\"" + num(y) + "\" r=\"" +
           (a.ok ? "5" : "7") + "\"><title>" + html_escape(title_of(a)) + "</title></circle>");
  }
  return c.svg();
}

// One bar per attempt in time order, its height value(a).
std::string bars_chart(const std::string& section, const std::string& title, const std::vector<const Attempt*>& shown,
                       const std::function<double(const Attempt&)>& value,
                       const std::function<std::string(double)>& label) {
  Chart c(section, title);
  double max = 0;
  for (const Attempt* a : shown) max = std::max(max, value(*a));
  const ValueAxis v{max > 0 ? max : 1};
  v.label(c, label);
  const double slot = (kWidth - kLeft - kRight) / static_cast<double>(std::max<size_t>(shown.size(), 1));
  const double width = std::max(slot * 0.7, 1.0);
  for (size_t i = 0; i < shown.size(); ++i) {
    const Attempt& a = *shown[i];
    c.mark(bar(kLeft + slot * static_cast<double>(i) + (slot - width) / 2, width, v.y(value(a)), kHeight - kBottom,
               a.ok ? a.type : "failed", title_of(a)));
  }
  if (!shown.empty()) {
    c.decoration(text_at(kLeft, kHeight - kBottom + 16, day_label(shown.front()->at), "start"));
    c.decoration(text_at(kWidth - kRight, kHeight - kBottom + 16, day_label(shown.back()->at), "end"));
  }
  return c.svg();
}

// The repository's size after each backup and cleanup, and the trend 30 days on.
std::string size_chart(const Analytics& a, const std::vector<SizePoint>& shown, TimePoint from, TimePoint now) {
  Chart c("repository-size", "Repository size, and the forecast at the current growth (dashed)");
  const bool forecast = a.growth_bytes_per_day.has_value();
  const double ahead = std::clamp(days_between(from, now), kMinForecastDays, kMaxForecastDays);
  const TimePoint to = forecast ? now + std::chrono::hours(static_cast<int>(24 * ahead)) : now;
  const TimeAxis axis{from, to};
  double max = static_cast<double>(a.stored_bytes);
  for (const SizePoint& p : shown) max = std::max(max, static_cast<double>(p.bytes));
  const double end_bytes = forecast ? std::max(0.0, static_cast<double>(a.stored_bytes) + *a.growth_bytes_per_day * ahead) : 0;
  max = std::max(max, end_bytes);
  const ValueAxis v{max > 0 ? max * 1.05 : 1};
  v.label(c, [](double b) { return human_bytes(static_cast<uint64_t>(b)); });
  axis.label_days(c);
  std::string line;
  for (const SizePoint& p : shown) line += num(axis.x(p.at)) + "," + num(v.y(static_cast<double>(p.bytes))) + " ";
  line += num(axis.x(now)) + "," + num(v.y(static_cast<double>(a.stored_bytes)));
  c.decoration("<polyline class=\"size\" points=\"" + line + "\"/>");
  if (forecast)
    c.decoration("<polyline class=\"forecast\" points=\"" + num(axis.x(now)) + "," +
                 num(v.y(static_cast<double>(a.stored_bytes))) + " " + num(axis.x(to)) + "," + num(v.y(end_bytes)) +
                 "\"><title>" + html_escape("forecast: " + human_bytes(static_cast<uint64_t>(end_bytes)) + " in " +
                                            num(ahead, 0) + " days") +
                 "</title></polyline>");
  for (const SizePoint& p : shown)
    c.mark("<circle class=\"mark dot\" cx=\"" + num(axis.x(p.at)) + "\" cy=\"" + num(v.y(static_cast<double>(p.bytes))) +
           "\" r=\"3.5\"><title>" + html_escape(short_utc(p.at) + ": " + human_bytes(p.bytes)) + "</title></circle>");
  return c.svg();
}

std::string card(const std::string& value, const std::string& label) {
  return "<div class=\"card\"><b>" + html_escape(value) + "</b><span>" + html_escape(label) + "</span></div>\n";
}

std::string cards(const Analytics& a, const std::vector<BackupInfo>& backups, const PageOptions& o) {
  std::string out = "<div class=\"cards\">\n";
  std::optional<TimePoint> newest;
  for (const BackupInfo& b : backups)
    if (std::optional<TimePoint> t = parse_iso8601_utc(b.timestamp); t && (!newest || *t > *newest)) newest = t;
  out += card(newest ? duration_text(std::chrono::duration<double>(o.now - *newest).count()) + " ago" : "never",
              "newest backup");
  out += card(std::to_string(backups.size()), "backups kept");
  out += card(human_bytes(a.stored_bytes), "repository size");
  out += card(a.growth_bytes_per_day ? human_bytes(static_cast<uint64_t>(std::max(0.0, *a.growth_bytes_per_day))) + "/day"
                                     : "-",
              "growth (30 days)");
  for (const RoomForecast& f : a.rooms)
    out += card(f.days_left ? num(*f.days_left, 0) + " days" : "not filling",
                "left on " + f.room.name + " (" + human_bytes(f.room.free_bytes) + " free)");
  out += card(a.dedup_ratio ? num(*a.dedup_ratio, 2) + "x" : "-", "deduplication");
  out += card(a.compression_ratio ? num(*a.compression_ratio, 2) + "x" : "-", "compression");
  if (o.last_drill)
    out += card(o.last_drill->status == "success" ? "passed" : "FAILED",
                "last restore drill, " + o.last_drill->timestamp.substr(0, 10));
  return out + "</div>\n";
}

std::string failures_table(const std::vector<Attempt>& attempts) {
  std::vector<const Attempt*> failed;
  for (auto it = attempts.rbegin(); it != attempts.rend() && failed.size() < kFailuresShown; ++it)
    if (!it->ok) failed.push_back(&*it);
  if (failed.empty()) return "<p class=\"note\">No failed backup in the log.</p>\n";
  std::string out = "<div class=\"scroll\"><table class=\"failures\">\n<tr><th>Time (UTC)</th><th>Type</th><th>Error</th></tr>\n";
  for (const Attempt* a : failed)
    out += "<tr class=\"failure\"><td>" + short_utc(a->at) + "</td><td>" + html_escape(a->type) +
           "</td><td class=\"error\">" + html_escape(a->error.empty() ? "unknown" : a->error) + "</td></tr>\n";
  return out + "</table></div>\n";
}

std::string backups_table(const std::vector<BackupInfo>& backups) {
  std::string out =
      "<div class=\"scroll\"><table class=\"backups\">\n<tr><th>ID</th><th>Type</th><th>Time (UTC)</th>"
      "<th class=\"n\">Files</th><th class=\"n\">Size</th><th>Database</th><th class=\"n\">Added</th>"
      "<th class=\"n\">Seconds</th><th>Pinned</th></tr>\n";
  for (auto it = backups.rbegin(); it != backups.rend(); ++it) {  // newest first
    const BackupInfo& b = *it;
    std::string db = "-";
    if (b.database) db = b.database->name + " " + human_bytes(b.database->dump_bytes);
    if (b.physical) db = "cluster " + b.physical->cluster + " " + human_bytes(b.physical->data_bytes);
    std::optional<TimePoint> t = parse_iso8601_utc(b.timestamp);
    out += "<tr class=\"backup\"><td>" + html_escape(b.backup_id) + "</td><td>" + backup_type_name(b.type) + "</td><td>" +
           (t ? short_utc(*t) : html_escape(b.timestamp)) + "</td><td class=\"n\">" +
           (b.has_files ? std::to_string(b.file_count) : "-") + "</td><td class=\"n\">" + human_bytes(b.size_bytes) +
           "</td><td>" + html_escape(db) + "</td><td class=\"n\">" + human_bytes(b.bytes_added) +
           "</td><td class=\"n\">" + num(b.duration_seconds) + "</td><td>" + (b.pinned ? "yes" : "-") + "</td></tr>\n";
  }
  return out + "</table></div>\n";
}

const char* kLegend =
    "<p class=\"legend\"><i class=\"full\"></i>full<i class=\"incremental\"></i>incremental"
    "<i class=\"differential\"></i>differential<i class=\"failed\"></i>failed</p>\n";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string render_html(const Analytics& a, const std::vector<BackupInfo>& backups, const PageOptions& o) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
         "img-src data:\">\n"
      << "<link rel=\"icon\" href=\"data:,\">\n";
  if (o.refresh_seconds > 0) out << "<meta http-equiv=\"refresh\" content=\"" << o.refresh_seconds << "\">\n";
  out << "<title>coffer: backups of " << html_escape(o.repository) << "</title>\n<style>" << kStyle << "</style>\n"
      << "</head>\n<body>\n<h1>coffer backups</h1>\n<p class=\"where\">" << html_escape(o.repository) << " &middot; "
      << short_utc(o.now) << " UTC" << (o.refresh_seconds > 0 ? " &middot; refreshed every " + std::to_string(o.refresh_seconds) + " s" : "")
      << "</p>\n";

  if (a.empty() && backups.empty()) {
    out << "<p class=\"empty\">No backups yet in this repository, and no attempt in its log: run <code>coffer create "
           "--type full</code>, or start <code>coffer schedule</code>.</p>\n</body>\n</html>\n";
    return out.str();
  }
  if (o.health.empty())
    out << "<div class=\"health ok\">Healthy</div>\n";
  else
    for (const std::string& p : o.health) out << "<div class=\"health bad\">" << html_escape(p) << "</div>\n";
  out << cards(a, backups, o);

  const TimePoint from = o.now - std::chrono::hours(24 * kWindowDays);
  std::vector<Attempt> shown;
  for (const Attempt& at : a.attempts)
    if (at.at >= from && at.at <= o.now) shown.push_back(at);
  TimePoint first = o.now - std::chrono::hours(24);
  for (const Attempt& at : shown) first = std::min(first, at.at);
  std::vector<SizePoint> sizes;
  for (const SizePoint& p : a.size_series)
    if (p.at >= from && p.at <= o.now) sizes.push_back(p), first = std::min(first, p.at);
  // The charts start at midnight of the first day shown.
  const TimePoint start = std::chrono::floor<std::chrono::days>(first);
  std::vector<const Attempt*> all, ok;
  for (const Attempt& at : shown) {
    all.push_back(&at);
    if (at.ok) ok.push_back(&at);
  }

  out << "<h2>Timeline</h2>\n" << kLegend << timeline_chart(shown, TimeAxis{start, o.now});
  out << "<h2>Bytes added per backup</h2>\n"
      << bars_chart("bytes-added", "Bytes each backup added to the repository", ok,
                    [](const Attempt& x) { return static_cast<double>(x.bytes_added); },
                    [](double b) { return human_bytes(static_cast<uint64_t>(b)); });
  out << "<h2>Duration per backup</h2>\n"
      << bars_chart("duration", "How long each attempt took; failures in red", all,
                    [](const Attempt& x) { return x.duration_seconds; }, [](double s) { return duration_text(s); });
  out << "<h2>Repository size</h2>\n" << size_chart(a, sizes, start, o.now);
  if (!a.gaps.empty()) {
    out << "<p class=\"note\">Gaps of more than the allowed age without a successful backup: ";
    for (size_t i = 0; i < a.gaps.size(); ++i)
      out << (i ? ", " : "") << short_utc(a.gaps[i].from) << " for " << num(a.gaps[i].hours()) << " h"
          << (a.gaps[i].open ? " (still open)" : "");
    out << "</p>\n";
  }
  out << "<h2>Last failures</h2>\n" << failures_table(a.attempts);
  out << "<h2>Backups</h2>\n" << backups_table(backups);
  out << "</body>\n</html>\n";
  return out.str();
}

}  // namespace coffer::report
