#include "config/aws_credentials.h"

#include <string>

#include <gtest/gtest.h>

#include "config/config_test_support.h"

namespace coffer::config {
namespace {

using config_test::config_error;

TEST(AwsCredentialsTest, ProfilesKeysAndValuesAreRead) {
  const auto profiles = parse_aws_credentials(
      "# comment\n; another\n[default]\nAWS_ACCESS_KEY_ID = AKIADEF\n\n[ profile ci ]\nk = v = w\n", "f");
  EXPECT_EQ(profiles.at("default").at("aws_access_key_id"), "AKIADEF");  // keys in lower case
  EXPECT_EQ(profiles.at("ci").at("k"), "v = w");                         // "[profile x]" is x
  EXPECT_EQ(profiles.size(), 2u);
}

TEST(AwsCredentialsTest, SyntaxErrorsNameTheLineButHideIt) {
  const std::string msg = config_error([] { parse_aws_credentials("[a]\nTopSecretValue\n", "f"); });
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("TopSecretValue"), std::string::npos) << msg;
  EXPECT_NE(config_error([] { parse_aws_credentials("key = before_section\n", "f"); }).find("line 1"),
            std::string::npos);
}

}  // namespace
}  // namespace coffer::config
