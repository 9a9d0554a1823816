#include "stats/proportions.hpp"

#include <cmath>
#include <string>

#include "stats/special.hpp"

namespace mlops::stats {

namespace {

double two_sided_z(double confidence) {
  check_confidence(confidence);
  return -normal_quantile((1 - confidence) / 2);
}

}  // namespace

void check_proportion(const Proportion& p, const char* what) {
  if (p.trials <= 0)
    throw UndefinedError(std::string(what) + " has no observations",
                         "a rate needs at least one observation in each variant");
  if (p.successes < 0 || p.successes > p.trials)
    throw UsageError(std::string(what) + ": " + std::to_string(p.successes) + " successes out of " +
                         std::to_string(p.trials) + " trials is impossible",
                     "successes must be between 0 and the number of trials");
}

Interval wilson_interval(const Proportion& p, double confidence) {
  check_proportion(p, "the sample");
  double z = two_sided_z(confidence), z2 = z * z;
  double n = static_cast<double>(p.trials), r = p.rate();
  double denom = 1 + z2 / n;
  double center = (r + z2 / (2 * n)) / denom;
  double half = z * std::sqrt(r * (1 - r) / n + z2 / (4 * n * n)) / denom;
  return {center - half, center + half};
}

ZTest two_proportion_ztest(const Proportion& a, const Proportion& b, Alternative alt) {
  check_proportion(a, "variant A");
  check_proportion(b, "variant B");
  double na = static_cast<double>(a.trials), nb = static_cast<double>(b.trials);
  double pooled = static_cast<double>(a.successes + b.successes) / (na + nb);
  if (pooled == 0 || pooled == 1)
    throw UndefinedError(std::string("the z-test is undefined: every observation ") +
                             (pooled == 1 ? "passed" : "failed") + " in both variants",
                         "with identical all-or-nothing results there is no difference to test");
  double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
  ZTest r;
  r.pooled_rate = pooled;
  r.z = (b.rate() - a.rate()) / se;
  switch (alt) {
    case Alternative::two_sided:
      r.p_value = 2 * normal_sf(std::fabs(r.z));
      break;
    case Alternative::greater:
      r.p_value = normal_sf(r.z);
      break;
    case Alternative::less:
      r.p_value = normal_cdf(r.z);
      break;
  }
  return r;
}

Interval newcombe_interval(const Proportion& a, const Proportion& b, double confidence) {
  auto ia = wilson_interval(a, confidence);
  auto ib = wilson_interval(b, confidence);
  double pa = a.rate(), pb = b.rate(), diff = pb - pa;
  double down = std::sqrt((pb - ib.low) * (pb - ib.low) + (ia.high - pa) * (ia.high - pa));
  double up = std::sqrt((pa - ia.low) * (pa - ia.low) + (ib.high - pb) * (ib.high - pb));
  return {diff - down, diff + up};
}

double cohens_h(const Proportion& a, const Proportion& b) {
  check_proportion(a, "variant A");
  check_proportion(b, "variant B");
  return 2 * std::asin(std::sqrt(b.rate())) - 2 * std::asin(std::sqrt(a.rate()));
}

Estimate relative_lift(const Proportion& a, const Proportion& b, double confidence) {
  check_proportion(a, "variant A");
  check_proportion(b, "variant B");
  if (a.successes == 0)
    throw UndefinedError("relative lift is undefined: variant A has no successes to compare against",
                         "report the absolute difference instead, or collect more data");
  double z = two_sided_z(confidence);
  double xa = static_cast<double>(a.successes) + 0.5, na = static_cast<double>(a.trials) + 0.5;
  double xb = static_cast<double>(b.successes) + 0.5, nb = static_cast<double>(b.trials) + 0.5;
  double log_ratio = std::log((xb / nb) / (xa / na));
  double half = z * std::sqrt(1 / xb - 1 / nb + 1 / xa - 1 / na);
  return {b.rate() / a.rate() - 1, {std::expm1(log_ratio - half), std::expm1(log_ratio + half)}};
}

}  // namespace mlops::stats
