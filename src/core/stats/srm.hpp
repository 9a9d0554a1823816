#pragma once
// Sample ratio mismatch: did the split deliver the traffic it was configured
// for? A mismatch means assignment or logging is broken, and no comparison of
// the variants can be trusted until it is explained.
#include <cstdint>
#include <span>
#include <vector>

namespace mlops::stats {

struct ChiSquareTest {
  double statistic = 0;
  double df = 0;
  double p_value = 1;
};

// Pearson's chi-square goodness of fit, df = k − 1; scipy chisquare(observed,
// expected). Expected counts must be positive and sum to the observed total.
ChiSquareTest chi_square_goodness_of_fit(std::span<const double> observed, std::span<const double> expected);

// The usual SRM alarm level: strict, because a real mismatch is a bug, not an effect.
constexpr double k_srm_threshold = 0.001;

struct SrmCheck {
  ChiSquareTest test;
  std::vector<double> expected;  // counts the weights call for
  bool mismatch = false;         // p-value below the threshold
};

// Units counted per variant against the configured split weights (any positive
// scale: 50/50, 0.5/0.5, 1/1). Throws UsageError for fewer than two variants,
// non-positive weights or no units.
SrmCheck sample_ratio_mismatch(std::span<const std::int64_t> counts, std::span<const double> weights,
                               double threshold = k_srm_threshold);

}  // namespace mlops::stats
