#include "source/postgres/physical/recovery_target.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <utility>

#include "coffer/error.h"
#include "source/postgres/wal/wal_names.h"

namespace coffer::pg::physical {
namespace {

bool digits_at(const std::string& s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// A value in single quotes for postgresql.conf ('' for a quote, backslashes doubled).
std::string conf_quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += "''";
    else if (c == '\\') out += "\\\\";
    else out += c;
  }
  return out + "'";
}

std::string utc_text(TimePoint t) {
  // "2026-12-05T09:42:17.000000Z" -> "2026-12-05 09:42:17.000000+00", as the server reads it.
  std::string iso = format_iso8601_utc(t);
  iso[10] = ' ';
  iso.pop_back();
  return iso + "+00";
}

}  // namespace

TimePoint parse_target_time(const std::string& text) {
  auto refuse = [&](const std::string& why) -> TimePoint {
    fail(ErrorCategory::kInput, "--to-time '" + text + "': " + why +
                                    ". Give a date, a time and its UTC offset, e.g. '2026-12-05 10:42:17+01' or "
                                    "'2026-12-05T09:42:17Z'");
  };
  std::string s = text;
  while (!s.empty() && s.back() == ' ') s.pop_back();
  int y, mo, d, h, mi, sec;
  if (!digits_at(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits_at(s, 5, 2, mo) || s[7] != '-' ||
      !digits_at(s, 8, 2, d) || (s[10] != ' ' && s[10] != 'T') || !digits_at(s, 11, 2, h) || s[13] != ':' ||
      !digits_at(s, 14, 2, mi) || s[16] != ':' || !digits_at(s, 17, 2, sec))
    return refuse("not a time");
  size_t pos = 19;
  std::string fraction;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') fraction += s[pos++];
    if (fraction.empty()) return refuse("not a time");
  }
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos == s.size()) return refuse("it has no UTC offset, so it could mean several moments");
  int offset_minutes = 0;
  if (s[pos] == 'Z' && pos + 1 == s.size()) {
    offset_minutes = 0;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    size_t p = pos + 1;
    if (!digits_at(s, p, 2, oh)) return refuse("its UTC offset is not +HH, +HH:MM or +HHMM");
    p += 2;
    if (p < s.size() && s[p] == ':') ++p;
    if (p < s.size()) {
      if (!digits_at(s, p, 2, om) || p + 2 != s.size()) return refuse("its UTC offset is not +HH, +HH:MM or +HHMM");
    }
    if (oh > 15 || om > 59) return refuse("its UTC offset is out of range");
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return refuse("what follows the time is not a UTC offset");
  }
  // The date and time as UTC first, then the offset taken off.
  std::string iso = s.substr(0, 10) + "T" + s.substr(11, 8) + (fraction.empty() ? "" : "." + fraction) + "Z";
  std::optional<TimePoint> t = parse_iso8601_utc(iso);
  if (!t) return refuse("not a valid date and time");
  return *t - std::chrono::minutes(offset_minutes);
}

void validate(const RecoveryTarget& t) {
  if (t.kind == RecoveryTarget::Kind::kXid &&
      (t.xid.empty() || t.xid.size() > 20 || !std::all_of(t.xid.begin(), t.xid.end(), [](char c) { return c >= '0' && c <= '9'; })))
    fail(ErrorCategory::kInput, "--to-xid '" + t.xid + "' is not a transaction id (digits, e.g. from txid_current())");
  if (t.kind == RecoveryTarget::Kind::kName &&
      (t.name.empty() || t.name.size() > 63 || t.name.find_first_of("'\n\r\\") != std::string::npos))
    fail(ErrorCategory::kInput, "--to-name takes a restore point's name as pg_create_restore_point was given it "
                                "(1..63 characters, no quotes or line breaks)");
  if (t.action != "pause" && t.action != "promote" && t.action != "shutdown")
    fail(ErrorCategory::kInput, "--target-action '" + t.action + "': use pause, promote or shutdown");
  if (t.timeline != "latest" && t.timeline != "current" &&
      (t.timeline.empty() || t.timeline.size() > 10 ||
       !std::all_of(t.timeline.begin(), t.timeline.end(), [](char c) { return c >= '0' && c <= '9'; })))
    fail(ErrorCategory::kInput, "--target-timeline '" + t.timeline + "': use latest, current or a timeline number");
}

std::string recovery_settings(const RecoveryTarget& t, const std::string& restore_command) {
  std::string out = "\n# Written by coffer restore: point-in-time recovery (remove after recovery ends)\n";
  out += "restore_command = " + conf_quote(restore_command) + "\n";
  // Every other target kind empty first, so a leftover elsewhere cannot add a second target.
  const std::pair<RecoveryTarget::Kind, const char*> kinds[] = {
      {RecoveryTarget::Kind::kImmediate, "recovery_target"}, {RecoveryTarget::Kind::kTime, "recovery_target_time"},
      {RecoveryTarget::Kind::kLsn, "recovery_target_lsn"},   {RecoveryTarget::Kind::kXid, "recovery_target_xid"},
      {RecoveryTarget::Kind::kName, "recovery_target_name"}};
  for (const auto& [kind, setting] : kinds)
    if (kind != t.kind) out += std::string(setting) + " = ''\n";
  switch (t.kind) {
    case RecoveryTarget::Kind::kLatest: break;
    case RecoveryTarget::Kind::kImmediate: out += "recovery_target = 'immediate'\n"; break;
    case RecoveryTarget::Kind::kTime: out += "recovery_target_time = " + conf_quote(utc_text(*t.time)) + "\n"; break;
    case RecoveryTarget::Kind::kLsn: out += "recovery_target_lsn = " + conf_quote(wal::format_lsn(*t.lsn)) + "\n"; break;
    case RecoveryTarget::Kind::kXid: out += "recovery_target_xid = " + conf_quote(t.xid) + "\n"; break;
    case RecoveryTarget::Kind::kName: out += "recovery_target_name = " + conf_quote(t.name) + "\n"; break;
  }
  if (t.kind != RecoveryTarget::Kind::kLatest) out += "recovery_target_action = " + conf_quote(t.action) + "\n";
  out += "recovery_target_timeline = " + conf_quote(t.timeline) + "\n";
  return out;
}

std::string without_recovery_settings(const std::string& conf) {
  static const std::set<std::string> kWritten = {
      "restore_command",      "recovery_target",     "recovery_target_time",      "recovery_target_lsn",
      "recovery_target_xid",  "recovery_target_name", "recovery_target_action",   "recovery_target_timeline",
      "recovery_target_inclusive"};
  std::string out;
  size_t pos = 0;
  while (pos < conf.size()) {
    size_t end = conf.find('\n', pos);
    end = end == std::string::npos ? conf.size() : end + 1;
    const std::string line = conf.substr(pos, end - pos);
    pos = end;
    // "name = value" or "name value", the name in any case (PostgreSQL's GUC names are).
    size_t i = line.find_first_not_of(" \t");
    std::string name;
    while (i != std::string::npos && i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_'))
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(line[i++])));
    const bool setting = i != std::string::npos && i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '=');
    out += setting && kWritten.count(name) ? "# (a former restore's, left out by coffer restore) " + line : line;
  }
  return out;
}

std::string describe(const RecoveryTarget& t) {
  switch (t.kind) {
    case RecoveryTarget::Kind::kLatest: return "the end of the archived WAL";
    case RecoveryTarget::Kind::kImmediate: return "the backup's consistent point";
    case RecoveryTarget::Kind::kTime: return "time " + utc_text(*t.time);
    case RecoveryTarget::Kind::kLsn: return "LSN " + wal::format_lsn(*t.lsn);
    case RecoveryTarget::Kind::kXid: return "transaction " + t.xid;
    case RecoveryTarget::Kind::kName: return "restore point '" + t.name + "'";
  }
  return "";
}

}  // namespace coffer::pg::physical
