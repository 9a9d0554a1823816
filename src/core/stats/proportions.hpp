#pragma once
// Pass rates: intervals and tests for one proportion and for the difference of
// two independent proportions. Each function names the statsmodels call it
// matches; tests/golden/make_stats_golden.py produces the reference values.
#include <cstdint>

#include "stats/types.hpp"

namespace mlops::stats {

struct Proportion {
  std::int64_t successes = 0;
  std::int64_t trials = 0;
  double rate() const { return static_cast<double>(successes) / static_cast<double>(trials); }
};

// Throws UsageError unless 0 <= successes <= trials and trials > 0; `what`
// names the group in the message ("variant A").
void check_proportion(const Proportion& p, const char* what);

// Wilson score interval; statsmodels proportion_confint(method="wilson").
Interval wilson_interval(const Proportion& p, double confidence = 0.95);

struct ZTest {
  double z = 0;
  double p_value = 1;
  double pooled_rate = 0;
};
// Pooled two-proportion z-test of B − A; statsmodels
// proportions_ztest([b, a], [n_b, n_a], alternative=...). Undefined (throws
// UndefinedError) when the pooled rate is 0 or 1: every unit failed, or every
// unit passed, in both variants.
ZTest two_proportion_ztest(const Proportion& a, const Proportion& b, Alternative alt = Alternative::two_sided);

// Newcombe's hybrid score interval (his method 10) for rate(B) − rate(A);
// statsmodels confint_proportions_2indep(b, n_b, a, n_a, method="newcomb").
Interval newcombe_interval(const Proportion& a, const Proportion& b, double confidence = 0.95);

// Cohen's h = 2 asin(sqrt(rate B)) − 2 asin(sqrt(rate A)); statsmodels
// proportion_effectsize(rate_b, rate_a).
double cohens_h(const Proportion& a, const Proportion& b);

// Relative lift rate(B)/rate(A) − 1. The interval is the delta method on the log
// of the ratio (Katz) with 0.5 added to each count and each total, statsmodels
// confint_proportions_2indep(compare="ratio", method="log-adjusted") minus 1, so
// it stays finite when B has no successes. Undefined when A has none.
Estimate relative_lift(const Proportion& a, const Proportion& b, double confidence = 0.95);

}  // namespace mlops::stats
