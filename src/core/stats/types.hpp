#pragma once
// Vocabulary shared by every statistics function. Two-sample functions take the
// control (A) first and the treatment (B) second; a difference is always B − A,
// and Alternative::greater means "B is larger than A".
#include <cstdint>
#include <string>

#include "util/error.hpp"

namespace mlops::stats {

enum class Alternative { two_sided, greater, less };

std::string alternative_name(Alternative alt);

struct Interval {
  double low = 0;
  double high = 0;
  bool contains(double x) const { return low <= x && x <= high; }
};

// A point estimate with a confidence interval.
struct Estimate {
  double value = 0;
  Interval ci;
};

// The data make the test or estimate mathematically undefined (a zero variance,
// an empty group, a zero baseline). Maps to exit code 2 like any bad input; the
// hint says what data would make it defined.
struct UndefinedError : Error {
  explicit UndefinedError(std::string m, std::string h = {}) : Error(ExitCode::usage, std::move(m), std::move(h)) {}
};

// Throws UsageError unless 0 < confidence < 1.
void check_confidence(double confidence);
// Throws UsageError unless 0 < alpha < 1.
void check_alpha(double alpha);

}  // namespace mlops::stats
