#include "metrics/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "metrics/error.hpp"

namespace mlops::metrics {
namespace {

// Cumulative true and false positives at each distinct score, highest first
// (sklearn's confusion_matrix_at_thresholds).
struct Counts {
  std::vector<double> tps, fps, thresholds;
};

Counts counts_at_thresholds(const char* metric, const std::vector<bool>& positive, const std::vector<double>& scores) {
  if (positive.size() != scores.size())
    throw UndefinedMetric(std::string(metric) + ": " + std::to_string(positive.size()) + " labels but " +
                          std::to_string(scores.size()) + " scores");
  if (scores.empty()) throw UndefinedMetric(std::string(metric) + ": no samples");
  for (double s : scores)
    if (std::isnan(s)) throw UndefinedMetric(std::string(metric) + ": a score is NaN");
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  Counts c;
  double tp = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (positive[order[i]]) tp += 1;
    if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]]) continue;
    c.tps.push_back(tp);
    c.fps.push_back(static_cast<double>(i + 1) - tp);
    c.thresholds.push_back(scores[order[i]]);
  }
  return c;
}

void require_both_classes(const char* metric, const Counts& c) {
  if (c.tps.back() <= 0 || c.fps.back() <= 0)
    throw UndefinedMetric(std::string(metric) + ": only one class is present in the true labels, so it is undefined",
                          "it needs at least one positive and one negative sample");
}

RocCurve roc_points(const char* metric, const std::vector<bool>& positive, const std::vector<double>& scores) {
  Counts c = counts_at_thresholds(metric, positive, scores);
  require_both_classes(metric, c);
  const std::size_t n = c.tps.size();
  RocCurve r;
  r.fpr.push_back(0);
  r.tpr.push_back(0);
  r.thresholds.push_back(std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < n; ++i) {
    // Keep the ends and every point where the curve bends.
    bool keep = n <= 2 || i == 0 || i + 1 == n || (c.fps[i + 1] - 2 * c.fps[i] + c.fps[i - 1]) != 0 ||
                (c.tps[i + 1] - 2 * c.tps[i] + c.tps[i - 1]) != 0;
    if (!keep) continue;
    r.fpr.push_back(c.fps[i] / c.fps.back());
    r.tpr.push_back(c.tps[i] / c.tps.back());
    r.thresholds.push_back(c.thresholds[i]);
  }
  return r;
}

}  // namespace

RocCurve roc_curve(const std::vector<bool>& positive, const std::vector<double>& scores) {
  return roc_points("roc curve", positive, scores);
}

double roc_auc(const std::vector<bool>& positive, const std::vector<double>& scores) {
  RocCurve r = roc_points("roc auc", positive, scores);
  double area = 0;
  for (std::size_t i = 1; i < r.fpr.size(); ++i) area += (r.fpr[i] - r.fpr[i - 1]) * (r.tpr[i] + r.tpr[i - 1]) / 2.0;
  return area;
}

PrCurve precision_recall_curve(const std::vector<bool>& positive, const std::vector<double>& scores) {
  Counts c = counts_at_thresholds("precision-recall curve", positive, scores);
  const std::size_t n = c.tps.size();
  PrCurve r;
  for (std::size_t k = n; k-- > 0;) {
    const double predicted = c.tps[k] + c.fps[k];
    r.precision.push_back(predicted != 0 ? c.tps[k] / predicted : 0.0);
    r.recall.push_back(c.tps.back() == 0 ? 1.0 : c.tps[k] / c.tps.back());
    r.thresholds.push_back(c.thresholds[k]);
  }
  r.precision.push_back(1.0);
  r.recall.push_back(0.0);
  return r;
}

double average_precision(const std::vector<bool>& positive, const std::vector<double>& scores) {
  PrCurve pr = precision_recall_curve(positive, scores);
  double sum = 0;
  for (std::size_t i = 0; i + 1 < pr.recall.size(); ++i) sum += (pr.recall[i + 1] - pr.recall[i]) * pr.precision[i];
  return std::max(0.0, -sum);
}

}  // namespace mlops::metrics
