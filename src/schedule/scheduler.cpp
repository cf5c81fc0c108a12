#include "schedule/scheduler.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "coffer/clock.h"
#include "coffer/error.h"

namespace coffer::schedule {

namespace {

// Far enough ahead that a job with no further run never wins the "earliest" comparison.
constexpr TimePoint kNever = TimePoint::max();
// A job starting this much after its slot is reported as having waited (the real sleep wakes a
// little late; that is not worth a line).
constexpr std::chrono::seconds kWaitReportThreshold{60};

std::string when(TimePoint t) { return t == kNever ? "never" : format_iso8601_utc(t); }

std::string duration_text(std::chrono::system_clock::duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h " + std::to_string((s % 3600) / 60) + " min";
}

}  // namespace

Scheduler::Scheduler(std::vector<ScheduledTask> tasks, SchedulerHooks hooks, SchedulerOptions options)
    : tasks_(std::move(tasks)), hooks_(std::move(hooks)), options_(std::move(options)) {
  if (!hooks_.now || !hooks_.sleep_until) fail(ErrorCategory::kInternal, "scheduler: clock and sleep are required");
  if (!hooks_.stop_requested) hooks_.stop_requested = [] { return false; };
}

std::chrono::seconds Scheduler::period_of(const CronExpr& cron, TimePoint t, const std::string& tz) {
  std::optional<TimePoint> a = cron.next_after(t, tz);
  std::optional<TimePoint> b = a ? cron.next_after(*a, tz) : std::nullopt;
  if (!a || !b) return std::chrono::hours(24 * 366);
  return std::chrono::duration_cast<std::chrono::seconds>(*b - *a);
}

void Scheduler::info(const std::string& line) {
  spdlog::info("{}", line);
  log_.push_back(line);
}

void Scheduler::warn(const std::string& line) {
  spdlog::warn("{}", line);
  log_.push_back(line);
}

TimePoint Scheduler::next_slot(size_t i, TimePoint after) const {
  return tasks_[i].cron.next_after(after, options_.time_zone).value_or(kNever);
}

bool Scheduler::done() const {
  return hooks_.stop_requested() || (options_.max_jobs >= 0 && jobs_run_ >= options_.max_jobs);
}

void Scheduler::plan(size_t i, TimePoint slot) {
  next_[i] = slot;
  if (slot == kNever) return;
  std::string note = tasks_[i].cron.dst_note(slot, options_.time_zone);
  if (!note.empty()) info(tasks_[i].name + ": run at " + when(slot) + ": " + note);
}

// Slots of task i at or before `now` except the latest are lost: log them as skipped.
void Scheduler::collapse_missed(size_t i, TimePoint now) {
  if (next_[i] > now) return;
  int skipped = 0;
  TimePoint first = next_[i];
  for (TimePoint n = next_slot(i, next_[i]); n <= now; n = next_slot(i, n)) {
    ++skipped;
    next_[i] = n;
  }
  if (skipped > 0)
    warn(tasks_[i].name + ": skipped " + std::to_string(skipped) + " slot(s) from " + when(first) +
         " (another job was running or the machine was asleep); running the latest, " + when(next_[i]));
}

void Scheduler::run_task(size_t i, TimePoint slot, bool catch_up) {
  const ScheduledTask& task = tasks_[i];
  JobRun r{task.name, slot, hooks_.now(), {}, true, "", catch_up};
  if (!catch_up && r.started - slot >= kWaitReportThreshold)
    warn(task.name + ": slot " + when(slot) + " waited " + duration_text(r.started - slot) +
         " for the previous job to finish");
  info(task.name + ": started" + (catch_up ? " (catch-up)" : " (slot " + when(slot) + ")"));
  try {
    r.output = task.run();
    if (!r.output.failure.empty()) {
      r.ok = false;
      r.error = r.output.failure;
    }
  } catch (const std::exception& e) {
    r.ok = false;
    r.error = e.what();
  } catch (...) {
    r.ok = false;
    r.error = "unknown error";
  }
  r.ended = hooks_.now();
  ++jobs_run_;
  std::string took = duration_text(r.ended - r.started);
  if (r.ok) {
    info(task.name + ": finished in " + took);
  } else {
    spdlog::error("{}: failed after {}: {} (retried at its next slot)", task.name, took, r.error);
    log_.push_back(task.name + ": failed: " + r.error);
  }
  if (hooks_.job_finished) hooks_.job_finished(r);
  history_.push_back(std::move(r));
}

int Scheduler::run() {
  TimePoint start = hooks_.now();
  next_.assign(tasks_.size(), kNever);
  for (size_t i = 0; i < tasks_.size(); ++i) {
    plan(i, next_slot(i, start));
    info(tasks_[i].name + ": \"" + tasks_[i].cron.text() + "\" (" + options_.time_zone + "), next run " +
         when(next_[i]));
  }

  if (options_.catch_up && !done()) {
    for (size_t i = 0; i < tasks_.size(); ++i) {
      if (tasks_[i].name != "full") continue;
      auto period = period_of(tasks_[i].cron, start, options_.time_zone);
      auto limit = period + period / 24;
      if (!options_.last_full) {
        info("full: no successful full backup yet: running one now (catch-up)");
        run_task(i, start, true);
      } else if (start - *options_.last_full > limit) {
        info("full: newest full backup is from " + when(*options_.last_full) + ", older than the schedule's period (" +
             duration_text(period) + "): running one now (catch-up)");
        run_task(i, start, true);
      }
      break;
    }
  }

  while (!done()) {
    TimePoint now = hooks_.now();
    for (size_t i = 0; i < tasks_.size(); ++i) collapse_missed(i, now);
    // Earliest due slot first; ties keep the configured order (full before cleanup, ...).
    size_t pick = tasks_.size();
    for (size_t i = 0; i < tasks_.size(); ++i)
      if (pick == tasks_.size() || next_[i] < next_[pick]) pick = i;
    if (pick == tasks_.size() || next_[pick] == kNever) {
      info("no job has a next run: stopping");
      break;
    }
    if (next_[pick] > now) {
      hooks_.sleep_until(next_[pick]);
      continue;
    }
    TimePoint slot = next_[pick];
    run_task(pick, slot, false);
    // Its own slots that passed while it ran are skipped, not queued behind itself.
    TimePoint ended = hooks_.now();
    TimePoint n = next_slot(pick, slot);
    int own_skipped = 0;
    while (n <= ended) {
      ++own_skipped;
      n = next_slot(pick, n);
    }
    if (own_skipped > 0)
      warn(tasks_[pick].name + ": skipped " + std::to_string(own_skipped) + " slot(s) that came while it ran");
    plan(pick, n);
    spdlog::debug("{}: next run {}", tasks_[pick].name, when(n));
  }
  if (hooks_.stop_requested()) info("stop requested: scheduler stopped between jobs");
  return jobs_run_;
}

}  // namespace coffer::schedule
