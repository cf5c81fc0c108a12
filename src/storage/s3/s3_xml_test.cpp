#include "storage/s3/s3_xml.h"

#include <gtest/gtest.h>

#include "coffer/error.h"

namespace coffer::s3xml {
namespace {

const char* kListPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>backups/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>backups/a&amp;b &lt;c&gt; &#233;&#x1F600;</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents>
    <Size>0</Size>
    <Key>backups/data/empty</Key>
  </Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";

TEST(AwsXml, ParsesListPageWithEntitiesAnyOrderAndSimilarTagNames) {
  ListPage page = parse_list_v2(kListPage);
  ASSERT_EQ(page.objects.size(), 2u);
  EXPECT_EQ(page.objects[0].key, "backups/a&b <c> \xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(page.objects[0].size, 1234u);
  EXPECT_EQ(page.objects[1].key, "backups/data/empty");
  EXPECT_EQ(page.objects[1].size, 0u);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(AwsXml, LastPageAndEmptyListing) {
  ListPage page = parse_list_v2("<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>");
  EXPECT_TRUE(page.objects.empty());
  EXPECT_FALSE(page.truncated);
}

TEST(AwsXml, RejectsWhatIsNotAListing) {
  auto category_of = [](const char* doc) {
    try {
      parse_list_v2(doc);
    } catch (const Error& e) {
      return e.category();
    }
    return ErrorCategory::kInternal;
  };
  EXPECT_EQ(category_of("<html>proxy error</html>"), ErrorCategory::kStorage);
  EXPECT_EQ(category_of("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
            ErrorCategory::kStorage);
  EXPECT_EQ(category_of("<ListBucketResult><Contents><Key>k</Key><Size>12x</Size></Contents></ListBucketResult>"),
            ErrorCategory::kStorage);
  EXPECT_EQ(category_of("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"),
            ErrorCategory::kStorage);
}

TEST(AwsXml, ParsesErrorsAndDeleteErrors) {
  auto e = parse_error(R"(<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code>
      <Message>The request signature we calculated does not match</Message><StringToSign>x</StringToSign></Error>)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_EQ(e->message, "The request signature we calculated does not match");
  EXPECT_FALSE(parse_error("<ListBucketResult/>"));
  auto errs = parse_delete_errors(
      "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b&amp;c</Key><Code>AccessDenied</Code>"
      "<Message>no</Message></Error><Error><Key>d</Key><Code>InternalError</Code></Error></DeleteResult>");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].key, "b&c");
  EXPECT_EQ(errs[0].code, "AccessDenied");
  EXPECT_EQ(errs[1].code, "InternalError");
}

TEST(AwsXml, DecodeKeepsUnknownEntitiesAndReadsCdata) {
  EXPECT_EQ(decode("a &nbsp; &#xZZ; & b"), "a &nbsp; &#xZZ; & b");
  EXPECT_EQ(decode("<![CDATA[a<b>&amp;]]>c"), "a<b>&amp;c");
  EXPECT_EQ(decode(escape("<a href=\"x\">&'</a>")), "<a href=\"x\">&'</a>");
}

TEST(AwsXml, BuildsRequestBodies) {
  EXPECT_EQ(delete_objects_body({"a&b", "c"}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete><Quiet>true</Quiet>"
            "<Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object></Delete>");
  std::string body = complete_multipart_body({"\"e1\"", "\"e2\""});
  auto parts = all(body, "Part");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(decode(*first(parts[1], "ETag")), "\"e2\"");
  EXPECT_EQ(*first(parts[1], "PartNumber"), "2");
}

}  // namespace
}  // namespace coffer::s3xml
