#pragma once
// Continuous metrics (latency, cost, scores): summaries, Welch's and the paired
// t-test, Cohen's d and relative lift. Two-sample functions take A then B.
#include <cstdint>
#include <span>

#include "stats/types.hpp"

namespace mlops::stats {

// Count, mean and sample variance (n − 1 denominator), by two passes.
struct Summary {
  std::int64_t n = 0;
  double mean = 0;
  double variance = 0;
  double standard_error() const;
};
// Throws UsageError naming the position of the first NaN or infinite value.
Summary summarize(std::span<const double> values, const char* what = "the sample");

struct TTest {
  double t = 0;
  double df = 0;
  double p_value = 1;
  Estimate difference;  // mean B − mean A, with its two-sided interval
};

// Welch's t-test of mean B − mean A with Welch–Satterthwaite df; scipy
// ttest_ind(b, a, equal_var=False) and its confidence_interval(). Needs two
// observations per variant; undefined when both variances are zero.
TTest welch_ttest(const Summary& a, const Summary& b, Alternative alt = Alternative::two_sided,
                  double confidence = 0.95);

// Paired t-test of the mean of b[i] − a[i]; scipy ttest_rel(b, a). Undefined
// when every difference is the same.
TTest paired_ttest(std::span<const double> a, std::span<const double> b, Alternative alt = Alternative::two_sided,
                   double confidence = 0.95);

// Cohen's d: (mean B − mean A) / pooled SD, the pooled variance weighting each
// sample variance by n − 1. Undefined when the pooled SD is zero.
double cohens_d(const Summary& a, const Summary& b);

// Relative lift mean(B)/mean(A) − 1 with the delta-method interval on the log of
// the ratio: exp(log r ± z sqrt(se_b²/m_b² + se_a²/m_a²)) − 1. Needs positive
// means (a cost, a latency, a score on a positive scale).
Estimate relative_lift(const Summary& a, const Summary& b, double confidence = 0.95);

}  // namespace mlops::stats
