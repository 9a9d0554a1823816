#include "stats/srm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "stats/special.hpp"
#include "stats/types.hpp"

namespace mlops::stats {

ChiSquareTest chi_square_goodness_of_fit(std::span<const double> observed, std::span<const double> expected) {
  if (observed.size() != expected.size() || observed.size() < 2)
    throw UsageError(
        fmt::format("goodness of fit needs matching observed and expected counts for at least two "
                    "categories (got {} and {})",
                    observed.size(), expected.size()));
  double sum_o = 0, sum_e = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    if (!(observed[i] >= 0) || !(expected[i] > 0))
      throw UsageError(fmt::format("category {}: observed {} and expected {} must be non-negative and positive", i + 1,
                                   observed[i], expected[i]));
    sum_o += observed[i];
    sum_e += expected[i];
  }
  if (std::fabs(sum_o - sum_e) > 1e-8 * std::max(sum_o, sum_e))
    throw UsageError(fmt::format("observed counts sum to {} but expected counts to {}", sum_o, sum_e),
                     "scale the expected counts to the observed total");
  ChiSquareTest t;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    double d = observed[i] - expected[i];
    t.statistic += d * d / expected[i];
  }
  t.df = static_cast<double>(observed.size() - 1);
  t.p_value = chi_square_sf(t.statistic, t.df);
  return t;
}

SrmCheck sample_ratio_mismatch(std::span<const std::int64_t> counts, std::span<const double> weights,
                               double threshold) {
  if (counts.size() != weights.size() || counts.size() < 2)
    throw UsageError(
        fmt::format("a sample ratio check needs one count and one weight per variant, at least two "
                    "variants (got {} counts and {} weights)",
                    counts.size(), weights.size()));
  check_alpha(threshold);
  double total = 0, weight_sum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) throw UsageError(fmt::format("variant {} has a negative unit count", i + 1));
    if (!(weights[i] > 0 && std::isfinite(weights[i])))
      throw UsageError(fmt::format("variant {} has split weight {}; weights must be positive", i + 1, weights[i]),
                       "drop a variant from the split instead of giving it weight 0");
    total += static_cast<double>(counts[i]);
    weight_sum += weights[i];
  }
  if (total == 0) throw UndefinedError("no units were assigned yet, so the split cannot be checked");
  SrmCheck r;
  std::vector<double> observed(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    observed[i] = static_cast<double>(counts[i]);
    r.expected.push_back(total * weights[i] / weight_sum);
  }
  r.test = chi_square_goodness_of_fit(observed, r.expected);
  r.mismatch = r.test.p_value < threshold;
  return r;
}

}  // namespace mlops::stats
