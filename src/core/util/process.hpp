#pragma once
// Runs a child process without a shell, feeding stdin and capturing stdout/stderr.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mlops::util {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// argv[0] is the executable path (no PATH search). Throws RuntimeError when it cannot start.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {},
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// Directory holding the running executable (/proc/self/exe).
std::filesystem::path self_dir();

}  // namespace mlops::util
