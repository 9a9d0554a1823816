#include "e2e/harness.hpp"

#include <cstdlib>

#include "util/fs.hpp"

namespace mlops::e2e {

fs::path bin_dir() {
  return MLOPS_BIN_DIR;
}
fs::path mlopsctl() {
  return bin_dir() / "mlopsctl";
}

TempDir::TempDir() {
  path_ = fs::temp_directory_path() / ("mlops-e2e-" + util::random_hex(6));
  fs::create_directories(path_ / "home");
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("MLOPS_KEEP_TEST_DIRS")) fs::remove_all(path_, ec);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

util::ProcessResult sh(const fs::path& cwd, const std::string& command, const fs::path& home, const std::string& env,
                       const std::string& input) {
  std::string script = "unset MLOPS_DIR MLOPS_OUTPUT NO_COLOR XDG_CONFIG_HOME TRACEPARENT MLOPS_TORCH_HELPER "
      "OPENAI_API_KEY OPENAI_BASE_URL ANTHROPIC_API_KEY ANTHROPIC_BASE_URL OLLAMA_HOST MLOPS_LIBCURL; ";
  script += "export HOME=" + shell_quote(home.string()) +
            " MLOPS_USER=tester MLOPS_SRC=" + shell_quote(MLOPS_SOURCE_DIR) +
            " PATH=" + shell_quote(bin_dir().string()) + ":\"$PATH\"; ";
  std::size_t start = 0;
  while (start < env.size()) {
    auto end = env.find('\n', start);
    std::string line = env.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty()) script += "export " + line + "; ";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  script += "cd " + shell_quote(cwd.string()) + " || exit 99\n" + command;
  return util::run_process({"/bin/sh", "-c", script}, input, std::chrono::minutes(5));
}

}  // namespace mlops::e2e
