#pragma once
// Helpers for end-to-end tests: temporary directories and running the built
// mlopsctl through /bin/sh with an isolated HOME.
#include <filesystem>
#include <string>

#include "util/process.hpp"

namespace mlops::e2e {

namespace fs = std::filesystem;

fs::path bin_dir();
fs::path mlopsctl();

// A fresh directory removed at destruction; holds home/ as $HOME.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs `command` with sh -c in `cwd`: PATH starts with the build's bin dir,
// HOME is `cwd`/../home-like isolation (`home`), and `env` lines (K=V, one per
// line) are exported first.
util::ProcessResult sh(const fs::path& cwd, const std::string& command, const fs::path& home,
                       const std::string& env = {}, const std::string& input = {});

std::string shell_quote(const std::string& s);

}  // namespace mlops::e2e
