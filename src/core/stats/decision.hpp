#pragma once
// Winner selection. A variant wins only when its primary metric is better than
// the control's and significant at alpha after Holm's correction across the
// variants, every variant has reached the minimum sample size, and none of its
// guard metrics (cost, latency, ...) regressed beyond its limit. Otherwise the
// result is "no decision", with every reason that applied.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlops::stats {

enum class Better { higher, lower };

// One guard metric of one variant. `change` is the variant's value minus the
// control's, in the unit the limit is expressed in (absolute, or relative such
// as +0.12 for 12% slower); the caller picks the point estimate or, to be
// conservative, the worse end of its interval. `limit` >= 0 is the largest
// regression tolerated.
struct Guard {
  std::string metric;
  Better better = Better::lower;
  double change = 0;
  double limit = 0;
};

// A treatment compared with the control on the primary metric.
struct VariantResult {
  std::string name;
  double effect = 0;   // treatment − control on the primary metric
  double p_value = 1;  // unadjusted; decide() applies Holm across variants
  std::int64_t n = 0;  // units observed in this variant
  std::vector<Guard> guards;
};

struct DecisionPolicy {
  double alpha = 0.05;
  Better better = Better::higher;    // direction in which the primary metric improves
  std::int64_t min_sample_size = 0;  // per variant, e.g. from sample_size_two_proportions
};

struct VariantVerdict {
  std::string name;
  double adjusted_p = 1;
  bool significant = false;  // adjusted_p < alpha
  bool improved = false;     // effect in the better direction
  std::vector<std::string> regressed_guards;
};

struct Decision {
  std::optional<std::string> winner;  // a variant, or the control when every variant is significantly worse
  std::vector<std::string> reasons;   // why, or why not
  std::vector<VariantVerdict> variants;
};

// control_n: units observed in the control. Throws UsageError for an empty
// variant list, a p-value outside [0, 1] or a negative guard limit.
Decision decide(const DecisionPolicy& policy, const std::string& control, std::int64_t control_n,
                const std::vector<VariantResult>& variants);

}  // namespace mlops::stats
