#pragma once
// Classification metrics from true and predicted labels, with scikit-learn's
// definitions (checked against scikit-learn 1.9 in tests/golden/metrics.json).
#include <cstddef>
#include <string>
#include <vector>

namespace mlops::metrics {

struct ClassScores {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;
  std::size_t support = 0;  // samples whose true label is this one
};

struct AveragedScores {
  double precision = 0, recall = 0, f1 = 0;
};

struct ClassificationReport {
  // Every label seen in truth or predictions, sorted by code point (sklearn's
  // unique_labels order); rows and columns of `confusion` follow it.
  std::vector<std::string> labels;
  std::vector<ClassScores> classes;
  double accuracy = 0;
  // macro: unweighted mean over labels; weighted: mean weighted by support;
  // micro: from the summed counts (so micro precision = recall = f1 = accuracy).
  AveragedScores macro, micro, weighted;
  std::vector<std::vector<std::size_t>> confusion;  // [true label][predicted label]
  std::size_t samples = 0;
};

// precision = tp / (tp + fp), recall = tp / (tp + fn), f1 = 2 tp / (2 tp + fp
// + fn); a zero denominator gives 0 (sklearn's zero_division="warn" value).
// Throws UndefinedMetric when the vectors differ in length or are empty.
ClassificationReport classification_report(const std::vector<std::string>& truth,
                                           const std::vector<std::string>& predicted);

}  // namespace mlops::metrics
