#include "source/postgres/pg_database_props.h"

#include <nlohmann/json.hpp>

#include "coffer/error.h"
#include "source/postgres/pg_catalog.h"

namespace coffer::pg {
namespace {

// Settings whose value is a list of names (pg_dump's variable_is_guc_list_quote): stored as
// `"$user", public`, they are set back as a list, not as one quoted string.
bool is_list_setting(const std::string& name) {
  for (const char* s : {"search_path", "temp_tablespaces", "session_preload_libraries", "shared_preload_libraries",
                        "local_preload_libraries", "unix_socket_directories"})
    if (name == s) return true;
  return false;
}

// `"$user", public` -> {"\"$user\"", "public"}; nullopt when it is not a plain list of simple or
// double-quoted names (then it is set back as one literal).
std::optional<std::vector<std::string>> list_items(const std::string& value) {
  std::vector<std::string> items;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && value[i] == ' ') ++i;
    std::string item;
    if (i < value.size() && value[i] == '"') {
      item += value[i++];
      while (true) {
        if (i >= value.size()) return std::nullopt;
        if (value[i] == '"' && i + 1 < value.size() && value[i + 1] == '"') {
          item += "\"\"";
          i += 2;
        } else if (value[i] == '"') {
          item += value[i++];
          break;
        } else {
          item += value[i++];
        }
      }
    } else {
      while (i < value.size() && value[i] != ',' && value[i] != ' ') {
        char c = value[i];
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.' || c == '/' || c == '-'))
          return std::nullopt;
        item += value[i++];
      }
      if (item.empty()) return std::nullopt;
      if (item.find_first_of("/.-") != std::string::npos) item = sql_literal(item);  // a path: a string
    }
    items.push_back(item);
    while (i < value.size() && value[i] == ' ') ++i;
    if (i < value.size()) {
      if (value[i] != ',') return std::nullopt;
      ++i;
    }
  }
  if (items.empty()) return std::nullopt;
  return items;
}

std::string setting_sql(const std::string& db, const std::string& setting) {
  size_t eq = setting.find('=');
  if (eq == std::string::npos || eq == 0)
    fail(ErrorCategory::kDatabase, "database setting '" + setting + "' is not name=value");
  std::string name = setting.substr(0, eq), value = setting.substr(eq + 1);
  std::string rhs = sql_literal(value);
  if (is_list_setting(name))
    if (auto items = list_items(value)) {
      rhs.clear();
      for (const auto& it : *items) rhs += (rhs.empty() ? "" : ", ") + it;
    }
  return "ALTER DATABASE " + sql_identifier(db) + " SET " + sql_identifier(name) + " = " + rhs;
}

std::string grant_sql(const std::string& db, const DatabaseGrant& g) {
  return "GRANT " + g.privilege + " ON DATABASE " + sql_identifier(db) + " TO " +
         (g.grantee.empty() ? std::string("PUBLIC") : sql_identifier(g.grantee)) +
         (g.grantable ? " WITH GRANT OPTION" : "");
}

}  // namespace

std::string sql_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string sql_literal(const std::string& value) {
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

DatabaseProps read_database_props(Session& session, const std::string& dbname) {
  // to_jsonb(d): the locale columns differ between major versions (daticulocale, datlocale).
  auto rows = session.query_rows(
      "SELECT to_jsonb(d)::text, pg_catalog.pg_get_userbyid(d.datdba), pg_catalog.pg_encoding_to_char(d.encoding), "
      "t.spcname, d.datacl IS NULL, "
      "(SELECT json_agg(json_build_array(CASE WHEN a.grantee = 0 THEN '' "
      "ELSE pg_catalog.pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable))::text "
      "FROM pg_catalog.aclexplode(d.datacl) a), "
      "(SELECT array_to_json(s.setconfig)::text FROM pg_catalog.pg_db_role_setting s "
      "WHERE s.setdatabase = d.oid AND s.setrole = 0), "
      "pg_catalog.shobj_description(d.oid, 'pg_database') IS NULL, "
      "pg_catalog.shobj_description(d.oid, 'pg_database') "
      "FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace "
      "WHERE d.datname = $1",
      {dbname});
  if (rows.empty()) fail(ErrorCategory::kNotFound, "database " + dbname + " does not exist");
  const auto& r = rows.front();
  nlohmann::json d = nlohmann::json::parse(r[0]);
  DatabaseProps p;
  p.owner = r[1];
  p.encoding = r[2];
  p.tablespace = r[3];
  p.collate = d.value("datcollate", "");
  p.ctype = d.value("datctype", "");
  p.connection_limit = d.value("datconnlimit", -1);
  if (d.contains("datlocprovider") && d["datlocprovider"].is_string()) p.locale_provider = d["datlocprovider"];
  for (const char* col : {"datlocale", "daticulocale"})
    if (d.contains(col) && d[col].is_string()) p.provider_locale = d[col];
  if (r[4] != "t") {
    p.grants.emplace();
    if (!r[5].empty())
      for (const auto& g : nlohmann::json::parse(r[5]))
        p.grants->push_back({g[0].get<std::string>(), g[1].get<std::string>(), g[2].get<bool>()});
  }
  if (!r[6].empty())
    for (const auto& s : nlohmann::json::parse(r[6])) p.settings.push_back(s.get<std::string>());
  if (r[7] != "t") p.comment = r[8];
  return p;
}

std::string create_database_sql(const std::string& name, const DatabaseProps& p) {
  std::string sql = "CREATE DATABASE " + sql_identifier(name) + " TEMPLATE template0";
  if (!p.owner.empty()) sql += " OWNER " + sql_identifier(p.owner);
  if (!p.encoding.empty()) sql += " ENCODING " + sql_literal(p.encoding);
  if (!p.collate.empty()) sql += " LC_COLLATE " + sql_literal(p.collate);
  if (!p.ctype.empty()) sql += " LC_CTYPE " + sql_literal(p.ctype);
  if (p.locale_provider == "i") {
    sql += " LOCALE_PROVIDER icu";
    if (!p.provider_locale.empty()) sql += " ICU_LOCALE " + sql_literal(p.provider_locale);
  } else if (p.locale_provider == "b") {
    sql += " LOCALE_PROVIDER builtin";
    if (!p.provider_locale.empty()) sql += " BUILTIN_LOCALE " + sql_literal(p.provider_locale);
  } else if (p.locale_provider == "c") {
    sql += " LOCALE_PROVIDER libc";
  }
  if (!p.tablespace.empty() && p.tablespace != "pg_default") sql += " TABLESPACE " + sql_identifier(p.tablespace);
  if (p.connection_limit != -1) sql += " CONNECTION LIMIT " + std::to_string(p.connection_limit);
  return sql;
}

std::vector<std::string> finish_database_sql(const std::string& name, const DatabaseProps& p) {
  std::vector<std::string> out;
  if (p.grants) {
    // Not the defaults: start from none, then give exactly what the original had.
    out.push_back("REVOKE ALL ON DATABASE " + sql_identifier(name) + " FROM PUBLIC");
    if (!p.owner.empty()) out.push_back("REVOKE ALL ON DATABASE " + sql_identifier(name) + " FROM " + sql_identifier(p.owner));
    for (const DatabaseGrant& g : *p.grants) out.push_back(grant_sql(name, g));
  }
  for (const std::string& s : p.settings) out.push_back(setting_sql(name, s));
  out.push_back("COMMENT ON DATABASE " + sql_identifier(name) + " IS " +
                (p.comment ? sql_literal(*p.comment) : std::string("NULL")));
  return out;
}

}  // namespace coffer::pg
