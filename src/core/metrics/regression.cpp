#include "metrics/regression.hpp"

#include <cmath>
#include <string>

#include "metrics/error.hpp"

namespace mlops::metrics {

RegressionReport regression_report(const std::vector<double>& truth, const std::vector<double>& predicted) {
  if (truth.size() != predicted.size())
    throw UndefinedMetric("regression metrics: " + std::to_string(truth.size()) + " true values but " +
                          std::to_string(predicted.size()) + " predictions");
  if (truth.empty()) throw UndefinedMetric("regression metrics: no samples");
  const double n = static_cast<double>(truth.size());
  double mean = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (std::isnan(truth[i]) || std::isnan(predicted[i]))
      throw UndefinedMetric("regression metrics: sample " + std::to_string(i) + " is NaN");
    mean += truth[i];
  }
  mean /= n;
  double ss_res = 0, ss_tot = 0, abs_sum = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const double e = truth[i] - predicted[i];
    ss_res += e * e;
    abs_sum += std::fabs(e);
    ss_tot += (truth[i] - mean) * (truth[i] - mean);
  }
  RegressionReport r;
  r.samples = truth.size();
  r.rmse = std::sqrt(ss_res / n);
  r.mae = abs_sum / n;
  r.r2 = ss_tot == 0 ? (ss_res == 0 ? 1.0 : 0.0) : 1.0 - ss_res / ss_tot;
  return r;
}

}  // namespace mlops::metrics
