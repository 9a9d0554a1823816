#include "stats/decision.hpp"

#include <fmt/format.h>

#include <cmath>

#include "stats/multiple.hpp"
#include "stats/types.hpp"

namespace mlops::stats {

namespace {

double toward_better(Better b, double change) {
  return b == Better::higher ? change : -change;
}

}  // namespace

Decision decide(const DecisionPolicy& policy, const std::string& control, std::int64_t control_n,
                const std::vector<VariantResult>& variants) {
  check_alpha(policy.alpha);
  if (variants.empty()) throw UsageError("a decision needs at least one variant to compare with the control");
  std::vector<double> p;
  for (const auto& v : variants) {
    p.push_back(v.p_value);
    for (const auto& g : v.guards)
      if (!(g.limit >= 0))
        throw UsageError(
            fmt::format("guard '{}' of variant '{}' has limit {}; a limit is the largest regression "
                        "tolerated and cannot be negative",
                        g.metric, v.name, g.limit));
  }
  auto adjusted = holm(p);
  Decision d;

  bool enough = true;
  auto check_size = [&](const std::string& name, std::int64_t n) {
    if (n < policy.min_sample_size) {
      enough = false;
      d.reasons.push_back(
          fmt::format("'{}' has {} units, below the minimum sample size of {}", name, n, policy.min_sample_size));
    }
  };
  check_size(control, control_n);
  for (const auto& v : variants) check_size(v.name, v.n);

  const std::string p_label = variants.size() > 1 ? "Holm-adjusted p" : "p";
  const VariantResult* best = nullptr;
  bool all_worse = true;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const auto& v = variants[i];
    VariantVerdict verdict;
    verdict.name = v.name;
    verdict.adjusted_p = adjusted[i];
    verdict.significant = adjusted[i] < policy.alpha;
    verdict.improved = toward_better(policy.better, v.effect) > 0;
    for (const auto& g : v.guards) {
      double regression = -toward_better(g.better, g.change);
      if (regression > g.limit) {
        verdict.regressed_guards.push_back(g.metric);
        d.reasons.push_back(
            fmt::format("'{}' regressed guard '{}' by {:.6g} (limit {:.6g})", v.name, g.metric, regression, g.limit));
      }
    }
    all_worse = all_worse && verdict.significant && !verdict.improved;
    if (!verdict.significant)
      d.reasons.push_back(fmt::format("'{}' is not significantly different from '{}' ({} = {:.4g}, alpha {:.4g})",
                                      v.name, control, p_label, adjusted[i], policy.alpha));
    else if (!verdict.improved)
      d.reasons.push_back(
          fmt::format("'{}' is significantly worse than '{}' ({} = {:.4g})", v.name, control, p_label, adjusted[i]));
    if (verdict.significant && verdict.improved && verdict.regressed_guards.empty() &&
        (!best || toward_better(policy.better, v.effect) > toward_better(policy.better, best->effect)))
      best = &v;
    d.variants.push_back(std::move(verdict));
  }

  if (!enough) return d;
  if (best) {
    d.winner = best->name;
    d.reasons.insert(
        d.reasons.begin(),
        fmt::format("'{}' beats '{}' by {:+.6g} on the primary metric ({} = {:.4g}, alpha {:.4g})", best->name, control,
                    best->effect, p_label, adjusted[static_cast<std::size_t>(best - variants.data())], policy.alpha));
  } else if (all_worse) {
    d.winner = control;
    d.reasons.insert(d.reasons.begin(), fmt::format("every variant is significantly worse than '{}'", control));
  }
  return d;
}

}  // namespace mlops::stats
