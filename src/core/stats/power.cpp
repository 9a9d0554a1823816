#include "stats/power.hpp"

#include <fmt/format.h>

#include <cmath>

#include "stats/special.hpp"
#include "stats/types.hpp"

namespace mlops::stats {

namespace {

double effective_n(double n_a, double ratio) {
  return n_a * ratio / (1 + ratio);
}

// Power as a function of s = |h| sqrt(effective n).
double power_at(double s, double alpha, bool one_sided) {
  if (one_sided) return normal_sf(-normal_quantile(alpha) - s);
  double c = -normal_quantile(alpha / 2);
  return normal_sf(c - s) + normal_cdf(-c - s);
}

void check_request(const PowerRequest& r) {
  if (!(r.baseline > 0 && r.baseline < 1))
    throw UsageError(fmt::format("baseline pass rate {} is not between 0 and 1", r.baseline),
                     "give the control's current pass rate as a fraction, e.g. 0.80");
  if (!std::isfinite(r.mde) || r.mde == 0)
    throw UsageError(fmt::format("minimum detectable effect {} must be a non-zero change", r.mde),
                     "give the absolute change in pass rate to detect, e.g. 0.03 for 0.80 -> 0.83");
  double target = r.baseline + r.mde;
  if (!(target > 0 && target < 1))
    throw UsageError(
        fmt::format("baseline {} + mde {} = {} is not a pass rate between 0 and 1", r.baseline, r.mde, target),
        "the minimum detectable effect is an absolute change: 0.03 takes 0.80 to 0.83");
  check_alpha(r.alpha);
  if (!(r.power > 0 && r.power < 1))
    throw UsageError(fmt::format("power {} is not between 0 and 1", r.power), "give a fraction such as 0.8");
  if (r.power <= r.alpha)
    throw UsageError(fmt::format("power {} is not above alpha {}: any sample size achieves it", r.power, r.alpha),
                     "ask for power above the significance level, usually 0.8 or 0.9");
  if (!(r.ratio > 0 && std::isfinite(r.ratio)))
    throw UsageError(fmt::format("ratio {} must be positive", r.ratio),
                     "give the size of variant B relative to A, e.g. 1 for an even split");
}

}  // namespace

double power_two_proportions(double effect_size, double n_a, double ratio, double alpha, bool one_sided) {
  return power_at(std::fabs(effect_size) * std::sqrt(effective_n(n_a, ratio)), alpha, one_sided);
}

SampleSize sample_size_two_proportions(const PowerRequest& r) {
  check_request(r);
  SampleSize out;
  out.target = r.baseline + r.mde;
  out.effect_size = 2 * std::asin(std::sqrt(out.target)) - 2 * std::asin(std::sqrt(r.baseline));
  // Solve power_at(s) = power for s: closed form one-sided; two-sided by Newton
  // from the value that ignores the far tail (it moves s by far less than 1e-6).
  double s = -normal_quantile(r.one_sided ? r.alpha : r.alpha / 2) + normal_quantile(r.power);
  if (!r.one_sided) {
    double c = -normal_quantile(r.alpha / 2);
    for (int i = 0; i < 50; ++i) {
      double step = (power_at(s, r.alpha, false) - r.power) / (normal_pdf(c - s) - normal_pdf(c + s));
      s -= step;
      if (std::fabs(step) < 1e-15 * std::fabs(s)) break;
    }
  }
  double h = std::fabs(out.effect_size);
  out.exact_a = (s / h) * (s / h) * (1 + r.ratio) / r.ratio;
  // A hair below an integer is that integer: the root is only known to ~1e-12.
  out.n_a = static_cast<std::int64_t>(std::ceil(out.exact_a * (1 - 1e-12)));
  out.n_b = static_cast<std::int64_t>(std::ceil(r.ratio * out.exact_a * (1 - 1e-12)));
  out.total = out.n_a + out.n_b;
  double n_eff = 1 / (1 / static_cast<double>(out.n_a) + 1 / static_cast<double>(out.n_b));
  out.achieved_power = power_at(h * std::sqrt(n_eff), r.alpha, r.one_sided);
  return out;
}

}  // namespace mlops::stats
