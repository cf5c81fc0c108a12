#include "codec/crypto.h"

#include <argon2.h>
#include <sys/mman.h>
#include <blake3.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "coffer/error.h"

namespace coffer {

namespace {

// OpenSSL's update calls take int lengths; larger buffers go through in pieces.
constexpr size_t kMaxStep = static_cast<size_t>(INT_MAX) & ~static_cast<size_t>(15);

[[noreturn]] void openssl_failed(const char* what) {
  fail(ErrorCategory::kInternal, std::string("OpenSSL ") + what + " failed");
}

// Explicit fetches, done once: implicit fetching inside every EVP call costs a lookup and a lock
// per chunk. The objects live for the whole process.
const EVP_CIPHER* aes_256_gcm() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (!cipher) openssl_failed("fetching AES-256-GCM");
  return cipher;
}

const EVP_MD* sha256_md() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!md) openssl_failed("fetching SHA-256");
  return md;
}

EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) openssl_failed("fetching HMAC");
  return mac;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

CipherCtx new_cipher_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) openssl_failed("allocating a cipher context");
  return ctx;
}

// An AES-256-GCM context that keeps its key schedule between calls (one per thread and
// direction); re-keyed only when a different key comes.
class KeyedCipher {
 public:
  EVP_CIPHER_CTX* ready(const Key& key, bool encrypt) {
    if (!ctx_ || key_ != key) {
      ctx_ = new_cipher_ctx();
      int ok = encrypt ? EVP_EncryptInit_ex2(ctx_.get(), aes_256_gcm(), key.data(), nullptr, nullptr)
                       : EVP_DecryptInit_ex2(ctx_.get(), aes_256_gcm(), key.data(), nullptr, nullptr);
      if (ok != 1) openssl_failed("AES-256-GCM key setup");
      key_ = key;
    }
    return ctx_.get();
  }
  ~KeyedCipher() { OPENSSL_cleanse(key_.data(), key_.size()); }

 private:
  CipherCtx ctx_;
  Key key_{};
};

// Feeds AAD (out == nullptr) or data through EVP_{En,De}cryptUpdate in int-sized pieces.
template <typename Update>
void cipher_update(EVP_CIPHER_CTX* ctx, Update update, uint8_t* out, ByteView in) {
  for (size_t done = 0; done < in.size();) {
    size_t step = std::min(in.size() - done, kMaxStep);
    int outl = 0;
    if (update(ctx, out ? out + done : nullptr, &outl, in.data() + done, static_cast<int>(step)) != 1) {
      openssl_failed("AES-256-GCM update");
    }
    done += step;
  }
}

}  // namespace

void random_bytes(uint8_t* out, size_t n) {
  for (size_t done = 0; done < n;) {
    size_t step = std::min(n - done, kMaxStep);
    if (RAND_bytes(out + done, static_cast<int>(step)) != 1) {
      fail(ErrorCategory::kInternal, "the system random number generator failed (RAND_bytes)");
    }
    done += step;
  }
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  random_bytes(out.data(), n);
  return out;
}

Key random_key() {
  Key k;
  random_bytes(k.data(), k.size());
  return k;
}

Bytes seal(const Key& key, ByteView plaintext, ByteView aad) {
  Bytes out(kNonceSize + plaintext.size() + kTagSize);
  seal_to(key, plaintext, aad, out.data());
  return out;
}

void seal_to(const Key& key, ByteView plaintext, ByteView aad, uint8_t* out) {
  uint8_t* nonce = out;
  uint8_t* body = nonce + kNonceSize;
  uint8_t* tag = body + plaintext.size();
  random_bytes(nonce, kNonceSize);

  // A context per thread, keyed once: per chunk only the nonce is set (GCM's default IV length
  // is 12 bytes, matching kNonceSize).
  thread_local KeyedCipher enc;
  EVP_CIPHER_CTX* ctx = enc.ready(key, true);
  if (EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce, nullptr) != 1) openssl_failed("AES-256-GCM encrypt init");
  cipher_update(ctx, EVP_EncryptUpdate, nullptr, aad);
  cipher_update(ctx, EVP_EncryptUpdate, body, plaintext);
  int outl = 0;
  if (EVP_EncryptFinal_ex(ctx, tag, &outl) != 1) openssl_failed("AES-256-GCM encrypt final");
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag) != 1) {
    openssl_failed("AES-256-GCM get tag");
  }
}

Bytes open(const Key& key, ByteView sealed, ByteView aad) {
  if (sealed.size() < kSealOverhead) {
    fail(ErrorCategory::kDamaged, "authentication failed: encrypted object is " +
                                      std::to_string(sealed.size()) + " bytes, shorter than its " +
                                      std::to_string(kSealOverhead) + "-byte nonce and tag (damaged data)");
  }
  ByteView nonce = sealed.first(kNonceSize);
  ByteView body = sealed.subspan(kNonceSize, sealed.size() - kSealOverhead);
  ByteView tag = sealed.last(kTagSize);

  thread_local KeyedCipher dec;
  EVP_CIPHER_CTX* ctx = dec.ready(key, false);
  if (EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) != 1) {
    openssl_failed("AES-256-GCM decrypt init");
  }
  Bytes out(body.size());
  cipher_update(ctx, EVP_DecryptUpdate, nullptr, aad);
  cipher_update(ctx, EVP_DecryptUpdate, out.data(), body);
  // The ctrl takes a non-const pointer but only reads the tag.
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          const_cast<uint8_t*>(tag.data())) != 1) {
    openssl_failed("AES-256-GCM set tag");
  }
  int outl = 0;
  if (EVP_DecryptFinal_ex(ctx, out.data() + out.size(), &outl) != 1) {
    // Do not leave unauthenticated plaintext lying around in freed memory.
    OPENSSL_cleanse(out.data(), out.size());
    fail(ErrorCategory::kDamaged,
         "authentication failed: wrong key or damaged data (the encrypted object does not verify)");
  }
  return out;
}

Digest keyed_blake3(const Key& key, ByteView data) { return keyed_blake3(key, {data}); }

Digest keyed_blake3(const Key& key, std::initializer_list<ByteView> parts) {
  static_assert(sizeof(Key) == BLAKE3_KEY_LEN && sizeof(Digest) == BLAKE3_OUT_LEN);
  blake3_hasher hasher;
  blake3_hasher_init_keyed(&hasher, key.data());
  for (ByteView part : parts) blake3_hasher_update(&hasher, part.data(), part.size());
  Digest out;
  blake3_hasher_finalize(&hasher, out.data(), out.size());
  return out;
}

Key blake3_derive_key(std::string_view context, ByteView material) {
  const std::string ctx(context);  // the C API takes a NUL-terminated context string
  blake3_hasher hasher;
  blake3_hasher_init_derive_key(&hasher, ctx.c_str());
  blake3_hasher_update(&hasher, material.data(), material.size());
  Key out;
  blake3_hasher_finalize(&hasher, out.data(), out.size());
  return out;
}

Digest hmac_sha256(const Key& key, ByteView data) {
  // A context per thread, keyed once; per call it restarts with the same key (EVP_MAC_init with
  // a null key), which skips the digest lookup and key setup that cost more than hashing 4 KiB.
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx;
  thread_local Key ctx_key{};
  if (!ctx || ctx_key != key) {
    ctx.reset(EVP_MAC_CTX_new(hmac_mac()));
    if (!ctx) openssl_failed("allocating an HMAC context");
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) openssl_failed("HMAC init");
    ctx_key = key;
  } else if (EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) != 1) {
    openssl_failed("HMAC re-init");
  }
  if (EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) openssl_failed("HMAC update");
  Digest out;
  size_t outl = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &outl, out.size()) != 1 || outl != out.size()) {
    openssl_failed("HMAC final");
  }
  return out;
}

Digest sha256(ByteView data) {
  Digest out;
  unsigned int outl = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &outl, sha256_md(), nullptr) != 1 ||
      outl != out.size()) {
    openssl_failed("SHA-256");
  }
  return out;
}

bool equal_ct(ByteView a, ByteView b) {
  // Lengths are public (fixed-size MACs and ids); only the contents are compared in constant time.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Key derive_key(const std::string& passphrase, ByteView salt, const KdfParams& params) {
  if (passphrase.size() > UINT32_MAX || salt.size() > UINT32_MAX) {
    fail(ErrorCategory::kInput, "passphrase or salt too long for Argon2id");
  }
  Key key;
  // argon2id_hash_raw() with the memory in transparent huge pages: every command that opens an
  // encrypted repository fills 64 MiB once, and 4 KiB pages cost 16,384 page faults (10 ms of
  // the 0.09 s here). The library wipes the memory before handing it back.
  argon2_context ctx{};
  ctx.out = key.data();
  ctx.outlen = static_cast<uint32_t>(key.size());
  ctx.pwd = reinterpret_cast<uint8_t*>(const_cast<char*>(passphrase.data()));
  ctx.pwdlen = static_cast<uint32_t>(passphrase.size());
  ctx.salt = const_cast<uint8_t*>(salt.data());
  ctx.saltlen = static_cast<uint32_t>(salt.size());
  ctx.t_cost = params.iterations;
  ctx.m_cost = params.memory_kib;
  ctx.lanes = params.parallelism;
  ctx.threads = params.parallelism;
  ctx.version = ARGON2_VERSION_13;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  ctx.allocate_cbk = [](uint8_t** memory, size_t bytes) -> int {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return ARGON2_MEMORY_ALLOCATION_ERROR;
    (void)::madvise(p, bytes, MADV_HUGEPAGE);  // advice only
    *memory = static_cast<uint8_t*>(p);
    return ARGON2_OK;
  };
  ctx.free_cbk = [](uint8_t* memory, size_t bytes) { ::munmap(memory, bytes); };
  int rc = argon2id_ctx(&ctx);
  if (rc == ARGON2_MEMORY_ALLOCATION_ERROR) {
    fail(ErrorCategory::kInternal, "Argon2id could not allocate " + std::to_string(params.memory_kib) +
                                       " KiB; free memory or lower the KDF memory setting");
  }
  if (rc != ARGON2_OK) {
    fail(ErrorCategory::kConfig,
         std::string("Argon2id rejected its parameters (memory ") + std::to_string(params.memory_kib) +
             " KiB, iterations " + std::to_string(params.iterations) + ", parallelism " +
             std::to_string(params.parallelism) + ", salt " + std::to_string(salt.size()) +
             " bytes): " + argon2_error_message(rc));
  }
  return key;
}

}  // namespace coffer
