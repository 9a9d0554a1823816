#include "pii/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>

#include "util/error.hpp"

namespace mlops::pii {
namespace {

constexpr std::size_t k_binary_probe = 8000;  // as git: a NUL in the first 8000 bytes means binary

bool class_match(std::string_view p, char c, std::size_t& consumed) {
  // p starts at '['; consumed is set to the class length including ']'.
  std::size_t i = 1;
  bool negate = i < p.size() && (p[i] == '!' || p[i] == '^');
  if (negate) ++i;
  bool hit = false;
  std::size_t first = i;
  while (i < p.size() && (p[i] != ']' || i == first)) {
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      hit = hit || (c >= p[i] && c <= p[i + 2]);
      i += 3;
    } else {
      hit = hit || c == p[i];
      ++i;
    }
  }
  if (i >= p.size()) {  // no closing bracket: a literal '['
    consumed = 1;
    return c == '[';
  }
  consumed = i + 1;
  return hit != negate;
}

struct IgnoreRule {
  std::string pattern;
  bool negate = false;
  bool dir_only = false;
  bool anchored = false;
};

struct IgnoreSet {
  std::string base;  // directory of the .gitignore, relative to the walk root ("" for the root)
  std::vector<IgnoreRule> rules;
};

std::vector<IgnoreRule> parse_gitignore(const std::string& text) {
  std::vector<IgnoreRule> rules;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || (line.back() == ' ' && !line.ends_with("\\ ")))) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    IgnoreRule r;
    if (line[0] == '!') {
      r.negate = true;
      line.erase(0, 1);
    } else if (line.starts_with("\\!") || line.starts_with("\\#")) {
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      r.dir_only = true;
      line.pop_back();
    }
    if (!line.empty() && line[0] == '/') {
      r.anchored = true;
      line.erase(0, 1);
    } else if (line.find('/') != std::string::npos) {
      r.anchored = true;
    }
    if (line.empty()) continue;
    r.pattern = line;
    rules.push_back(std::move(r));
  }
  return rules;
}

class Walker {
 public:
  Walker(const WalkOptions& options, Walk& out) : options_(options), out_(out) {}

  void tree(const fs::path& root) {
    root_ = root;
    std::vector<IgnoreSet> sets;
    dir(root, "", sets);
  }

 private:
  bool ignored(const std::string& rel, const std::string& name, bool is_dir, const std::vector<IgnoreSet>& sets) {
    for (const auto& ex : options_.exclude)
      if (glob_match(ex, rel) || glob_match(ex, name)) return true;
    bool ignore = false;
    for (const auto& set : sets) {
      std::string_view sub = rel;
      if (!set.base.empty()) sub.remove_prefix(set.base.size() + 1);
      for (const auto& r : set.rules) {
        if (r.dir_only && !is_dir) continue;
        bool hit = r.anchored ? glob_match(r.pattern, sub) : glob_match(r.pattern, name);
        if (hit) ignore = !r.negate;
      }
    }
    return ignore;
  }

  void dir(const fs::path& path, const std::string& rel, std::vector<IgnoreSet>& sets) {
    std::error_code ec;
    fs::directory_iterator it(path, ec);
    if (ec) {
      out_.warnings.push_back(path.string() + ": cannot read directory: " + ec.message());
      return;
    }
    bool pushed = false;
    if (options_.gitignore) {
      std::ifstream gi(path / ".gitignore", std::ios::binary);
      if (gi) {
        std::string text((std::istreambuf_iterator<char>(gi)), std::istreambuf_iterator<char>());
        sets.push_back({rel, parse_gitignore(text)});
        pushed = true;
      }
    }
    std::vector<fs::directory_entry> entries;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        out_.warnings.push_back(path.string() + ": " + ec.message());
        break;
      }
      entries.push_back(*it);
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
    for (const auto& e : entries) {
      const std::string name = e.path().filename().string();
      if (name == ".git" || name == ".mlops") continue;  // git's and mlopsctl's own state
      const std::string child = rel.empty() ? name : rel + "/" + name;
      auto lst = e.symlink_status(ec);
      if (ec) {
        out_.warnings.push_back(e.path().string() + ": " + ec.message());
        continue;
      }
      if (fs::is_symlink(lst)) {
        auto st = fs::status(e.path(), ec);
        if (ec) {
          out_.warnings.push_back(e.path().string() + ": skipped: " + ec.message());
          continue;
        }
        if (!fs::is_regular_file(st)) continue;  // symlinked directories are not followed (no loops)
        if (!ignored(child, name, false, sets)) out_.files.push_back(e.path().string());
        continue;
      }
      if (fs::is_directory(lst)) {
        if (!ignored(child, name, true, sets)) dir(e.path(), child, sets);
      } else if (fs::is_regular_file(lst)) {
        if (!ignored(child, name, false, sets)) out_.files.push_back(e.path().string());
      }
    }
    if (pushed) sets.pop_back();
  }

  const WalkOptions& options_;
  Walk& out_;
  fs::path root_;
};

}  // namespace

bool glob_match(std::string_view p, std::string_view s) {
  while (!p.empty()) {
    if (p.starts_with("**")) {
      std::string_view rest = p.substr(2);
      if (rest.starts_with("/")) {
        rest.remove_prefix(1);
        if (glob_match(rest, s)) return true;
        for (std::size_t k = 0; k < s.size(); ++k)
          if (s[k] == '/' && glob_match(rest, s.substr(k + 1))) return true;
        return false;
      }
      for (std::size_t k = 0; k <= s.size(); ++k)
        if (glob_match(rest, s.substr(k))) return true;
      return false;
    }
    if (p[0] == '*') {
      std::string_view rest = p.substr(1);
      for (std::size_t k = 0; k <= s.size(); ++k) {
        if (glob_match(rest, s.substr(k))) return true;
        if (k < s.size() && s[k] == '/') break;
      }
      return false;
    }
    if (s.empty()) return false;
    if (p[0] == '?') {
      if (s[0] == '/') return false;
      p.remove_prefix(1);
    } else if (p[0] == '[') {
      std::size_t used = 0;
      if (s[0] == '/' || !class_match(p, s[0], used)) return false;
      p.remove_prefix(used);
    } else {
      if (p[0] == '\\' && p.size() > 1) p.remove_prefix(1);
      if (p[0] != s[0]) return false;
      p.remove_prefix(1);
    }
    s.remove_prefix(1);
  }
  return s.empty();
}

Walk collect_files(const std::vector<std::string>& paths, const WalkOptions& options) {
  Walk out;
  Walker walker(options, out);
  for (const auto& p : paths) {
    if (p == "-") {
      out.files.push_back(p);
      continue;
    }
    std::error_code ec;
    auto lst = fs::symlink_status(p, ec);
    if (ec || !fs::exists(lst))
      throw NotFoundError("no such file or directory: " + p, "check the path; use - for standard input");
    auto st = fs::status(p, ec);
    if (ec) {
      out.warnings.push_back(p + ": skipped: " + ec.message());
      continue;
    }
    if (fs::is_directory(st))
      walker.tree(p);
    else
      out.files.push_back(p);
  }
  return out;
}

FileStatus scan_path(const Scanner& scanner, const std::string& path, bool binary, const Scanner::Sink& sink) {
  FileStatus r;
  r.path = path;
  int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.error = std::strerror(errno);
    return r;
  }
  bool first = true;
  auto read_some = [&](char* buf, std::size_t cap) -> std::size_t {
    std::size_t got = 0;
    // The first call reads at least the probe (or to the end) to decide text or binary.
    while (got < cap) {
      ssize_t k = ::read(fd, buf + got, cap - got);
      if (k < 0) {
        if (errno == EINTR) continue;
        throw RuntimeError(std::string("read failed: ") + std::strerror(errno));
      }
      if (k == 0) break;
      got += static_cast<std::size_t>(k);
      if (!first || got >= k_binary_probe) break;
    }
    if (first) {
      first = false;
      if (!binary && std::memchr(buf, '\0', std::min(got, k_binary_probe))) {
        r.binary = true;
        return 0;
      }
    }
    r.bytes += got;
    return got;
  };
  try {
    scanner.scan(read_some, sink);
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  if (fd != STDIN_FILENO) ::close(fd);
  return r;
}

FileResult scan_path(const Scanner& scanner, const std::string& path, bool binary) {
  FileResult r;
  static_cast<FileStatus&>(r) =
      scan_path(scanner, path, binary, [&](Finding&& f) { r.findings.push_back(std::move(f)); });
  return r;
}

void scan_paths(const Scanner& scanner, const std::vector<std::string>& paths, bool binary, unsigned threads,
                const FileFindingSink& sink, const FileDone& done) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < paths.size();)
        done(i, scan_path(scanner, paths[i], binary, [&](Finding&& f) { sink(i, std::move(f)); }));
    } catch (...) {  // from a callback: stop everyone, rethrow on the calling thread
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = paths.size();
    }
  };
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(paths.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace mlops::pii
