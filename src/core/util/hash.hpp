#pragma once
// SHA-256 in hex, incremental or one-shot.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace mlops::util {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Finishes the digest; the object may not be updated afterwards.
  std::string hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);
// Streams the file; throws RuntimeError naming the path when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);
bool is_sha256_hex(std::string_view s);

}  // namespace mlops::util
