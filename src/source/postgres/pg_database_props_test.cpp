#include "source/postgres/pg_database_props.h"

#include <gtest/gtest.h>

#include "coffer/error.h"
#include "source/postgres/pg_test_env.h"

namespace coffer::pg {
namespace {

TEST(PgDatabaseProps, QuotesIdentifiersAndLiterals) {
  EXPECT_EQ(sql_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(sql_literal("it's"), "'it''s'");
}

TEST(PgDatabaseProps, CreateStatementCarriesOwnerLocaleAndLimit) {
  DatabaseProps p;
  p.owner = "app";
  p.encoding = "UTF8";
  p.collate = p.ctype = "C.UTF-8";
  p.locale_provider = "i";
  p.provider_locale = "en-US";
  p.tablespace = "pg_default";
  p.connection_limit = 12;
  EXPECT_EQ(create_database_sql("n", p),
            "CREATE DATABASE \"n\" TEMPLATE template0 OWNER \"app\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
            "LC_CTYPE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' CONNECTION LIMIT 12");
}

TEST(PgDatabaseProps, FinishSetsPrivilegesSettingsAndComment) {
  DatabaseProps p;
  p.owner = "app";
  p.grants = std::vector<DatabaseGrant>{{"", "CONNECT", false}, {"reader", "CONNECT", true}};
  p.settings = {"work_mem=8MB", "search_path=\"$user\", reporting, public", "statement_timeout=it's"};
  std::vector<std::string> sql = finish_database_sql("n", p);
  std::vector<std::string> want = {
      "REVOKE ALL ON DATABASE \"n\" FROM PUBLIC",
      "REVOKE ALL ON DATABASE \"n\" FROM \"app\"",
      "GRANT CONNECT ON DATABASE \"n\" TO PUBLIC",
      "GRANT CONNECT ON DATABASE \"n\" TO \"reader\" WITH GRANT OPTION",
      "ALTER DATABASE \"n\" SET \"work_mem\" = '8MB'",
      "ALTER DATABASE \"n\" SET \"search_path\" = \"$user\", reporting, public",
      "ALTER DATABASE \"n\" SET \"statement_timeout\" = 'it''s'",
      "COMMENT ON DATABASE \"n\" IS NULL"};
  EXPECT_EQ(sql, want);
}

TEST(PgDatabaseProps, DefaultPrivilegesAreLeftAlone) {
  DatabaseProps p;
  p.comment = "x";
  EXPECT_EQ(finish_database_sql("n", p), std::vector<std::string>{"COMMENT ON DATABASE \"n\" IS 'x'"});
}

TEST(PgDatabaseProps, ListSettingThatIsNotAPlainListIsOneLiteral) {
  DatabaseProps p;
  p.settings = {"search_path=a; DROP TABLE x"};
  EXPECT_EQ(finish_database_sql("n", p).front(), "ALTER DATABASE \"n\" SET \"search_path\" = 'a; DROP TABLE x'");
}

class PgDatabasePropsTest : public PgTestBase {};

// A database built from another's properties reads back the same properties.
TEST_F(PgDatabasePropsTest, RoundTripsThroughTheServer) {
  std::string role = new_role("coffer_props_owner", "pw-not-used");
  std::string reader = new_role("coffer_props_reader", "pw-not-used");
  std::string original = new_database("coffer_props_a");
  const std::string q = sql_identifier(original);
  admin_sql("ALTER DATABASE " + q + " OWNER TO " + sql_identifier(role) + "; ALTER DATABASE " + q +
            " CONNECTION LIMIT 9; REVOKE ALL ON DATABASE " + q + " FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE " +
            q + " TO " + sql_identifier(reader) + " WITH GRANT OPTION; ALTER DATABASE " + q +
            " SET search_path = \"$user\", reporting, public; ALTER DATABASE " + q +
            " SET work_mem = '8MB'; COMMENT ON DATABASE " + q + " IS 'the school''s data'");
  Connection conn(config("postgres"));
  Session admin(conn, "postgres");
  DatabaseProps a = read_database_props(admin, original);
  EXPECT_EQ(a.owner, role);
  EXPECT_EQ(a.connection_limit, 9);
  ASSERT_TRUE(a.grants.has_value());
  EXPECT_EQ(a.settings.size(), 2u);
  ASSERT_TRUE(a.comment.has_value());
  EXPECT_EQ(*a.comment, "the school's data");

  std::string copy = new_db_name("coffer_props_b");
  admin.execute(create_database_sql(copy, a));
  for (const std::string& s : finish_database_sql(copy, a)) admin.execute(s);
  DatabaseProps b = read_database_props(admin, copy);
  EXPECT_EQ(b.owner, a.owner);
  EXPECT_EQ(b.encoding, a.encoding);
  EXPECT_EQ(b.collate, a.collate);
  EXPECT_EQ(b.ctype, a.ctype);
  EXPECT_EQ(b.locale_provider, a.locale_provider);
  EXPECT_EQ(b.connection_limit, a.connection_limit);
  EXPECT_EQ(b.settings, a.settings);
  EXPECT_EQ(b.comment, a.comment);
  auto as_text = [](const DatabaseProps& p) {
    std::vector<std::string> out;
    for (const auto& g : *p.grants) out.push_back(g.grantee + ":" + g.privilege + (g.grantable ? "*" : ""));
    std::sort(out.begin(), out.end());
    return out;
  };
  ASSERT_TRUE(b.grants.has_value());
  EXPECT_EQ(as_text(b), as_text(a));
}

TEST_F(PgDatabasePropsTest, MissingDatabaseIsNotFound) {
  Connection conn(config("postgres"));
  Session admin(conn, "postgres");
  try {
    read_database_props(admin, "coffer_no_such_database_here");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kNotFound);
  }
}

}  // namespace
}  // namespace coffer::pg
