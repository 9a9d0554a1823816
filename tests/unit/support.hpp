#pragma once
// Shared helpers for unit tests: a scratch directory and forked worker processes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::testing {

// A fresh directory under the system temp dir, removed at destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    std::string name = "mlops-";
    name.append(tag).append("-").append(util::random_hex(4));
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// The message of the mlopsctl error `fn` throws, followed by " | " and its hint
// when `with_hint`; fails the test when nothing is thrown.
template <class Fn>
std::string error_of(Fn fn, bool with_hint = false) {
  try {
    fn();
  } catch (const Error& e) {
    return with_hint ? std::string(e.what()) + " | " + e.hint() : std::string(e.what());
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

// Runs work(i) in `n` forked processes at once and expects each to finish
// without throwing. Processes, not threads: that is what the store must survive.
inline void run_in_processes(int n, const std::function<void(int)>& work) {
  std::vector<pid_t> kids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      try {
        work(i);
      } catch (...) {
        code = 1;
      }
      _exit(code);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int st = 0;
    waitpid(k, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "worker " << k << " failed";
  }
}

}  // namespace mlops::testing
