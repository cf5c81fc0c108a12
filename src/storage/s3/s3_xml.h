// The little XML that S3 speaks: pick elements out of its answers and build the two request
// bodies coffer sends (DeleteObjects, CompleteMultipartUpload). Not a general XML parser: S3's
// answers are flat, machine-written documents, so finding <Tag>…</Tag> pairs and decoding
// entities is enough, and is robust to attributes, namespaces and element order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/storage.h"

namespace coffer::s3xml {

// Inner text (entities not decoded) of the first <tag>…</tag>; "" for <tag/>; nullopt when absent.
std::optional<std::string_view> first(std::string_view doc, std::string_view tag);
// Inner texts of every top-level <tag>…</tag> in doc, in order.
std::vector<std::string_view> all(std::string_view doc, std::string_view tag);
// Decodes &amp; &lt; &gt; &quot; &apos; &#N; &#xN; and <![CDATA[…]]>. Unknown entities stay as they are.
std::string decode(std::string_view text);
// Escapes & < > " ' for element text.
std::string escape(std::string_view text);

struct ListPage {
  std::vector<ObjectInfo> objects;  // keys as S3 gave them (full keys, prefix included)
  bool truncated = false;
  std::string next_token;
};
// ListObjectsV2 answer. Throws Error(kStorage) when it is not one (no ListBucketResult, a
// Contents without Key or with a bad Size, truncated without a continuation token).
ListPage parse_list_v2(std::string_view doc);

struct ErrorInfo {
  std::string code;
  std::string message;
  std::string key;  // DeleteObjects errors name the key
};
// <Error><Code>…</Code><Message>…</Message></Error>; nullopt when doc holds no Error.
std::optional<ErrorInfo> parse_error(std::string_view doc);
// The <Error> entries of a DeleteObjects answer.
std::vector<ErrorInfo> parse_delete_errors(std::string_view doc);

std::string delete_objects_body(const std::vector<std::string>& full_keys);
// parts[i] is the ETag (quotes included) of part i+1.
std::string complete_multipart_body(const std::vector<std::string>& etags);

}  // namespace coffer::s3xml
