#include "engine/physical_restore.h"

#include <gtest/gtest.h>

#include "coffer/error.h"

namespace coffer {
namespace {

const std::vector<PhysicalPart::Tablespace> kTwo = {{"16390", "/srv/ts/fast"}, {"16391", "/srv/ts/slow"}};

TEST(TablespacePlacesTest, EachStaysInPlaceUnlessMovedByItsPlaceOrOid) {
  EXPECT_EQ(tablespace_places(kTwo, {}, "b1"),
            (std::map<std::string, std::string>{{"16390", "/srv/ts/fast"}, {"16391", "/srv/ts/slow"}}));
  EXPECT_EQ(tablespace_places(kTwo, {{"/srv/ts/fast/", "/mnt/new/fast/"}}, "b1"),
            (std::map<std::string, std::string>{{"16390", "/mnt/new/fast"}, {"16391", "/srv/ts/slow"}}));
  EXPECT_EQ(tablespace_places(kTwo, {{"16391", "/mnt/slow"}}, "b1").at("16391"), "/mnt/slow");
  EXPECT_TRUE(tablespace_places({}, {}, "b1").empty());
}

TEST(TablespacePlacesTest, RefusesWhatNamesNoTablespaceAndRelativePlaces) {
  try {
    tablespace_places(kTwo, {{"/srv/ts/other", "/mnt/x"}}, "b1");
    ADD_FAILURE() << "accepted an unknown tablespace";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInput);
    EXPECT_NE(std::string(e.what()).find("it has /srv/ts/fast (OID 16390), /srv/ts/slow (OID 16391)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(tablespace_places({}, {{"16390", "/mnt/x"}}, "b1"), Error);
  EXPECT_THROW(tablespace_places(kTwo, {{"16390", "mnt/x"}}, "b1"), Error);
  EXPECT_THROW(tablespace_places(kTwo, {{"16390", ""}}, "b1"), Error);
}

}  // namespace
}  // namespace coffer
