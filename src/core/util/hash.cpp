#include "util/hash.hpp"

// OpenSSL's SHA-256 block functions, not EVP: EVP_DigestInit_ex in OpenSSL 3
// fetches the algorithm from a provider, and the first fetch in a process loads
// the default provider and its name map, about 1 ms of CPU in every command that
// hashes anything (a prompt commit, every audit entry). The block functions are
// the same assembly (SHA-NI where the CPU has it), with no set-up. OpenSSL 3 marks
// them deprecated in favour of EVP; they remain part of its API.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "util/error.hpp"

namespace mlops::util {

struct Sha256::Impl {
  SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  if (SHA256_Init(&impl_->ctx) != 1) throw RuntimeError("cannot initialise SHA-256 (OpenSSL)");
}
Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
  SHA256_Update(&impl_->ctx, data, size);
}

std::string Sha256::hex() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &impl_->ctx);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(SHA256_DIGEST_LENGTH * 2, '0');
  for (unsigned int i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeError("cannot read " + path.string() + ": " + std::strerror(errno));
  Sha256 h;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw RuntimeError("error while reading " + path.string());
  return h.hex();
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace mlops::util
