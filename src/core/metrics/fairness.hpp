#pragma once
// Group fairness of binary decisions, with fairlearn's definitions (checked
// against fairlearn 0.15 in tests/golden/metrics.json). A sample is positive
// when its label equals the positive label; everything else is negative.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::metrics {

struct GroupRates {
  std::string group;
  std::size_t samples = 0, positives = 0;  // positives: true label is positive
  double selection_rate = 0;               // predicted positive / samples
  // tp / (tp + fn) and fp / (fp + tn); 0 when the group has no positive
  // (respectively negative) samples, as fairlearn's normalised confusion matrix gives.
  double true_positive_rate = 0, false_positive_rate = 0;
};

struct FairnessReport {
  std::vector<GroupRates> groups;  // sorted by group name
  // max - min of selection rates over groups (fairlearn between_groups).
  double demographic_parity_difference = 0;
  // min / max of selection rates; nullopt when no group selects anyone
  // (fairlearn gives NaN). It is also the disparate impact ratio.
  std::optional<double> demographic_parity_ratio;
  double equal_opportunity_difference = 0;  // max - min of true positive rates
  // The larger of the true positive rate and false positive rate differences
  // (fairlearn's agg="worst_case").
  double equalized_odds_difference = 0;
  // The four-fifths rule: every group's selection rate is at least 80% of the
  // highest one. True when no group selects anyone.
  bool passes_four_fifths = true;
};

inline constexpr double k_four_fifths = 0.8;

// Throws UndefinedMetric when the three vectors differ in length or are empty.
FairnessReport fairness_report(const std::vector<std::string>& groups, const std::vector<std::string>& truth,
                               const std::vector<std::string>& predicted, std::string_view positive_label);

}  // namespace mlops::metrics
