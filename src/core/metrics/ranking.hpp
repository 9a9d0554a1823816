#pragma once
// Metrics of scored binary predictions (a probability or any score where
// higher means "more positive"), with scikit-learn 1.9's definitions. Ties in
// score form one threshold. Every function throws UndefinedMetric when the
// vectors differ in length or are empty, or a score is NaN.
#include <vector>

namespace mlops::metrics {

// Points ordered by decreasing threshold; thresholds[0] is +infinity (the
// (0, 0) point). Collinear intermediate points are dropped, as sklearn's
// roc_curve(drop_intermediate=True) does.
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};
// Throws UndefinedMetric unless both classes are present (sklearn fills the
// undefined rate with NaN and warns instead).
RocCurve roc_curve(const std::vector<bool>& positive, const std::vector<double>& scores);
// Area under roc_curve by the trapezoidal rule (sklearn's roc_auc_score):
// tied scores count one half. Throws UndefinedMetric unless both classes are
// present, as sklearn raises.
double roc_auc(const std::vector<bool>& positive, const std::vector<double>& scores);

// sklearn's precision_recall_curve: precision and recall by increasing
// threshold, then the point (precision 1, recall 0) with no threshold, so
// precision and recall have one entry more than thresholds. A threshold
// with no predicted positives has precision 0; with no positive samples, recall
// is 1 everywhere (sklearn warns).
struct PrCurve {
  std::vector<double> precision, recall, thresholds;
};
PrCurve precision_recall_curve(const std::vector<bool>& positive, const std::vector<double>& scores);
// sklearn's average_precision_score: sum over thresholds of (R_n - R_{n-1}) P_n,
// without interpolation. 0 when there are no positive samples (sklearn warns).
double average_precision(const std::vector<bool>& positive, const std::vector<double>& scores);

}  // namespace mlops::metrics
