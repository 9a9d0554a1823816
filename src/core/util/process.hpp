#pragma once
// Runs a child process without a shell, feeding stdin and capturing stdout/stderr.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

namespace mlops::util {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  int signal = 0;  // the signal that ended the child, 0 when it exited
  std::string out;
  std::string err;
};

// argv[0] is the executable path (no PATH search). Throws RuntimeError when it cannot start.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = {},
                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// Like run_process, but hands each line of stdout (without its newline) to
// `on_line` as it arrives, for children that stream progress; `out` of the
// result is left empty. An exception from on_line propagates after the child
// is killed and reaped.
using LineHandler = std::function<void(std::string_view line)>;
ProcessResult run_process_lines(const std::vector<std::string>& argv, const std::string& input,
                                const LineHandler& on_line);

// Directory holding the running executable (/proc/self/exe).
std::filesystem::path self_dir();

}  // namespace mlops::util
