#include "coffer/redact.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

TEST(RedactUrlCredentials, HidesUserInfoInEveryUrl) {
  EXPECT_EQ(redact_url_credentials("http://admin:s3cret@127.0.0.1:9000"), "http://***@127.0.0.1:9000");
  EXPECT_EQ(redact_url_credentials("S3_ENDPOINT='https://key@host/x?y=1' and http://u:p@h:1/"),
            "S3_ENDPOINT='https://***@host/x?y=1' and http://***@h:1/");
  // A user-info holding '@' itself: everything up to the last '@' of the authority goes.
  EXPECT_EQ(redact_url_credentials("http://a@b:c@d@host"), "http://***@host");
}

TEST(RedactUrlCredentials, LeavesOtherTextAlone) {
  for (const char* t : {"", "no url here", "http://127.0.0.1:9000/bucket/key@version", "mail me: a@b.c",
                        "s3://bucket/backups/ at http://127.0.0.1:9000", "://", "x://"})
    EXPECT_EQ(redact_url_credentials(t), t);
}

}  // namespace
}  // namespace coffer
