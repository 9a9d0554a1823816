#include "stats/continuous.hpp"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "stats/special.hpp"

namespace mlops::stats {

namespace {

double p_value_t(double t, double df, Alternative alt) {
  switch (alt) {
    case Alternative::greater:
      return student_t_sf(t, df);
    case Alternative::less:
      return student_t_cdf(t, df);
    case Alternative::two_sided:
      break;
  }
  return std::fmin(1.0, 2 * student_t_sf(std::fabs(t), df));
}

TTest t_test(double difference, double se, double df, Alternative alt, double confidence) {
  check_confidence(confidence);
  TTest r;
  r.t = difference / se;
  r.df = df;
  r.p_value = p_value_t(r.t, df, alt);
  double q = -student_t_quantile((1 - confidence) / 2, df);
  r.difference = {difference, {difference - q * se, difference + q * se}};
  return r;
}

void need_two(const Summary& s, const char* what) {
  if (s.n < 2)
    throw UndefinedError(
        fmt::format("{} has {} observation{}; a variance needs at least 2", what, s.n, s.n == 1 ? "" : "s"),
        "collect more observations before comparing means");
}

}  // namespace

double Summary::standard_error() const {
  return std::sqrt(variance / static_cast<double>(n));
}

Summary summarize(std::span<const double> values, const char* what) {
  Summary s;
  s.n = static_cast<std::int64_t>(values.size());
  double sum = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      throw UsageError(fmt::format("{}: value {} (position {}) is not a finite number", what, values[i], i + 1),
                       "drop or fix missing and infinite measurements before the analysis");
    sum += values[i];
  }
  if (s.n == 0) return s;
  s.mean = sum / static_cast<double>(s.n);
  // Second pass around the mean; the correction term removes the rounding of the mean.
  double ss = 0, c = 0;
  for (double v : values) {
    double d = v - s.mean;
    ss += d * d;
    c += d;
  }
  if (s.n > 1) s.variance = (ss - c * c / static_cast<double>(s.n)) / static_cast<double>(s.n - 1);
  return s;
}

TTest welch_ttest(const Summary& a, const Summary& b, Alternative alt, double confidence) {
  need_two(a, "variant A");
  need_two(b, "variant B");
  double va = a.variance / static_cast<double>(a.n), vb = b.variance / static_cast<double>(b.n);
  if (va + vb == 0)
    throw UndefinedError("Welch's t-test is undefined: the metric has zero variance in both variants",
                         "every value is identical within each variant; compare the values directly");
  double df = (va + vb) * (va + vb) / (va * va / static_cast<double>(a.n - 1) + vb * vb / static_cast<double>(b.n - 1));
  return t_test(b.mean - a.mean, std::sqrt(va + vb), df, alt, confidence);
}

TTest paired_ttest(std::span<const double> a, std::span<const double> b, Alternative alt, double confidence) {
  if (a.size() != b.size())
    throw UsageError(fmt::format("paired samples differ in length ({} and {})", a.size(), b.size()),
                     "give one value per unit in each variant, in the same order");
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = b[i] - a[i];
  auto s = summarize(d, "the paired differences");
  need_two(s, "the paired sample");
  if (s.variance == 0)
    throw UndefinedError("the paired t-test is undefined: every paired difference is the same",
                         "with constant differences there is no variability to test against");
  return t_test(s.mean, s.standard_error(), static_cast<double>(s.n - 1), alt, confidence);
}

double cohens_d(const Summary& a, const Summary& b) {
  if (a.n < 1 || b.n < 1 || a.n + b.n < 3)
    throw UndefinedError("Cohen's d needs at least one observation per variant and three in all");
  double pooled = ((static_cast<double>(a.n) - 1) * a.variance + (static_cast<double>(b.n) - 1) * b.variance) /
                  static_cast<double>(a.n + b.n - 2);
  if (pooled == 0)
    throw UndefinedError("Cohen's d is undefined: the metric has zero variance in both variants",
                         "report the difference of means instead");
  return (b.mean - a.mean) / std::sqrt(pooled);
}

Estimate relative_lift(const Summary& a, const Summary& b, double confidence) {
  check_confidence(confidence);
  need_two(a, "variant A");
  need_two(b, "variant B");
  if (!(a.mean > 0 && b.mean > 0))
    throw UndefinedError(fmt::format("relative lift needs positive means (variant A {}, variant B {})", a.mean, b.mean),
                         "use the difference of means for metrics that can be zero or negative");
  double z = -normal_quantile((1 - confidence) / 2);
  double ra = a.standard_error() / a.mean, rb = b.standard_error() / b.mean;
  double log_ratio = std::log(b.mean / a.mean), half = z * std::sqrt(ra * ra + rb * rb);
  return {b.mean / a.mean - 1, {std::expm1(log_ratio - half), std::expm1(log_ratio + half)}};
}

}  // namespace mlops::stats
