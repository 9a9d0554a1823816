#pragma once
// One error hierarchy for the whole product. Every error carries the process exit
// code it maps to (PRODUCT.md: 1 check failed, 2 usage/config, 3 runtime/backend)
// and an optional hint that tells the user how to fix it.
#include <stdexcept>
#include <string>

namespace mlops {

enum class ExitCode : int { ok = 0, check_failed = 1, usage = 2, runtime = 3 };

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), code_(code), hint_(std::move(hint)) {}
  ExitCode code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  ExitCode code_;
  std::string hint_;
};

// Bad arguments, an unknown name, a missing required input.
struct UsageError : Error {
  explicit UsageError(std::string m, std::string h = {}) : Error(ExitCode::usage, std::move(m), std::move(h)) {}
};
// Malformed or invalid configuration (mlops.yaml, a suite, an environment variable).
struct ConfigError : Error {
  explicit ConfigError(std::string m, std::string h = {}) : Error(ExitCode::usage, std::move(m), std::move(h)) {}
};
// A named thing (prompt, run, workspace, key) does not exist.
struct NotFoundError : Error {
  explicit NotFoundError(std::string m, std::string h = {}) : Error(ExitCode::usage, std::move(m), std::move(h)) {}
};
// A check the user asked for did not pass (threshold, verification, budget).
struct CheckFailed : Error {
  explicit CheckFailed(std::string m, std::string h = {}) : Error(ExitCode::check_failed, std::move(m), std::move(h)) {}
};
// I/O, database, repository or backend failure.
struct RuntimeError : Error {
  explicit RuntimeError(std::string m, std::string h = {}) : Error(ExitCode::runtime, std::move(m), std::move(h)) {}
};

}  // namespace mlops
