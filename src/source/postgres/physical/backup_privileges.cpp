#include "source/postgres/physical/backup_privileges.h"

namespace coffer::pg::physical {
namespace {

// "role name" -> "\"role name\"": the GRANTs in the message are run as given.
std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

Privilege execute(const std::string& function) {
  return {"has_function_privilege('" + function + "', 'EXECUTE')", "EXECUTE on " + function,
          "GRANT EXECUTE ON FUNCTION " + function + " TO ROLE;"};
}

}  // namespace

std::vector<Privilege> backup_privileges(int server_version_num, bool needs_data_directory) {
  std::vector<Privilege> out;
  if (server_version_num >= 150000) {
    out.push_back(execute("pg_backup_start(text, boolean)"));
    out.push_back(execute("pg_backup_stop(boolean)"));
  } else {
    out.push_back(execute("pg_start_backup(text, boolean, boolean)"));
    out.push_back(execute("pg_stop_backup(boolean, boolean)"));
  }
  out.push_back(execute("pg_switch_wal()"));
  if (needs_data_directory)
    out.push_back({"pg_has_role('pg_read_all_settings', 'USAGE')",
                   "the privileges of pg_read_all_settings (to read SHOW data_directory; or set DB_DATA_DIR)",
                   "GRANT pg_read_all_settings TO ROLE;"});
  return out;
}

std::string missing_privileges_message(const std::string& role, const std::vector<Privilege>& missing) {
  std::string what, grants;
  for (const Privilege& p : missing) {
    what += (what.empty() ? "" : ", ") + p.what;
    std::string g = p.grant;
    g.replace(g.find("ROLE;"), 4, quote_ident(role));
    grants += (grants.empty() ? "" : " ") + g;
  }
  return "role " + role + " may not take a physical backup: it lacks " + what +
         ". As a superuser run: " + grants + " (or back up as a superuser; see docs/pitr.md)";
}

}  // namespace coffer::pg::physical
