#pragma once
// Sample size for comparing two pass rates, as statsmodels computes it:
// NormalIndPower().solve_power(effect_size=proportion_effectsize(target,
// baseline), alpha, power, ratio, alternative) — the normal approximation on
// Cohen's h, the two-sided power counting both tails.
#include <cstdint>

namespace mlops::stats {

struct PowerRequest {
  double baseline = 0;  // control pass rate, 0 < baseline < 1
  double mde = 0;       // minimum detectable effect: absolute change in pass rate (0.03: 0.80 -> 0.83)
  double alpha = 0.05;
  double power = 0.8;
  double ratio = 1;  // size of B relative to A
  bool one_sided = false;
};

struct SampleSize {
  double target = 0;       // baseline + mde
  double effect_size = 0;  // Cohen's h of target against baseline
  double exact_a = 0;      // fractional solution for A, statsmodels' nobs1
  std::int64_t n_a = 0;    // ceil(exact_a)
  std::int64_t n_b = 0;    // ceil(ratio * exact_a)
  std::int64_t total = 0;
  double achieved_power = 0;  // power at n_a and n_b
};

// Throws UsageError naming the input at fault.
SampleSize sample_size_two_proportions(const PowerRequest& request);

// Power of the test for |effect_size| with n_a units in A and ratio * n_a in B.
double power_two_proportions(double effect_size, double n_a, double ratio, double alpha, bool one_sided);

}  // namespace mlops::stats
