// S3Storage::put for large objects: a multipart upload whose parts go up in parallel, and
// which is aborted (DELETE ?uploadId) when any step fails, so no half-written object appears.
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "coffer/error.h"
#include "storage/s3/s3_call.h"
#include "storage/s3/s3_xml.h"

namespace coffer {
namespace {

constexpr uint64_t kMaxParts = 10000;  // S3's limit

}  // namespace

void S3Storage::put_multipart(const std::string& key, ByteView data) {
  const std::string full = full_key(key);
  uint64_t part_size = options_.part_size;
  while ((data.size() + part_size - 1) / part_size > kMaxParts) part_size *= 2;
  const size_t parts = static_cast<size_t>((data.size() + part_size - 1) / part_size);

  Call create{"POST", full, {{"uploads", ""}}, {{"Content-Type", "application/octet-stream"}}, {},
              "start of multipart upload of object " + key};
  add_write_headers(create.headers);
  Answer created = execute(create);
  std::string_view created_body(reinterpret_cast<const char*>(created.http.body.data()), created.http.body.size());
  auto upload_id_xml = s3xml::first(created_body, "UploadId");
  if (created.status() != 200) fail_answer(create, created);
  if (!upload_id_xml || upload_id_xml->empty())
    fail(ErrorCategory::kStorage, "S3 " + create.what + " in " + describe() + ": the answer has no UploadId");
  const std::string upload_id = s3xml::decode(*upload_id_xml);

  auto abort_upload = [&] {
    try {
      Call abort{"DELETE", full, {{"uploadId", upload_id}}, {}, {}, "abort of multipart upload of object " + key};
      execute(abort);
    } catch (const Error&) {
      // Best effort: the upload is already failing; a bucket lifecycle rule cleans leftovers.
    }
  };

  try {
    std::vector<std::string> etags(parts);
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr first_error;
    std::mutex error_mu;
    auto worker = [&] {
      while (!failed.load()) {
        size_t i = next.fetch_add(1);
        if (i >= parts) return;
        try {
          uint64_t begin = i * part_size;
          ByteView slice = data.subspan(begin, std::min<uint64_t>(part_size, data.size() - begin));
          Call up{"PUT", full, {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}},
                  {{"Content-MD5", sigv4::md5_base64(slice)}}, slice,
                  "upload of part " + std::to_string(i + 1) + "/" + std::to_string(parts) + " of object " + key};
          Answer a = execute(up);
          if (a.status() != 200) fail_answer(up, a);
          auto etag = a.http.headers.find("etag");
          if (etag == a.http.headers.end() || etag->second.empty())
            fail(ErrorCategory::kStorage, "S3 " + up.what + " in " + describe() + ": the answer has no ETag");
          etags[i] = etag->second;
        } catch (...) {
          std::lock_guard lock(error_mu);
          if (!first_error) first_error = std::current_exception();
          failed = true;
        }
      }
    };
    std::vector<std::thread> helpers;
    size_t threads = std::min<size_t>(static_cast<size_t>(options_.multipart_concurrency), parts);
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(worker);
    worker();
    for (auto& t : helpers) t.join();
    if (first_error) std::rethrow_exception(first_error);

    std::string body = s3xml::complete_multipart_body(etags);
    Call complete{"POST", full, {{"uploadId", upload_id}}, {{"Content-Type", "application/xml"}}, as_bytes(body),
                  "completion of multipart upload of object " + key};
    complete.error_in_200 = true;
    // A completion whose answer was lost leaves the upload gone: a retry then fails (404
    // NoSuchUpload on S3, 500 on s3rver) although the object is there. Keys are written once,
    // so an object of our size under our key is ours.
    complete.done_already = [&] {
      auto info = head(key);
      return info && info->size == data.size();
    };
    Answer done = execute(complete);
    if (done.status() == 200 && done.code.empty()) return;
    if (done.code == "NoSuchUpload" && done.retried && complete.done_already()) return;
    fail_answer(complete, done);
  } catch (...) {
    abort_upload();
    throw;
  }
}

}  // namespace coffer
