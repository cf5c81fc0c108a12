#include "storage/s3/s3_xml.h"

#include <charconv>
#include <cstdint>

#include "coffer/error.h"

namespace coffer::s3xml {
namespace {

bool is_name_end(char c) { return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Finds the next element `tag` at or after pos. On success sets [inner_begin, inner_end) and
// the position just past the element.
bool next_element(std::string_view doc, std::string_view tag, size_t pos, size_t& inner_begin, size_t& inner_end,
                  size_t& after) {
  std::string open = "<" + std::string(tag);
  std::string close = "</" + std::string(tag) + ">";
  while (true) {
    size_t at = doc.find(open, pos);
    if (at == std::string_view::npos) return false;
    size_t name_end = at + open.size();
    if (name_end >= doc.size()) return false;
    if (!is_name_end(doc[name_end])) {  // <KeyCount> when looking for <Key>
      pos = name_end;
      continue;
    }
    size_t gt = doc.find('>', name_end);
    if (gt == std::string_view::npos) return false;
    if (doc[gt - 1] == '/') {  // <Tag/>
      inner_begin = inner_end = gt + 1;
      after = gt + 1;
      return true;
    }
    size_t end = doc.find(close, gt + 1);
    if (end == std::string_view::npos) return false;
    inner_begin = gt + 1;
    inner_end = end;
    after = end + close.size();
    return true;
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes one entity starting at text[i] == '&'; returns the characters consumed (0 = not one).
size_t decode_entity(std::string_view text, size_t i, std::string& out) {
  size_t semi = text.find(';', i);
  if (semi == std::string_view::npos || semi - i > 12) return 0;
  std::string_view name = text.substr(i + 1, semi - i - 1);
  if (name == "amp") out.push_back('&');
  else if (name == "lt") out.push_back('<');
  else if (name == "gt") out.push_back('>');
  else if (name == "quot") out.push_back('"');
  else if (name == "apos") out.push_back('\'');
  else if (name.size() >= 2 && name[0] == '#') {
    bool hex = name[1] == 'x' || name[1] == 'X';
    std::string_view digits = name.substr(hex ? 2 : 1);
    uint32_t cp = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || cp > 0x10FFFF) return 0;
    append_utf8(out, cp);
  } else {
    return 0;
  }
  return semi - i + 1;
}

std::string text_of(std::string_view doc, std::string_view tag) {
  auto v = first(doc, tag);
  return v ? decode(*v) : std::string();
}

[[noreturn]] void bad_listing(const std::string& why) {
  fail(ErrorCategory::kStorage, "the S3 server sent a ListObjectsV2 answer coffer cannot read (" + why +
                                    "); is the endpoint an S3-compatible server?");
}

}  // namespace

std::optional<std::string_view> first(std::string_view doc, std::string_view tag) {
  size_t b, e, after;
  if (!next_element(doc, tag, 0, b, e, after)) return std::nullopt;
  return doc.substr(b, e - b);
}

std::vector<std::string_view> all(std::string_view doc, std::string_view tag) {
  std::vector<std::string_view> out;
  size_t pos = 0, b, e, after;
  while (next_element(doc, tag, pos, b, e, after)) {
    out.push_back(doc.substr(b, e - b));
    pos = after;
  }
  return out;
}

std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 9, "<![CDATA[") == 0) {
      size_t end = text.find("]]>", i + 9);
      if (end == std::string_view::npos) end = text.size();
      out.append(text.substr(i + 9, end - i - 9));
      i = end + 3;
      continue;
    }
    if (text[i] == '&') {
      if (size_t n = decode_entity(text, i, out)) {
        i += n;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

ListPage parse_list_v2(std::string_view doc) {
  auto result = first(doc, "ListBucketResult");
  if (!result) bad_listing("no ListBucketResult");
  ListPage page;
  for (std::string_view contents : all(*result, "Contents")) {
    auto key = first(contents, "Key");
    auto size = first(contents, "Size");
    if (!key || key->empty()) bad_listing("an entry without a Key");
    uint64_t n = 0;
    if (size) {
      auto [p, ec] = std::from_chars(size->data(), size->data() + size->size(), n);
      if (ec != std::errc() || p != size->data() + size->size()) bad_listing("Size '" + std::string(*size) + "'");
    }
    page.objects.push_back({decode(*key), n});
  }
  page.truncated = text_of(*result, "IsTruncated") == "true";
  page.next_token = text_of(*result, "NextContinuationToken");
  if (page.truncated && page.next_token.empty()) bad_listing("truncated without NextContinuationToken");
  return page;
}

std::optional<ErrorInfo> parse_error(std::string_view doc) {
  auto err = first(doc, "Error");
  if (!err) return std::nullopt;
  return ErrorInfo{text_of(*err, "Code"), text_of(*err, "Message"), text_of(*err, "Key")};
}

std::vector<ErrorInfo> parse_delete_errors(std::string_view doc) {
  std::vector<ErrorInfo> out;
  for (std::string_view e : all(doc, "Error"))
    out.push_back({text_of(e, "Code"), text_of(e, "Message"), text_of(e, "Key")});
  return out;
}

std::string delete_objects_body(const std::vector<std::string>& full_keys) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete><Quiet>true</Quiet>";
  for (const auto& k : full_keys) out += "<Object><Key>" + escape(k) + "</Key></Object>";
  out += "</Delete>";
  return out;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i)
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + escape(etags[i]) + "</ETag></Part>";
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace coffer::s3xml
