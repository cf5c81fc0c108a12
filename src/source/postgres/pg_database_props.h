// A database's own properties (owner, encoding and locale, tablespace, connection limit,
// privileges, per-database settings, comment): what a restore that builds a replacement in a
// scratch database must give that database before it takes the original's place. pg_dump does
// not carry them without --create, so they are read from the server's catalog.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace coffer::pg {

class Session;

struct DatabaseGrant {
  std::string grantee;    // role name; "" = PUBLIC
  std::string privilege;  // CONNECT, CREATE, TEMPORARY
  bool grantable = false;
};

struct DatabaseProps {
  std::string owner;
  std::string encoding;         // "UTF8"
  std::string collate, ctype;   // "C.UTF-8"
  std::string locale_provider;  // "c" (libc), "i" (ICU), "b" (builtin); "" before PostgreSQL 15
  std::string provider_locale;  // the ICU or builtin locale ("" for libc)
  std::string tablespace;       // "pg_default"
  int connection_limit = -1;
  std::optional<std::vector<DatabaseGrant>> grants;  // nullopt: the default privileges
  std::vector<std::string> settings;                 // "name=value", as ALTER DATABASE SET stored them
  std::optional<std::string> comment;
};

// Reads `dbname`'s properties. Throws Error(kNotFound) when it does not exist.
DatabaseProps read_database_props(Session& session, const std::string& dbname);

// CREATE DATABASE `name` with `props`' owner, encoding, locale, tablespace and connection limit,
// from template0 (a restore must not meet objects someone added to template1).
std::string create_database_sql(const std::string& name, const DatabaseProps& props);
// What makes `name`'s privileges, settings and comment those of `props`: run once the restore
// is done (a setting such as default_transaction_read_only would stop pg_restore).
std::vector<std::string> finish_database_sql(const std::string& name, const DatabaseProps& props);

// SQL quoting, independent of a connection (standard_conforming_strings on, as since 9.1).
std::string sql_identifier(const std::string& name);
std::string sql_literal(const std::string& value);

}  // namespace coffer::pg
