#pragma once
// Corrections for testing several variants or metrics at once.
#include <span>
#include <vector>

namespace mlops::stats {

// Holm–Bonferroni step-down adjusted p-values, in the input order; statsmodels
// multipletests(p, method="holm")[1]. Reject hypothesis i at level alpha when
// adjusted[i] < alpha: this controls the family-wise error rate. Throws
// UsageError for a p-value outside [0, 1].
std::vector<double> holm(std::span<const double> p_values);

}  // namespace mlops::stats
