#pragma once
// Mann-Whitney U for continuous metrics whose distribution is far from normal
// (latency, cost): ranks of both samples together, ties sharing their mean rank.
#include <cstdint>
#include <span>

#include "stats/types.hpp"

namespace mlops::stats {

enum class MannWhitneyMethod { automatic, exact, asymptotic };

struct MannWhitney {
  double u_b = 0;  // U of variant B: pairs (a, b) with b > a, ties counting 1/2
  double p_value = 1;
  double probability_superiority = 0.5;  // u_b / (n_a n_b): P(B > A) + P(B = A)/2
  bool exact = false;                    // the exact null distribution was used
};

// Matches scipy mannwhitneyu(b, a, use_continuity=continuity, alternative=...,
// method=...). automatic, like scipy's "auto", is exact when either sample has
// at most 8 values and there are no ties, and the normal approximation with the
// tie correction otherwise. exact with ties throws UsageError. When every value
// is identical the p-value is 1 (scipy's result with the continuity correction;
// without it scipy returns NaN). Empty samples and NaN values throw.
MannWhitney mann_whitney_u(std::span<const double> a, std::span<const double> b,
                           Alternative alt = Alternative::two_sided,
                           MannWhitneyMethod method = MannWhitneyMethod::automatic, bool continuity = true);

}  // namespace mlops::stats
