// Test support for suites that need a real PostgreSQL server ("Pg*" suites). scripts/test.sh
// starts one and exports COFFER_TEST_PGHOST, COFFER_TEST_PGPORT and COFFER_TEST_PGUSER (a
// superuser). Each test makes uniquely named databases and roles and drops them afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "coffer/backup_config.h"
#include "source/postgres/pg_catalog.h"
#include "source/postgres/pg_connection.h"
#include "source/postgres/pg_database_props.h"  // sql_identifier, sql_literal
#include "source/postgres/pg_dump_stream.h"
#include "util/bytes.h"
#include "testing/fixtures.h"

namespace coffer::pg {

// Everything `dump` writes, read to its end; finish() then checks how pg_dump exited.
inline Bytes read_whole_dump(DumpStream& dump) {
  Bytes out;
  std::vector<uint8_t> buf(1 << 16);
  while (size_t n = dump.read(buf.data(), buf.size())) out.insert(out.end(), buf.begin(), buf.begin() + n);
  dump.finish();
  return out;
}

// The database's dump as coffer streams it (pg_dump from a snapshot `session` exports);
// `in_snapshot` runs while the snapshot is still held (counts that must describe the dump).
inline Bytes dump_from_snapshot(Session& session, const Connection& conn, const Tools& tools,
                                const std::function<void()>& in_snapshot = {}) {
  std::string snapshot = session.begin_snapshot();
  DumpStream dump(tools, conn, snapshot);
  Bytes out = read_whole_dump(dump);
  if (in_snapshot) in_snapshot();
  session.end_snapshot();
  return out;
}

class PgTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* host = std::getenv("COFFER_TEST_PGHOST");
    const char* port = std::getenv("COFFER_TEST_PGPORT");
    const char* user = std::getenv("COFFER_TEST_PGUSER");
    if (!host || !port || !user || !*host || !*port)
      GTEST_FAIL() << "PostgreSQL tests need a server: run them via scripts/test.sh, which starts one and "
                      "sets COFFER_TEST_PGHOST, COFFER_TEST_PGPORT and COFFER_TEST_PGUSER";
    host_ = host;
    port_ = std::atoi(port);
    user_ = user;
  }

  void TearDown() override {
    if (host_.empty()) return;
    try {
      Connection conn(config("postgres"));
      Session admin(conn, "postgres");
      for (const auto& db : databases_)
        admin.query_value("DROP DATABASE IF EXISTS " + sql_identifier(db) + " WITH (FORCE)");
      for (const auto& role : roles_) admin.query_value("DROP ROLE IF EXISTS " + sql_identifier(role));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cleanup failed: " << e.what();
    }
  }

  // A configuration for the test superuser and `dbname`.
  BackupConfig config(const std::string& dbname) const {
    BackupConfig c;
    c.db_host = host_;
    c.db_port = port_;
    c.db_user = user_;
    c.db_name = dbname;
    return c;
  }

  // A name no other test (or run) uses, dropped in TearDown.
  std::string unique_name(const std::string& stem) {
    static std::atomic<int> counter{0};
    return stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
  }
  std::string new_db_name(const std::string& stem) {
    databases_.push_back(unique_name(stem));
    return databases_.back();
  }
  std::string new_database(const std::string& stem) {
    std::string name = new_db_name(stem);
    admin_sql("CREATE DATABASE " + sql_identifier(name) + " TEMPLATE template0");
    return name;
  }
  std::string new_role(const std::string& stem, const std::string& password) {
    roles_.push_back(unique_name(stem));
    admin_sql("CREATE ROLE " + sql_identifier(roles_.back()) + " LOGIN PASSWORD " + sql_literal(password));
    return roles_.back();
  }

  // Runs statements (several, separated by ';') as the superuser in `dbname`.
  std::string sql(const std::string& dbname, const std::string& statements) {
    Connection conn(config(dbname));
    Session s(conn);
    return s.query_value(statements);
  }
  void admin_sql(const std::string& statements) { sql("postgres", statements); }

  std::string host_, user_;
  int port_ = 0;
  std::vector<std::string> databases_, roles_;
};

// A PgTestBase with a fresh folder of its own (dir_), removed after the test.
class PgTestWithDir : public PgTestBase {
 protected:
  void SetUp() override {
    PgTestBase::SetUp();
    if (HasFailure()) return;
    dir_ = test_support::make_temp_dir("coffer-pgtest");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    PgTestBase::TearDown();
  }
  std::filesystem::path dir_;
};

// A PgTestWithDir with a source database to dump and its dumps as files.
class PgDumpTestBase : public PgTestWithDir {
 protected:
  // A source database with two schemas and a quoted name; returns its name.
  std::string make_source() {
    std::string db = new_database("coffer_dump_src");
    sql(db,
        "CREATE TABLE items (id int PRIMARY KEY, name text);"
        "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;"
        "CREATE TABLE empty_one (x int);"
        "CREATE SCHEMA sales;"
        "CREATE TABLE sales.\"Order Lines\" (id int, qty int);"
        "INSERT INTO sales.\"Order Lines\" SELECT g, g % 7 FROM generate_series(1, 40) g;"
        "CREATE TABLE sales.items (sku text);"
        "INSERT INTO sales.items VALUES ('x'), ('y');");
    return db;
  }

  // Streams a dump of `conn`'s database into a file; returns its path.
  std::string dump_to_file(const Tools& tools, const Connection& conn, const std::string& snapshot) {
    std::string path = (dir_ / ("dump" + std::to_string(dumps_++))).string();
    DumpStream dump(tools, conn, snapshot);
    std::ofstream(path, std::ios::binary) << to_string(read_whole_dump(dump));
    return path;
  }

  std::vector<TableInfo> counts(const Connection& conn, const std::string& db) {
    Session s(conn, db);
    return s.tables_with_row_counts();
  }

  Tools tools(const Connection& conn) {
    Session s(conn);
    return find_tools(s.server_version_num());
  }

  int dumps_ = 0;
};

}  // namespace coffer::pg
