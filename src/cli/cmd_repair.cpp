// `coffer repair index`: rebuild the index from the packs (lost or damaged index files).
#include "cli.h"

namespace coffer::cli {

Runner add_repair(CLI::App& app, GlobalOptions& g) {
  auto* cmd = app.add_subcommand("repair", "repair a damaged repository (see `coffer repair index --help`)");
  cmd->require_subcommand(1);
  auto* index = cmd->add_subcommand(
      "index", "rebuild the index from the packs' own headers when index files are lost or damaged; packs are never "
               "changed, old index files are replaced by one new one");
  auto dry_run = std::make_shared<bool>(false);
  index->add_flag("--dry-run", *dry_run, "read every pack header and report; write and remove nothing");
  return [&g, dry_run] {
    auto manager = make_manager(g, kReading);
    RepairIndexResult r = manager->repair_index(*dry_run);
    clear_progress();
    if (g.json) {
      print_json({{"dry_run", r.dry_run},
                  {"packs_scanned", r.packs_scanned},
                  {"packs_indexed", r.packs_indexed},
                  {"blobs_indexed", r.blobs_indexed},
                  {"damaged_packs", r.damaged_packs},
                  {"chunks_before", r.chunks_before},
                  {"chunks_recovered", r.chunks_recovered},
                  {"old_index_files", r.old_index_files},
                  {"new_index_file", r.new_index_file},
                  {"incomplete_backups", r.incomplete_backups},
                  {"warnings", r.warnings},
                  {"duration_seconds", r.duration_seconds}});
    } else if (!g.quiet) {
      std::printf("%s%llu packs read, %llu indexed (%llu blobs), %zu damaged\n", r.dry_run ? "dry run: " : "",
                  static_cast<unsigned long long>(r.packs_scanned), static_cast<unsigned long long>(r.packs_indexed),
                  static_cast<unsigned long long>(r.blobs_indexed), r.damaged_packs.size());
      std::printf("chunks the old index files knew: %llu; recovered: %llu\n",
                  static_cast<unsigned long long>(r.chunks_before), static_cast<unsigned long long>(r.chunks_recovered));
      std::printf("%s %zu old index file(s)%s\n", r.dry_run ? "would replace" : "replaced", r.old_index_files.size(),
                  r.new_index_file.empty() ? "" : (" with " + r.new_index_file).c_str());
      if (r.incomplete_backups.empty())
        std::printf("every backup has all its chunks\n");
      else
        std::printf("%zu backup(s) still miss chunks: %s (run `coffer verify`)\n", r.incomplete_backups.size(),
                    [&] {
                      std::string s;
                      for (const auto& id : r.incomplete_backups) s += (s.empty() ? "" : ", ") + id;
                      return s;
                    }()
                        .c_str());
    }
    // Exit 1 when something stays broken, so scripts notice.
    return r.damaged_packs.empty() && r.incomplete_backups.empty() ? 0 : 1;
  };
}

}  // namespace coffer::cli
