// coffer: back up and restore an application's PostgreSQL database and file trees.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <iostream>

#include "cli.h"
#include "redacting_sink.h"

using namespace coffer;

int main(int argc, char** argv) {
  // glibc raises its mmap threshold after the first large free (up to 32 MiB), after which 24 MiB
  // pack buffers come from the worker threads' heaps, fragment them with chunk buffers and are
  // never given back: a 500 MB backup peaked at 150 MB instead of 97 MB. A fixed 8 MiB threshold
  // maps packs on their own and returns them on free (Argon2id maps its memory itself). Fixing it also
  // fixes the trim threshold at 128 KiB, which hands freed chunk buffers back to the kernel only
  // to fault them in again (a restore spent 1.3 s in the kernel instead of 0.5 s): keep up to
  // 64 MiB of freed heap for reuse; the peak is unchanged, as it is reused rather than added.
  mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  CLI::App app{"coffer: encrypted, deduplicating backups of an application's database and files"};
  app.require_subcommand(1);
  app.footer(cli::help_footer());
  app.fallthrough();
  cli::GlobalOptions g;
  app.add_option("--config", g.config_file, "TOML config file (keys: lower-case setting names)");
  // The settings that have a flag (--backup-dir, ...): the settings table names them.
  for (const config::SettingFlag& f : config::setting_flags())
    app.add_option_function<std::string>(
        f.flag, [&g, name = f.name](const std::string& v) { g.flags[name] = v; }, f.help);
  app.add_option("--source", g.source,
                 "where list, restore, verify and cleanup find the repository: local (BACKUP_DIR, or S3 with "
                 "S3_MODE=repository) or s3 (the S3 copy; for a machine whose BACKUP_DIR is empty)")
      ->check(CLI::IsMember({"local", "s3"}));
  app.add_flag("--json", g.json, "machine-readable output on stdout");
  app.add_flag("-v,--verbose", g.verbose, "more log output");
  app.add_flag("-q,--quiet", g.quiet, "only errors");

  std::vector<std::pair<CLI::App*, cli::Runner>> commands;
  auto reg = [&](cli::Runner (*add)(CLI::App&, cli::GlobalOptions&)) {
    size_t before = app.get_subcommands({}).size();
    cli::Runner r = add(app, g);
    commands.emplace_back(app.get_subcommands({})[before], std::move(r));
  };
  reg(cli::add_init);
  reg(cli::add_create);
  reg(cli::add_list);
  reg(cli::add_restore);
  reg(cli::add_verify);
  reg(cli::add_export);
  reg(cli::add_drill);
  reg(cli::add_config);
  reg(cli::add_cleanup);
  reg(cli::add_unlock);
  reg(cli::add_pin);
  reg(cli::add_unpin);
  reg(cli::add_schedule);
  reg(cli::add_status);
  reg(cli::add_report);
  reg(cli::add_repair);
  reg(cli::add_wal_push);
  reg(cli::add_wal_fetch);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_code(ErrorCategory::kInput);
  }
  spdlog::default_logger()->sinks().clear();
  spdlog::default_logger()->sinks().push_back(
      std::make_shared<cli::RedactingSink>(std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  spdlog::set_pattern("%^%l%$: %v");  // after the sink swap: patterns are set per sink
  spdlog::set_level(g.quiet ? spdlog::level::err : g.verbose ? spdlog::level::debug : spdlog::level::info);

  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
    return exit_code(ErrorCategory::kInput);
  } catch (const Error& e) {
    if (g.json)
      cli::print_json({{"error", redact_url_credentials(e.what())}, {"category", category_name(e.category())}});
    spdlog::error("{}", e.what());
    return exit_code(e.category());
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return exit_code(ErrorCategory::kInternal);
  }
}
