#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace mlops::util {

namespace {
std::string errno_text() {
  return std::strerror(errno);
}
}  // namespace

std::optional<std::string> read_file_if_exists(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw RuntimeError("cannot read " + path.string() + ": " + errno_text());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw RuntimeError("error while reading " + path.string());
  return std::move(ss).str();
}

std::string read_file(const fs::path& path) {
  auto content = read_file_if_exists(path);
  if (!content) throw NotFoundError("file not found: " + path.string());
  return std::move(*content);
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems refuse O_DIRECTORY opens
  ::fsync(fd);
  ::close(fd);
}

void atomic_write(const fs::path& path, std::string_view content, unsigned mode) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmp_name = ".";
  tmp_name.append(path.filename().string()).append(".tmp-").append(random_hex(6));
  fs::path tmp = dir / tmp_name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw RuntimeError("cannot create " + tmp.string() + ": " + errno_text());
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw RuntimeError("cannot write " + tmp.string() + ": " + err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = errno_text();
    ::unlink(tmp.c_str());
    throw RuntimeError("cannot flush " + tmp.string() + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = errno_text();
    ::unlink(tmp.c_str());
    throw RuntimeError("cannot replace " + path.string() + ": " + err);
  }
  fsync_dir(dir);
}

std::uintmax_t tree_size(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  std::uintmax_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError("getrandom failed: " + errno_text());
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes * 2, '0');
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned char>(raw[i]);
    out[2 * i] = digits[b >> 4];
    out[2 * i + 1] = digits[b & 0xf];
  }
  return out;
}

}  // namespace mlops::util
