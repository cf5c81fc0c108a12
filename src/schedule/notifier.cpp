#include "schedule/notifier.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "coffer/clock.h"
#include "coffer/error.h"
#include "coffer/redact.h"
#include "config/settings.h"
#include "util/host.h"

extern char** environ;

namespace coffer::schedule {

namespace {

constexpr size_t kMaxOutput = 4096;
constexpr auto kKillGrace = std::chrono::seconds(2);  // SIGTERM -> SIGKILL

// Every secret setting (the settings table says which: a new one is covered too), and libpq's.
bool is_secret_variable(const std::string& name) {
  if (name == "PGPASSWORD") return true;
  const config::Setting* s = config::find_setting(name);
  return s && s->secret;
}

// The parent's environment minus secrets, plus the job's details.
std::vector<std::string> child_environment(const JobRun& run) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string name = kv.substr(0, eq);
    if (!is_secret_variable(name)) env[name] = kv.substr(eq + 1);
  }
  const double duration = std::chrono::duration<double>(run.ended - run.started).count();
  env["COFFER_JOB"] = run.name;
  env["COFFER_STATUS"] = run.ok ? "success" : "failure";
  env["COFFER_ERROR"] = run.ok ? "" : redact_url_credentials(run.error);
  env["COFFER_BACKUP_ID"] = run.output.backup_id;
  env["COFFER_BYTES_ADDED"] = std::to_string(run.output.bytes_added);
  env["COFFER_SUMMARY"] = run.output.summary;
  env["COFFER_SLOT"] = format_iso8601_utc(run.slot);
  env["COFFER_STARTED"] = format_iso8601_utc(run.started);
  env["COFFER_ENDED"] = format_iso8601_utc(run.ended);
  env["COFFER_DURATION_SECONDS"] = std::to_string(duration);
  env["COFFER_CATCH_UP"] = run.catch_up ? "true" : "false";
  env["COFFER_HOST"] = this_host();  // the name locks and backups record
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

NotifySettings load_notify_settings(const EnvLookup& env) {
  NotifySettings s;
  s.command = setting_text(env, "NOTIFY_COMMAND").value_or("");
  if (auto v = setting_text(env, "NOTIFY_ON")) {
    const std::string& t = *v;
    if (t == "always") {
      s.always = true;
    } else if (t != "failure") {
      fail(ErrorCategory::kConfig, "NOTIFY_ON: \"" + t + "\" must be failure (the default) or always");
    }
  }
  if (auto v = setting_text(env, "NOTIFY_TIMEOUT_SECONDS")) {
    const std::string& t = *v;
    int n = small_whole_number(t).value_or(0);
    if (n < 1 || n > 3600)
      fail(ErrorCategory::kConfig, "NOTIFY_TIMEOUT_SECONDS: \"" + t + "\" must be a whole number of seconds, 1 to 3600");
    s.timeout = std::chrono::seconds(n);
  }
  return s;
}

NotifyOutcome Notifier::job_finished(const JobRun& run) {
  NotifyOutcome outcome;
  if (settings_.command.empty() || (run.ok && !settings_.always)) return outcome;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    spdlog::warn("notification for {}: cannot create a pipe: {}", run.name, std::strerror(errno));
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);  // its own group: the timeout kills all of it

  std::vector<std::string> env = child_environment(run);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = settings_.command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    spdlog::warn("notification for {}: cannot run /bin/sh: {}", run.name, std::strerror(rc));
    return outcome;
  }
  outcome.ran = true;

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + settings_.timeout;
  bool pipe_open = true;
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      break;
    }
    if (Clock::now() >= deadline) break;
    if (pipe_open) {
      pollfd p{pipe_fds[0], POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[1024];
        ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
        if (n > 0 && outcome.output.size() < kMaxOutput)
          outcome.output.append(buf, std::min(static_cast<size_t>(n), kMaxOutput - outcome.output.size()));
        if (n == 0) pipe_open = false;
      }
    } else {
      ::usleep(50 * 1000);
    }
  }
  if (!reaped) {
    outcome.timed_out = true;
    ::kill(-pid, SIGTERM);
    const auto grace_end = Clock::now() + kKillGrace;
    while (Clock::now() < grace_end && waitpid(pid, &status, WNOHANG) != pid) ::usleep(50 * 1000);
    ::kill(-pid, SIGKILL);  // the rest of its group, and itself if it ignored SIGTERM
    waitpid(pid, &status, 0);
  } else {
    // Whatever the command printed last (its children may still hold the pipe: do not wait).
    for (int i = 0; i < 20 && pipe_open; ++i) {
      pollfd p{pipe_fds[0], POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) break;
      char buf[1024];
      ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n <= 0) break;
      if (outcome.output.size() < kMaxOutput)
        outcome.output.append(buf, std::min(static_cast<size_t>(n), kMaxOutput - outcome.output.size()));
    }
  }
  ::close(pipe_fds[0]);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);

  std::string out = trim_blanks(outcome.output);
  if (outcome.timed_out) {
    spdlog::warn("notification for {} ({}) hung: stopped after NOTIFY_TIMEOUT_SECONDS={} s{}", run.name,
                 run.ok ? "success" : "failure", settings_.timeout.count(), out.empty() ? "" : "; it printed: " + out);
  } else if (outcome.exit_code != 0) {
    spdlog::warn("notification for {} ({}) failed with exit code {}{}", run.name, run.ok ? "success" : "failure",
                 outcome.exit_code, out.empty() ? "" : ": " + out);
  } else {
    spdlog::info("notification for {} ({}) sent", run.name, run.ok ? "success" : "failure");
  }
  return outcome;
}

}  // namespace coffer::schedule
