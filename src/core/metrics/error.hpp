#pragma once
#include "util/error.hpp"

namespace mlops::metrics {

// The metric is not defined for this data (an AUC with only one class present,
// mismatched input lengths, no samples); scikit-learn raises ValueError there.
struct UndefinedMetric : UsageError {
  using UsageError::UsageError;
};

}  // namespace mlops::metrics
