#include "metrics/fairness.hpp"

#include <algorithm>
#include <map>

#include "metrics/error.hpp"

namespace mlops::metrics {
namespace {

struct Tally {
  std::size_t samples = 0, tp = 0, fp = 0, fn = 0, tn = 0;
};

double rate(std::size_t num, std::size_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

template <class Get>
double spread(const std::vector<GroupRates>& groups, Get get) {
  auto [lo, hi] = std::minmax_element(groups.begin(), groups.end(),
                                      [&](const GroupRates& a, const GroupRates& b) { return get(a) < get(b); });
  return get(*hi) - get(*lo);
}

}  // namespace

FairnessReport fairness_report(const std::vector<std::string>& groups, const std::vector<std::string>& truth,
                               const std::vector<std::string>& predicted, std::string_view positive_label) {
  if (groups.size() != truth.size() || truth.size() != predicted.size())
    throw UndefinedMetric("fairness metrics: " + std::to_string(groups.size()) + " group values, " +
                          std::to_string(truth.size()) + " true labels and " + std::to_string(predicted.size()) +
                          " predictions");
  if (groups.empty()) throw UndefinedMetric("fairness metrics: no samples");
  std::map<std::string, Tally> tallies;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    Tally& t = tallies[groups[i]];
    const bool actual = truth[i] == positive_label, chosen = predicted[i] == positive_label;
    ++t.samples;
    ++(actual ? (chosen ? t.tp : t.fn) : (chosen ? t.fp : t.tn));
  }
  FairnessReport r;
  for (const auto& [name, t] : tallies)
    r.groups.push_back(
        {name, t.samples, t.tp + t.fn, rate(t.tp + t.fp, t.samples), rate(t.tp, t.tp + t.fn), rate(t.fp, t.fp + t.tn)});
  auto selection = [](const GroupRates& g) { return g.selection_rate; };
  auto tpr = [](const GroupRates& g) { return g.true_positive_rate; };
  auto fpr = [](const GroupRates& g) { return g.false_positive_rate; };
  r.demographic_parity_difference = spread(r.groups, selection);
  r.equal_opportunity_difference = spread(r.groups, tpr);
  r.equalized_odds_difference = std::max(r.equal_opportunity_difference, spread(r.groups, fpr));
  auto [lo, hi] = std::minmax_element(r.groups.begin(), r.groups.end(), [](const GroupRates& a, const GroupRates& b) {
    return a.selection_rate < b.selection_rate;
  });
  if (hi->selection_rate > 0) {
    r.demographic_parity_ratio = lo->selection_rate / hi->selection_rate;
    r.passes_four_fifths = *r.demographic_parity_ratio >= k_four_fifths;
  }
  return r;
}

}  // namespace mlops::metrics
