// S3Storage against real servers (started by scripts/test.sh through tests/fixtures/
// s3_server.sh): the signature-checking s3rver fork, Debian's awscli as an independent client,
// and a fault-injecting proxy (tests/fixtures/s3_fault_proxy.py) in front of s3rver.
#include "storage/s3/s3_storage.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "coffer/error.h"
#include "storage/s3/s3_test_env.h"
#include "util/subprocess.h"
#include "testing/fixtures.h"

namespace coffer {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

Bytes random_data(size_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(gen());
  return out;
}

// Runs f and returns the Error it throws (a test failure when it throws none).
Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no coffer::Error thrown";
  return Error(ErrorCategory::kInternal, "none");
}

// ---- without a server ---------------------------------------------------------------------

S3Options valid_options() {
  S3Options o;
  o.bucket = "my-bucket";
  o.access_key = "AKIDEXAMPLE";
  o.secret_key = "very-secret-key";
  o.region = "eu-central-1";
  return o;
}

TEST(OptionsOfS3Storage, DefaultsAndNormalisation) {
  S3Storage aws(valid_options());
  EXPECT_EQ(aws.options().endpoint, "https://s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(aws.describe(), "s3://my-bucket/backups/ at https://s3.eu-central-1.amazonaws.com");
  S3Options o = valid_options();
  o.endpoint = "HTTP://127.0.0.1:80/";
  o.prefix = "/team/coffer";
  S3Storage local(o);
  EXPECT_EQ(local.options().endpoint, "http://127.0.0.1");
  EXPECT_EQ(local.options().prefix, "team/coffer/");
}

TEST(OptionsOfS3Storage, BadSettingsAreConfigErrorsNamingTheSetting) {
  auto config_error = [](auto mutate, const std::string& names) {
    S3Options o = valid_options();
    mutate(o);
    Error e = error_of([&] { S3Storage s(o); });
    EXPECT_EQ(e.category(), ErrorCategory::kConfig) << e.what();
    EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("very-secret-key"), std::string::npos);
  };
  config_error([](S3Options& o) { o.bucket.clear(); }, "S3_BUCKET");
  config_error([](S3Options& o) { o.secret_key.clear(); }, "AWS_SECRET_ACCESS_KEY");
  config_error([](S3Options& o) { o.endpoint = "ftp://host"; }, "S3_ENDPOINT");
  config_error([](S3Options& o) { o.endpoint = "http://host/path"; }, "S3_ENDPOINT");
  config_error([](S3Options& o) { o.sse = "des"; }, "des");
  config_error([](S3Options& o) { o.sse_kms_key_id = "k"; }, "aws:kms");
  config_error([](S3Options& o) { o.part_size = 1 << 20; }, "5 MiB");
}

// A port on which nothing listens: bound once to learn a free number, then closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(OptionsOfS3Storage, ServerDownFailsWithinTheRetryBound) {
  S3Options o = valid_options();
  o.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  o.retry.max_attempts = 1000;  // the time bound must stop it, not the attempts
  o.retry.base = milliseconds(50);
  o.retry.cap = milliseconds(400);
  o.retry.total = milliseconds(1500);
  S3Storage s(o);
  auto start = std::chrono::steady_clock::now();
  Error e = error_of([&] { s.get("data/x", 0, Storage::kWhole); });
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e.category(), ErrorCategory::kStorage);
  EXPECT_LT(took, milliseconds(2500));
  EXPECT_GE(took, milliseconds(300));  // it did retry
  std::string msg = e.what();
  EXPECT_NE(msg.find("data/x"), std::string::npos) << msg;
  EXPECT_NE(msg.find(o.endpoint), std::string::npos) << msg;
  EXPECT_NE(msg.find("attempts"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("very-secret-key"), std::string::npos) << msg;

  o.retry.max_attempts = 3;  // and the attempts bound, when it comes first
  o.retry.total = milliseconds(60000);
  S3Storage s3(o);
  start = std::chrono::steady_clock::now();
  e = error_of([&] { s3.put("data/y", as_bytes("y")); });
  EXPECT_NE(std::string(e.what()).find("after 3 attempts"), std::string::npos) << e.what();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

// ---- the signature-checking server ----------------------------------------------------------

class S3Signed : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = s3test::server("COFFER_TEST_S3V");
    ASSERT_TRUE(s) << s3test::kHowToRun;
    server_ = *s;
    prefix_ = s3test::unique_prefix("signed");
  }
  void TearDown() override {
    if (!server_.endpoint.empty()) {
      S3Storage s(s3test::options(server_, prefix_));
      s3test::wipe(s);
    }
  }
  s3test::Server server_;
  std::string prefix_;
};

TEST_F(S3Signed, AcceptsEveryKindOfRequestWeSign) {
  S3Options o = s3test::options(server_, prefix_);
  o.storage_class = "STANDARD_IA";  // signed x-amz-* headers on PUT and multipart create
  o.sse = "AES256";
  S3Storage s(o);
  Bytes big = random_data(11u << 20, 3);  // multipart: create, 3 parts, complete
  s.put("packs/big", big);
  s.put("odd key/a+b=c&d~(1)/é", as_bytes("odd"));
  EXPECT_TRUE(s.put_if_absent("locks/l", as_bytes("lock")));
  EXPECT_FALSE(s.put_if_absent("locks/l", as_bytes("lock2")));
  EXPECT_EQ(s.get("packs/big", 0, Storage::kWhole), big);
  EXPECT_EQ(s.get("packs/big", 100, 50), Bytes(big.begin() + 100, big.begin() + 150));
  EXPECT_EQ(to_string(s.get("odd key/a+b=c&d~(1)/é", 0, Storage::kWhole)), "odd");
  EXPECT_EQ(s.head("packs/big")->size, big.size());
  EXPECT_EQ(s.list("").size(), 3u);
  s.remove("locks/l");
  s.remove_many({"packs/big", "odd key/a+b=c&d~(1)/é", "never/was"});
  EXPECT_TRUE(s.list("").empty());
}

TEST_F(S3Signed, WrongSecretOrKeyIsAuthErrorWithoutSecretsOrSignature) {
  const std::string wrong_secret = "Wr0ngSecretKeyThatMustNotLeak";
  S3Options o = s3test::options(server_, prefix_);
  o.secret_key = wrong_secret;
  o.session_token = "SessionTokenThatMustNotLeak";
  S3Storage s(o);
  const std::regex hex64("[0-9a-f]{64}");
  auto check = [&](const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kAuth) << msg;
    EXPECT_NE(msg.find("access denied"), std::string::npos) << msg;
    EXPECT_NE(msg.find(server_.bucket), std::string::npos) << msg;
    EXPECT_NE(msg.find(server_.endpoint), std::string::npos) << msg;
    EXPECT_EQ(msg.find(wrong_secret), std::string::npos) << msg;
    EXPECT_EQ(msg.find(server_.secret_key + "\n"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("SessionTokenThatMustNotLeak"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Signature="), std::string::npos) << msg;
    EXPECT_FALSE(std::regex_search(msg, hex64)) << msg;
  };
  auto start = std::chrono::steady_clock::now();
  Error put_error = error_of([&] { s.put("data/x", as_bytes("x")); });
  check(put_error);
  EXPECT_NE(std::string(put_error.what()).find("SignatureDoesNotMatch"), std::string::npos) << put_error.what();
  check(error_of([&] { s.get("data/x", 0, Storage::kWhole); }));
  check(error_of([&] { s.head("data/x"); }));
  check(error_of([&] { s.list(""); }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));  // 403 is not retried

  o = s3test::options(server_, prefix_);
  o.access_key = "NOSUCHKEY";
  S3Storage unknown(o);
  Error e = error_of([&] { unknown.put("data/x", as_bytes("x")); });
  EXPECT_EQ(e.category(), ErrorCategory::kAuth) << e.what();
  EXPECT_NE(std::string(e.what()).find("InvalidAccessKeyId"), std::string::npos) << e.what();
}

// ---- awscli as an independent client ---------------------------------------------------------

class S3Awscli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = s3test::server("COFFER_TEST_S3");
    ASSERT_TRUE(s) << s3test::kHowToRun;
    server_ = *s;
    ASSERT_TRUE(fs::exists("/usr/bin/aws")) << "Debian's awscli is missing: run scripts/setup.sh";
    prefix_ = s3test::unique_prefix("awscli");
    dir_ = test_support::make_temp_dir("coffer-awscli");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (!server_.endpoint.empty()) {
      S3Storage s(s3test::options(server_, prefix_));
      s3test::wipe(s);
    }
  }
  // Runs /usr/bin/aws (not whatever `aws` comes first on PATH) against the test server.
  std::string aws(std::vector<std::string> args) {
    ProcessSpec spec;
    spec.argv = {"/usr/bin/aws", "--endpoint-url", server_.endpoint};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env_set = {{"AWS_ACCESS_KEY_ID", server_.access_key},
                    {"AWS_SECRET_ACCESS_KEY", server_.secret_key},
                    {"AWS_DEFAULT_REGION", server_.region},
                    {"AWS_CONFIG_FILE", "/dev/null"},
                    {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
                    {"AWS_PAGER", ""}};
    std::string out, err;
    int rc = run_process(spec, &out, &err);
    EXPECT_EQ(rc, 0) << "aws " << args[0] << " " << args[1] << ": " << err;
    return out;
  }
  s3test::Server server_;
  std::string prefix_;
  fs::path dir_;
};

std::string md5_hex(ByteView data) {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return to_hex(ByteView(md, len));
}

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

TEST_F(S3Awscli, ReadsWhatWeWroteAndWeReadWhatItWrote) {
  S3Storage s(s3test::options(server_, prefix_));
  std::map<std::string, Bytes> ours = {{"data/ab/small", random_data(1000, 1)},
                                       {"data/cd/empty", {}},
                                       {"packs/big", random_data((12u << 20) + 7, 2)}};
  for (const auto& [k, v] : ours) s.put(k, v);

  // Listed with the sizes we wrote, and the server's MD5 of the single-PUT ones is ours.
  auto listing = nlohmann::json::parse(aws({"s3api", "list-objects-v2", "--bucket", server_.bucket,
                                            "--prefix", prefix_, "--output", "json"}));
  std::map<std::string, uint64_t> sizes;
  for (const auto& o : listing["Contents"]) {
    std::string key = o["Key"];
    sizes[key.substr(prefix_.size())] = o["Size"];
    if (key.ends_with("data/ab/small")) {
      EXPECT_EQ(o["ETag"].get<std::string>(), "\"" + md5_hex(ours["data/ab/small"]) + "\"");
    }
  }
  std::map<std::string, uint64_t> expected;
  for (const auto& [k, v] : ours) expected[k] = v.size();
  EXPECT_EQ(sizes, expected);

  // Downloaded byte for byte.
  aws({"s3", "cp", "--recursive", "--only-show-errors", "s3://" + server_.bucket + "/" + prefix_,
       (dir_ / "down").string()});
  for (const auto& [k, v] : ours) EXPECT_EQ(read_file(dir_ / "down" / k), v) << k;

  // And the other way round.
  Bytes theirs = random_data(300000, 9);
  std::ofstream(dir_ / "up.bin", std::ios::binary).write(reinterpret_cast<const char*>(theirs.data()),
                                                          static_cast<std::streamsize>(theirs.size()));
  aws({"s3", "cp", "--only-show-errors", (dir_ / "up.bin").string(),
       "s3://" + server_.bucket + "/" + prefix_ + "from-aws/up.bin"});
  EXPECT_EQ(s.get("from-aws/up.bin", 0, Storage::kWhole), theirs);
  EXPECT_EQ(s.head("from-aws/up.bin")->size, theirs.size());
}

// ---- faults --------------------------------------------------------------------------------

// tests/fixtures/s3_fault_proxy.py in front of `upstream` (an http://127.0.0.1:PORT endpoint).
struct Proxy {
  std::unique_ptr<Subprocess> process;  // destroying it kills the proxy
  std::string port;
};

Proxy start_proxy(const std::string& upstream, const std::vector<std::string>& args) {
  fs::path script = fs::path(__FILE__).parent_path() / "../../../tests/fixtures/s3_fault_proxy.py";
  ProcessSpec spec;
  spec.argv = {"python3", script.lexically_normal().string(), upstream.substr(upstream.rfind(':') + 1)};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.pipe_stdout = true;
  Proxy p{std::make_unique<Subprocess>(spec), ""};
  std::string line;
  uint8_t c;
  while (p.process->read(&c, 1) == 1 && c != '\n') line.push_back(static_cast<char>(c));
  if (line.rfind("PORT ", 0) != 0)
    throw std::runtime_error("fault proxy did not start: " + line + " " + p.process->error_output());
  p.port = line.substr(5);
  return p;
}

class S3Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = s3test::server("COFFER_TEST_S3");
    ASSERT_TRUE(s) << s3test::kHowToRun;
    server_ = *s;
    prefix_ = s3test::unique_prefix("faults");
    log_ = "/tmp/coffer-fault-proxy-" + std::to_string(getpid()) + ".log";
    fs::remove(log_);
    proxy_ = start_proxy(server_.endpoint, {"--rate", "0.35", "--seed", "7", "--log", log_});
    proxy_endpoint_ = "http://127.0.0.1:" + proxy_.port;
  }
  void TearDown() override {
    proxy_.process.reset();  // kills it
    fs::remove(log_);
    if (!server_.endpoint.empty()) {
      S3Storage direct(s3test::options(server_, prefix_));
      s3test::wipe(direct);
    }
  }
  // The proxy's log: one "<kind> <METHOD> <path>" line per request, kind "ok" or the fault.
  std::vector<std::array<std::string, 3>> requests() {
    std::vector<std::array<std::string, 3>> out;
    std::ifstream in(log_);
    for (std::string kind, method, path; in >> kind >> method >> path;) out.push_back({kind, method, path});
    return out;
  }
  s3test::Server server_;
  std::string prefix_, log_, proxy_endpoint_;
  Proxy proxy_;
};

TEST_F(S3Faults, PutsAndGetsSucceedThroughInjectedFaultsWithIdenticalData) {
  S3Options o = s3test::options(server_, prefix_);
  o.endpoint = proxy_endpoint_;
  o.retry.max_attempts = 12;
  o.retry.base = milliseconds(5);
  o.retry.cap = milliseconds(100);
  S3Storage s(o);
  std::map<std::string, Bytes> objects;
  for (int i = 0; i < 24; ++i) objects["data/" + std::to_string(i)] = random_data(500 + i * 7000, i);
  objects["packs/big"] = random_data(11u << 20, 99);  // multipart through the faults too

  std::vector<std::thread> threads;
  std::vector<std::string> keys;
  for (const auto& [k, v] : objects) keys.push_back(k);
  std::atomic<size_t> next{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < keys.size();) {
        const std::string& k = keys[i];
        try {
          s.put(k, objects[k]);
          EXPECT_EQ(s.get(k, 0, Storage::kWhole), objects[k]) << k;
          EXPECT_EQ(s.get(k, 10, 100), Bytes(objects[k].begin() + 10, objects[k].begin() + 110)) << k;
          EXPECT_EQ(s.head(k)->size, objects[k].size()) << k;
        } catch (const Error& e) {
          ADD_FAILURE() << k << ": " << e.what();
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(s.list("").size(), objects.size());
  EXPECT_TRUE(s.put_if_absent("locks/l", as_bytes("mine")));
  EXPECT_FALSE(s.put_if_absent("locks/l", as_bytes("theirs")));

  // What reached the server is exactly what we put: read it back without the proxy.
  S3Storage direct(s3test::options(server_, prefix_));
  for (const auto& [k, v] : objects) EXPECT_EQ(direct.get(k, 0, Storage::kWhole), v) << k;
  EXPECT_EQ(to_string(direct.get("locks/l", 0, Storage::kWhole)), "mine");

  std::map<std::string, int> kinds;  // by fault kind
  bool multipart_started = false, third_part_sent = false;
  for (const auto& [kind, method, path] : requests()) {
    kinds[kind]++;
    multipart_started |= method == "POST" && path.find("packs/big?uploads") != std::string::npos;
    third_part_sent |= method == "PUT" && path.find("partNumber=3&") != std::string::npos;
  }
  for (const char* kind : {"500", "503", "reset", "truncate"}) EXPECT_GE(kinds[kind], 3) << kind;
  EXPECT_GE(kinds["ok"], 80);  // the log saw the whole run
  EXPECT_TRUE(multipart_started);
  EXPECT_TRUE(third_part_sent);
}

TEST_F(S3Faults, FailedMultipartUploadIsAbortedAndLeavesNoObject) {
  S3Options o = s3test::options(server_, prefix_);
  o.endpoint = proxy_endpoint_;
  o.retry.max_attempts = 1;  // every injected fault fails the upload
  S3Storage s(o);
  S3Storage direct(s3test::options(server_, prefix_));
  Bytes big = random_data(11u << 20, 5);
  int failures_after_start = 0;
  for (int i = 0; i < 20 && failures_after_start == 0; ++i) {
    std::string key = "packs/big" + std::to_string(i);
    try {
      s.put(key, big);
      continue;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kStorage) << e.what();
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
    EXPECT_FALSE(direct.head(key));  // nothing half-written is visible
    // Once the upload was started (its answer came back whole), a failure must abort it.
    bool started = false, abort_sent = false;
    for (const auto& [kind, method, path] : requests()) {
      started |= kind == "ok" && method == "POST" && path.find(key + "?uploads") != std::string::npos;
      abort_sent |= method == "DELETE" && path.find(key + "?uploadId=") != std::string::npos;
    }
    if (started) {
      EXPECT_TRUE(abort_sent) << key;
      ++failures_after_start;
    }
  }
  EXPECT_EQ(failures_after_start, 1) << "no upload failed after its start in 20 tries at a 35% fault rate";
}

// The answers that get lost after the server did the work: each operation must still succeed,
// and say what really happened.
TEST(S3LostAnswers, CompletedUploadWhoseAnswerWasLostIsSeenAsDone) {
  auto server = s3test::server("COFFER_TEST_S3");
  ASSERT_TRUE(server) << s3test::kHowToRun;
  Proxy proxy = start_proxy(server->endpoint, {"--rate", "0", "--once", "POST .*[?]uploadId=", "truncate",
                                               "--once", "PUT .*partNumber=2&", "reset",
                                               "--once", "GET .*packs/big", "truncate"});
  std::string prefix = s3test::unique_prefix("lost");
  S3Options o = s3test::options(*server, prefix);
  o.endpoint = "http://127.0.0.1:" + proxy.port;
  S3Storage s(o);
  Bytes big = random_data(11u << 20, 11);
  s.put("packs/big", big);
  EXPECT_EQ(s.get("packs/big", 0, Storage::kWhole), big);
  S3Storage direct(s3test::options(*server, prefix));
  EXPECT_EQ(direct.get("packs/big", 0, Storage::kWhole), big);
  s3test::wipe(direct);
}

// A self-signed certificate for 127.0.0.1, written as PEM files cert and key.
void write_self_signed_cert(const fs::path& cert, const fs::path& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, pkey, EVP_sha256());
  FILE* f = std::fopen(cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

TEST(S3Tls, VerifiesTheServerCertificateAgainstTheCaBundle) {
  auto server = s3test::server("COFFER_TEST_S3");
  ASSERT_TRUE(server) << s3test::kHowToRun;
  fs::path dir = test_support::make_temp_dir("coffer-tls");
  write_self_signed_cert(dir / "cert.pem", dir / "key.pem");
  Proxy proxy = start_proxy(server->endpoint, {"--rate", "0", "--tls", (dir / "cert.pem").string(),
                                               (dir / "key.pem").string()});
  S3Options o = s3test::options(*server, s3test::unique_prefix("tls"));
  o.endpoint = "https://127.0.0.1:" + proxy.port;
  o.retry.base = milliseconds(3000);  // a certificate error must not be retried
  {
    S3Storage untrusted(o);
    auto start = std::chrono::steady_clock::now();
    Error e = error_of([&] { untrusted.put("data/x", as_bytes("x")); });
    EXPECT_EQ(e.category(), ErrorCategory::kStorage) << e.what();
    EXPECT_NE(std::string(e.what()).find("CA bundle"), std::string::npos) << e.what();
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  }
  o.ca_bundle = (dir / "cert.pem").string();
  S3Storage trusted(o);
  trusted.put("data/x", as_bytes("over tls"));
  EXPECT_EQ(to_string(trusted.get("data/x", 0, Storage::kWhole)), "over tls");
  s3test::wipe(trusted);
  fs::remove_all(dir);
}

TEST(S3Errors, ClientErrorsFailAtOnceNamingTheObjectAndTheWayOut) {
  auto server = s3test::server("COFFER_TEST_S3");
  ASSERT_TRUE(server) << s3test::kHowToRun;
  S3Options o = s3test::options(*server, s3test::unique_prefix("errors"));
  o.bucket = "no-such-bucket-here";
  o.retry.base = milliseconds(3000);  // a single retry would show in the time taken
  o.retry.cap = milliseconds(3000);
  S3Storage s(o);
  auto start = std::chrono::steady_clock::now();
  Error e = error_of([&] { s.put("data/x", as_bytes("x")); });
  EXPECT_EQ(e.category(), ErrorCategory::kStorage) << e.what();
  EXPECT_NE(std::string(e.what()).find("no-such-bucket-here"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("S3_BUCKET"), std::string::npos) << e.what();
  e = error_of([&] { s.list("data/"); });
  EXPECT_NE(std::string(e.what()).find("S3_BUCKET"), std::string::npos) << e.what();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));

  S3Storage good(s3test::options(*server, s3test::unique_prefix("errors")));
  e = error_of([&] { good.get("data/missing", 0, 10); });
  EXPECT_EQ(e.category(), ErrorCategory::kNotFound) << e.what();
  EXPECT_NE(std::string(e.what()).find("data/missing"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace coffer
