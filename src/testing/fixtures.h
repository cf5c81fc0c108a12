// What unit tests share: a throwaway folder, a throwaway repository on local disk, and text
// shaped like a table's rows in a database dump. Header-only; for *_test.cpp files.
#pragma once

#include <stdlib.h>

#include <cstdlib>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "coffer/error.h"
#include "repo/repository.h"
#include "storage/local/local_storage.h"

namespace coffer::test_support {

// Sets an environment variable (TMPDIR for the code that makes temp files there) for as long
// as this lives, then puts back what was there, or unsets it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_.c_str(), old_->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh folder /tmp/<label>-XXXXXX; the caller removes it.
inline std::filesystem::path make_temp_dir(const std::string& label) {
  std::string tmpl = "/tmp/" + label + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) fail(ErrorCategory::kStorage, "mkdtemp " + tmpl + " failed");
  return tmpl;
}

// A fresh folder /tmp/<label>-XXXXXX, removed with everything in it when the object goes.
struct TempDir {
  explicit TempDir(const std::string& label) : path(make_temp_dir(label)) {}
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

struct TempRepository {
  std::filesystem::path dir;              // the fresh folder; the caller removes it
  std::shared_ptr<LocalStorage> storage;  // on dir, or on dir / subdir
  std::unique_ptr<Repository> repo;       // index loaded
};

// A fresh folder /tmp/<label>-XXXXXX and a repository in it (or in its `subdir`). Encrypted ones
// take the passphrase "pw" and a fast key derivation (the default Argon2id costs ~0.1 s a test).
inline TempRepository make_temp_repository(const std::string& label, bool encrypted, const std::string& subdir = "") {
  TempRepository t;
  t.dir = make_temp_dir(label);
  t.storage = std::make_shared<LocalStorage>(subdir.empty() ? t.dir : t.dir / subdir);
  RepositoryParams p;
  p.encrypted = encrypted;
  if (encrypted) {
    p.passphrase = "pw";
    p.kdf = {1024, 1, 1};
  }
  t.repo = Repository::init(t.storage, p);
  t.repo->load_index();
  return t;
}

// Rows [from, to) of a COPY-like table, one line each ("<i>\tstudent <n>\tgrade <g>\n"); rows
// whose number is `skip_phase` modulo `skip_every` are left out (a day's deletes and moved rows).
inline Bytes table_rows(int from, int to, int skip_every = 0, int skip_phase = 0) {
  std::string s;
  for (int i = from; i < to; ++i) {
    if (skip_every && i % skip_every == skip_phase) continue;
    s += std::to_string(i) + "\tstudent " + std::to_string(i * 7919 % 100003) + "\tgrade " + std::to_string(i % 97) + "\n";
  }
  return Bytes(s.begin(), s.end());
}

}  // namespace coffer::test_support
