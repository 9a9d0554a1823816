#pragma once
// Regression metrics with scikit-learn's definitions (mean_squared_error with
// squared=False, mean_absolute_error, r2_score).
#include <vector>

namespace mlops::metrics {

struct RegressionReport {
  double rmse = 0;  // sqrt(mean((y - p)^2))
  double mae = 0;   // mean(|y - p|)
  // 1 - SS_res / SS_tot. When the truth is constant (SS_tot = 0) sklearn returns
  // 1 for a perfect prediction and 0 otherwise; so does this.
  double r2 = 0;
  std::size_t samples = 0;
};

// Throws UndefinedMetric when the vectors differ in length, are empty, or hold a NaN.
RegressionReport regression_report(const std::vector<double>& truth, const std::vector<double>& predicted);

}  // namespace mlops::metrics
