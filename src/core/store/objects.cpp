#include "store/objects.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/time.hpp"

namespace mlops::store {

namespace {

constexpr const char* k_temp_dir = "tmp";
constexpr const char* k_quarantine_dir = "quarantine";

void write_all(int fd, const char* p, std::size_t n, const fs::path& where) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError("cannot write " + where.string() + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

ObjectStore::ObjectStore(fs::path dir, Db& db) : dir_(std::move(dir)), db_(db) {}

fs::path ObjectStore::path_of(const std::string& sha) const {
  if (!util::is_sha256_hex(sha))
    throw UsageError("'" + sha + "' is not an object id", "object ids are 64 lowercase hex characters (sha256)");
  return dir_ / sha.substr(0, 2) / sha.substr(2);
}

bool ObjectStore::contains(const std::string& sha) const {
  std::error_code ec;
  return fs::exists(path_of(sha), ec);
}

fs::path ObjectStore::write_temp(const std::function<void(int fd, const fs::path& tmp)>& fill) {
  fs::create_directories(dir_ / k_temp_dir);
  fs::path tmp = dir_ / k_temp_dir / util::random_hex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) throw RuntimeError("cannot create " + tmp.string() + ": " + std::strerror(errno));
  try {
    fill(fd, tmp);
    if (::fsync(fd) != 0) throw RuntimeError("cannot flush " + tmp.string() + ": " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  return tmp;
}

ObjectInfo ObjectStore::put(std::string_view content) {
  auto tmp = write_temp([&](int fd, const fs::path& path) { write_all(fd, content.data(), content.size(), path); });
  return commit_temp(tmp, util::sha256_hex(content), content.size());
}

ObjectInfo ObjectStore::put_file(const fs::path& source) {
  std::ifstream in(source, std::ios::binary);
  if (!in) throw NotFoundError("cannot read " + source.string() + ": " + std::strerror(errno));
  util::Sha256 hash;
  std::uint64_t size = 0;
  auto tmp = write_temp([&](int fd, const fs::path& path) {
    std::vector<char> buf(1 << 16);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      auto n = static_cast<std::size_t>(in.gcount());
      hash.update(buf.data(), n);
      write_all(fd, buf.data(), n, path);
      size += n;
    }
    if (in.bad()) throw RuntimeError("error while reading " + source.string());
  });
  return commit_temp(tmp, hash.hex(), size);
}

ObjectInfo ObjectStore::commit_temp(const fs::path& tmp, const std::string& sha, std::uint64_t size) {
  fs::path final_path = path_of(sha);
  std::error_code ec;
  if (fs::exists(final_path, ec)) {
    ::unlink(tmp.c_str());  // already stored: content addressing makes this a no-op
  } else {
    fs::create_directories(final_path.parent_path());
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
      std::string err = std::strerror(errno);
      ::unlink(tmp.c_str());
      throw RuntimeError("cannot store object " + sha + ": " + err);
    }
    util::fsync_dir(final_path.parent_path());
  }
  index(sha, size);
  return {sha, size};
}

void ObjectStore::index(const std::string& sha, std::uint64_t size) {
  db_.write([&] {
    db_.prepare("INSERT OR IGNORE INTO objects(sha256, size, created_ns) VALUES (?, ?, ?)")
        .bind_all(sha, static_cast<std::int64_t>(size), util::now_ns())
        .run();
  });
}

std::string ObjectStore::get(const std::string& sha) const {
  auto content = util::read_file_if_exists(path_of(sha));
  if (!content) throw NotFoundError("object " + sha + " is not in the store", "run 'mlopsctl doctor' to check it");
  return std::move(*content);
}

std::optional<std::string> ObjectStore::get_if_present(const std::string& sha) const {
  return util::read_file_if_exists(path_of(sha));
}

std::uint64_t ObjectStore::count() {
  return static_cast<std::uint64_t>(db_.query_int("SELECT count(*) FROM objects"));
}

std::vector<ObjectProblem> ObjectStore::verify() {
  std::vector<ObjectProblem> problems;
  std::set<std::string> on_disk;
  std::error_code ec;
  if (fs::exists(dir_ / k_temp_dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir_ / k_temp_dir, ec))
      problems.push_back({ObjectProblem::Kind::stray_temp, "", e.path(), "left over from an interrupted write"});
  }
  if (fs::exists(dir_, ec)) {
    for (const auto& fan : fs::directory_iterator(dir_, ec)) {
      auto name = fan.path().filename().string();
      if (!fan.is_directory() || name.size() != 2 || name == k_temp_dir) continue;
      for (const auto& obj : fs::directory_iterator(fan.path(), ec)) {
        std::string sha = name + obj.path().filename().string();
        if (!util::is_sha256_hex(sha)) continue;
        on_disk.insert(sha);
        std::string actual = util::sha256_file(obj.path());
        if (actual != sha)
          problems.push_back({ObjectProblem::Kind::corrupt, sha, obj.path(), "content hashes to " + actual});
      }
    }
  }
  std::set<std::string> indexed;
  auto st = db_.prepare("SELECT sha256 FROM objects");
  while (st.step()) indexed.insert(st.get_text(0));
  for (const auto& sha : indexed)
    if (!on_disk.count(sha))
      problems.push_back({ObjectProblem::Kind::missing_file, sha, path_of(sha), "indexed but the file is gone"});
  for (const auto& sha : on_disk)
    if (!indexed.count(sha))
      problems.push_back({ObjectProblem::Kind::unindexed, sha, path_of(sha), "stored but not in the index"});
  return problems;
}

std::vector<ObjectProblem> ObjectStore::repair() {
  std::vector<ObjectProblem> fixed;
  for (auto& p : verify()) {
    std::error_code ec;
    switch (p.kind) {
      case ObjectProblem::Kind::stray_temp:
        fs::remove(p.path, ec);
        if (!ec) fixed.push_back(p);
        break;
      case ObjectProblem::Kind::unindexed:
        index(p.sha256, fs::file_size(p.path, ec));
        fixed.push_back(p);
        break;
      case ObjectProblem::Kind::corrupt: {
        fs::create_directories(dir_ / k_quarantine_dir, ec);
        fs::rename(p.path, dir_ / k_quarantine_dir / p.sha256, ec);
        if (ec) break;
        db_.write([&] { db_.prepare("DELETE FROM objects WHERE sha256 = ?").bind_all(p.sha256).run(); });
        fixed.push_back(p);
        break;
      }
      case ObjectProblem::Kind::missing_file:
        break;  // nothing safe to do: the content is gone
    }
  }
  return fixed;
}

}  // namespace mlops::store
