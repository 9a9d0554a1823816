#pragma once
// Paired designs (paired: true): both variants score the same units, so the
// tests use the within-unit differences. McNemar's test for pass/fail, and the
// paired bootstrap for an interval on the difference and the relative lift.
#include <cstdint>
#include <optional>
#include <span>

#include "stats/types.hpp"

namespace mlops::stats {

// Pass/fail outcomes of the same units under A and B.
struct PairedTable {
  std::int64_t both = 0;     // passed under A and B
  std::int64_t a_only = 0;   // passed under A, failed under B
  std::int64_t b_only = 0;   // failed under A, passed under B
  std::int64_t neither = 0;  // failed under both
  std::int64_t n() const { return both + a_only + b_only + neither; }
  double rate_a() const;
  double rate_b() const;
};

// Counts the table from per-unit outcomes (non-zero = pass); equal lengths.
PairedTable tabulate(std::span<const std::uint8_t> a_pass, std::span<const std::uint8_t> b_pass);

enum class McNemarMethod { automatic, exact, chi_square };

// Below this many discordant pairs, automatic uses the exact binomial test.
constexpr std::int64_t k_mcnemar_exact_below = 25;

struct McNemar {
  double statistic = 0;  // min(a_only, b_only) when exact, else the chi-square statistic
  double p_value = 1;
  bool exact = false;
};

// statsmodels mcnemar(table, exact=..., correction=True): exact is the two-sided
// binomial test on the discordant pairs, min(1, 2 P(X <= min)) with X ~
// Binomial(a_only + b_only, 1/2); chi_square is (|a_only − b_only| − 1)² /
// (a_only + b_only) on 1 df. automatic is exact when a_only + b_only < 25. With
// no discordant pairs the exact p-value is 1 and the chi-square test is
// undefined (throws UndefinedError).
McNemar mcnemar(const PairedTable& t, McNemarMethod method = McNemarMethod::automatic);

struct BootstrapOptions {
  int resamples = 2000;
  double confidence = 0.95;
  std::uint64_t seed = 1;
  // Resample the counts of distinct (a, b) pairs by multinomial sampling when
  // there are few of them (exact in distribution, cost independent of n).
  bool group_equal_pairs = true;
};

struct Bootstrap {
  Estimate difference;           // mean(B) − mean(A); percentile interval
  std::optional<Estimate> lift;  // mean(B)/mean(A) − 1, when mean(A) > 0
  int resamples = 0;
  bool grouped = false;  // the multinomial shortcut was used
};

// Paired bootstrap of pass rates: resamples the four cells of the table as one
// multinomial draw of n units (the same distribution as resampling units).
// Percentile intervals with numpy's linear interpolation. Deterministic for a seed.
Bootstrap paired_bootstrap(const PairedTable& t, const BootstrapOptions& options = {});

// Paired bootstrap of a continuous metric: resamples units (pairs a[i], b[i]).
Bootstrap paired_bootstrap(std::span<const double> a, std::span<const double> b, const BootstrapOptions& options = {});

}  // namespace mlops::stats
