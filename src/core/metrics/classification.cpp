#include "metrics/classification.hpp"

#include <algorithm>
#include <map>

#include "metrics/error.hpp"

namespace mlops::metrics {
namespace {

double ratio(std::size_t num, std::size_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

ClassificationReport classification_report(const std::vector<std::string>& truth,
                                           const std::vector<std::string>& predicted) {
  if (truth.size() != predicted.size())
    throw UndefinedMetric("classification metrics: " + std::to_string(truth.size()) + " true labels but " +
                          std::to_string(predicted.size()) + " predictions");
  if (truth.empty()) throw UndefinedMetric("classification metrics: no samples");
  ClassificationReport r;
  std::map<std::string, std::size_t> index;
  for (const auto* v : {&truth, &predicted})
    for (const auto& label : *v) index.emplace(label, 0);
  for (auto& [label, i] : index) {
    i = r.labels.size();
    r.labels.push_back(label);
  }
  const std::size_t k = r.labels.size();
  r.samples = truth.size();
  r.confusion.assign(k, std::vector<std::size_t>(k, 0));
  for (std::size_t s = 0; s < truth.size(); ++s) ++r.confusion[index[truth[s]]][index[predicted[s]]];

  std::size_t correct = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t predicted_as = 0, actual = 0;
    for (std::size_t o = 0; o < k; ++o) {
      predicted_as += r.confusion[o][c];
      actual += r.confusion[c][o];
    }
    const std::size_t tp = r.confusion[c][c];
    correct += tp;
    r.classes.push_back(
        {r.labels[c], ratio(tp, predicted_as), ratio(tp, actual), ratio(2 * tp, actual + predicted_as), actual});
  }
  r.accuracy = ratio(correct, r.samples);
  r.micro = {r.accuracy, r.accuracy, ratio(2 * correct, 2 * r.samples)};
  for (const auto& c : r.classes) {
    r.macro.precision += c.precision;
    r.macro.recall += c.recall;
    r.macro.f1 += c.f1;
    const double w = static_cast<double>(c.support);
    r.weighted.precision += c.precision * w;
    r.weighted.recall += c.recall * w;
    r.weighted.f1 += c.f1 * w;
  }
  const double n = static_cast<double>(k), total = static_cast<double>(r.samples);
  r.macro = {r.macro.precision / n, r.macro.recall / n, r.macro.f1 / n};
  r.weighted = {r.weighted.precision / total, r.weighted.recall / total, r.weighted.f1 / total};
  return r;
}

}  // namespace mlops::metrics
