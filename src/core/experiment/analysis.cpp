#include "experiment/analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "stats/continuous.hpp"
#include "stats/multiple.hpp"
#include "stats/paired.hpp"
#include "stats/proportions.hpp"
#include "stats/rank.hpp"
#include "stats/special.hpp"
#include "stats/srm.hpp"
#include "util/error.hpp"

namespace mlops::experiment {

using nlohmann::json;

namespace {

using Series = std::vector<std::pair<std::int64_t, double>>;

// Above this many pairs the paired bootstrap of a continuous metric (2000
// resamples of every unit) costs seconds; pass rates use the grouped shortcut.
constexpr std::size_t k_max_bootstrap_pairs = 100'000;

json interval_json(const stats::Interval& i) {
  return json::array({i.low, i.high});
}
json estimate_json(const stats::Estimate& e) {
  return {{"value", e.value}, {"ci", interval_json(e.ci)}};
}

std::vector<double> values_of(const Series& s) {
  std::vector<double> out;
  out.reserve(s.size());
  for (const auto& [i, v] : s) out.push_back(v);
  return out;
}

// The units both arms observed, in test order: (control value, variant value).
std::pair<std::vector<double>, std::vector<double>> pairs_of(Series a, Series b) {
  auto by_test = [](const auto& x, const auto& y) { return x.first < y.first; };
  if (!std::is_sorted(a.begin(), a.end(), by_test)) std::sort(a.begin(), a.end(), by_test);
  if (!std::is_sorted(b.begin(), b.end(), by_test)) std::sort(b.begin(), b.end(), by_test);
  std::pair<std::vector<double>, std::vector<double>> out;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first < b[j].first)
      ++i;
    else if (b[j].first < a[i].first)
      ++j;
    else {
      out.first.push_back(a[i++].second);
      out.second.push_back(b[j++].second);
    }
  }
  return out;
}

// One arm's summary of one metric: count, mean and its interval (Wilson for a
// pass rate, Student t for a mean).
json arm_summary(const std::string& name, const MetricSpec& m, const Series& s, double confidence) {
  json j = {{"arm", name}, {"n", static_cast<std::int64_t>(s.size())}, {"mean", nullptr}, {"ci", nullptr}};
  if (s.empty()) return j;
  auto v = values_of(s);
  if (m.binary()) {
    std::int64_t passed = 0;
    for (double x : v) passed += x != 0;
    stats::Proportion p{passed, static_cast<std::int64_t>(v.size())};
    j["successes"] = passed;
    j["mean"] = p.rate();
    j["ci"] = interval_json(stats::wilson_interval(p, confidence));
    j["interval"] = "wilson";
    return j;
  }
  auto sum = stats::summarize(v, name.c_str());
  j["mean"] = sum.mean;
  j["sd"] = std::sqrt(sum.variance);
  if (sum.n >= 2) {
    double q = -stats::student_t_quantile((1 - confidence) / 2, static_cast<double>(sum.n - 1));
    double se = sum.standard_error();
    j["ci"] = json::array({sum.mean - q * se, sum.mean + q * se});
    j["interval"] = "student t";
  }
  return j;
}

struct Comparison {
  json j;
  double p_value = 1;
  double effect = 0;  // variant − control
  bool defined = false;
};

template <class F>
void attempt(json& notes, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    notes.push_back(e.what());
  }
}

Comparison compare_binary(const MetricSpec&, const Series& a, const Series& b, const AbConfig& c) {
  Comparison r;
  json notes = json::array();
  if (c.paired) {
    auto [va, vb] = pairs_of(a, b);
    std::vector<std::uint8_t> pa(va.begin(), va.end()), pb(vb.begin(), vb.end());
    for (std::size_t i = 0; i < va.size(); ++i) {
      pa[i] = va[i] != 0;
      pb[i] = vb[i] != 0;
    }
    auto t = stats::tabulate(pa, pb);
    r.j = {
        {"test", "mcnemar"},
        {"pairs", t.n()},
        {"table", {{"both", t.both}, {"control_only", t.a_only}, {"variant_only", t.b_only}, {"neither", t.neither}}}};
    if (t.n() == 0) {
      notes.push_back("no unit has an answer from both arms");
    } else {
      r.effect = t.rate_b() - t.rate_a();
      attempt(notes, [&] {
        auto m = stats::mcnemar(t);
        r.p_value = m.p_value;
        r.j["statistic"] = m.statistic;
        r.j["exact"] = m.exact;
        r.defined = true;
      });
      stats::BootstrapOptions o;
      o.confidence = c.confidence;
      o.seed = c.seed;
      auto bs = stats::paired_bootstrap(t, o);
      r.j["difference"] = estimate_json(bs.difference);
      r.j["difference"]["value"] = r.effect;
      r.j["difference"]["interval"] = "paired bootstrap";
      r.j["relative_lift"] = bs.lift ? estimate_json(*bs.lift) : json(nullptr);
      stats::Proportion pa_{t.both + t.a_only, t.n()}, pb_{t.both + t.b_only, t.n()};
      r.j["effect_size"] = {{"name", "cohens_h"}, {"value", stats::cohens_h(pa_, pb_)}};
    }
  } else {
    auto count = [](const Series& s) {
      std::int64_t k = 0;
      for (const auto& [i, v] : s) k += v != 0;
      return stats::Proportion{k, static_cast<std::int64_t>(s.size())};
    };
    auto pa = count(a), pb = count(b);
    r.j = {{"test", "two-proportion z-test"}};
    if (pa.trials == 0 || pb.trials == 0) {
      notes.push_back("an arm has no observations");
    } else {
      r.effect = pb.rate() - pa.rate();
      attempt(notes, [&] {
        auto z = stats::two_proportion_ztest(pa, pb);
        r.p_value = z.p_value;
        r.j["statistic"] = z.z;
        r.defined = true;
      });
      r.j["difference"] = {{"value", r.effect},
                           {"ci", interval_json(stats::newcombe_interval(pa, pb, c.confidence))},
                           {"interval", "newcombe"}};
      r.j["relative_lift"] = nullptr;
      attempt(notes, [&] { r.j["relative_lift"] = estimate_json(stats::relative_lift(pa, pb, c.confidence)); });
      r.j["effect_size"] = {{"name", "cohens_h"}, {"value", stats::cohens_h(pa, pb)}};
    }
  }
  if (!r.j.contains("difference")) r.j["difference"] = nullptr;
  r.j["p_value"] = r.defined ? json(r.p_value) : json(nullptr);
  r.j["notes"] = notes;
  return r;
}

Comparison compare_continuous(const MetricSpec& m, const Series& a, const Series& b, const AbConfig& c) {
  Comparison r;
  json notes = json::array();
  r.j = {{"difference", nullptr}, {"relative_lift", nullptr}, {"effect_size", nullptr}};
  if (c.paired) {
    auto [va, vb] = pairs_of(a, b);
    r.j["test"] = "paired t-test";
    r.j["pairs"] = static_cast<std::int64_t>(va.size());
    if (va.size() < 2) {
      notes.push_back(fmt::format("{} unit{} with an answer from both arms; the paired test needs 2", va.size(),
                                  va.size() == 1 ? "" : "s"));
    } else {
      auto sa = stats::summarize(va), sb = stats::summarize(vb);
      r.effect = sb.mean - sa.mean;
      r.j["difference"] = {{"value", r.effect}, {"ci", nullptr}};
      attempt(notes, [&] {
        auto t = stats::paired_ttest(va, vb, stats::Alternative::two_sided, c.confidence);
        r.p_value = t.p_value;
        r.j["statistic"] = t.t;
        r.j["df"] = t.df;
        r.j["difference"]["ci"] = interval_json(t.difference.ci);
        r.j["difference"]["interval"] = "paired t";
        r.defined = true;
      });
      // The lift's interval resamples units; its cost grows with n × resamples.
      if (va.size() <= k_max_bootstrap_pairs) {
        stats::BootstrapOptions o;
        o.confidence = c.confidence;
        o.seed = c.seed;
        auto bs = stats::paired_bootstrap(va, vb, o);
        if (bs.lift) r.j["relative_lift"] = estimate_json(*bs.lift);
      } else {
        notes.push_back(
            fmt::format("relative lift not computed above {} pairs (paired bootstrap)", k_max_bootstrap_pairs));
      }
      attempt(notes, [&] { r.j["effect_size"] = {{"name", "cohens_d"}, {"value", stats::cohens_d(sa, sb)}}; });
    }
  } else {
    auto va = values_of(a), vb = values_of(b);
    bool mw = m.test == Test::mann_whitney;
    r.j["test"] = mw ? "mann-whitney u" : "welch t-test";
    if (va.empty() || vb.empty()) {
      notes.push_back("an arm has no observations");
    } else {
      auto sa = stats::summarize(va), sb = stats::summarize(vb);
      r.effect = sb.mean - sa.mean;
      r.j["difference"] = {{"value", r.effect}, {"ci", nullptr}};
      attempt(notes, [&] {
        auto t = stats::welch_ttest(sa, sb, stats::Alternative::two_sided, c.confidence);
        r.j["difference"]["ci"] = interval_json(t.difference.ci);
        r.j["difference"]["interval"] = "welch";
        if (!mw) {
          r.p_value = t.p_value;
          r.j["statistic"] = t.t;
          r.j["df"] = t.df;
          r.defined = true;
        }
      });
      if (mw) {
        attempt(notes, [&] {
          auto u = stats::mann_whitney_u(va, vb);
          r.p_value = u.p_value;
          r.j["statistic"] = u.u_b;
          r.j["probability_superiority"] = u.probability_superiority;
          r.defined = true;
        });
      }
      if (sa.mean > 0 && sb.mean > 0 && sa.n >= 2 && sb.n >= 2)
        attempt(notes, [&] { r.j["relative_lift"] = estimate_json(stats::relative_lift(sa, sb, c.confidence)); });
      attempt(notes, [&] { r.j["effect_size"] = {{"name", "cohens_d"}, {"value", stats::cohens_d(sa, sb)}}; });
    }
  }
  r.j["p_value"] = r.defined ? json(r.p_value) : json(nullptr);
  r.j["notes"] = notes;
  return r;
}

double mean_of(const Series& s) {
  double sum = 0;
  for (const auto& [i, v] : s) sum += v;
  return s.empty() ? 0 : sum / static_cast<double>(s.size());
}

const char* direction_name(stats::Better b) {
  return b == stats::Better::higher ? "higher" : "lower";
}

}  // namespace

Analysis analyze(const AbConfig& c, const std::vector<ArmData>& arms) {
  auto cfg_arms = c.arms();
  if (arms.size() != cfg_arms.size())
    throw UsageError(fmt::format("{} arms of data for {} arms in the config", arms.size(), cfg_arms.size()));
  for (const auto& a : arms)
    if (a.values.size() != c.metrics.size())
      throw UsageError(
          fmt::format("arm '{}' has {} metric series for {} metrics", a.name, a.values.size(), c.metrics.size()));
  Analysis out;
  const double alpha = 1 - c.confidence;
  std::vector<Comparison> primary;  // per variant
  std::vector<std::vector<Comparison>> all(c.metrics.size());
  for (std::size_t mi = 0; mi < c.metrics.size(); ++mi) {
    const auto& m = c.metrics[mi];
    json mj = {{"name", m.name},
               {"kind", m.binary() ? "binary" : "continuous"},
               {"direction", direction_name(m.better)},
               {"primary", m.name == c.primary},
               {"arms", json::array()},
               {"comparisons", json::array()}};
    for (const auto& a : arms) mj["arms"].push_back(arm_summary(a.name, m, a.values[mi], c.confidence));
    std::vector<double> ps;
    for (std::size_t v = 1; v < arms.size(); ++v) {
      auto cmp = m.binary() ? compare_binary(m, arms[0].values[mi], arms[v].values[mi], c)
                            : compare_continuous(m, arms[0].values[mi], arms[v].values[mi], c);
      json ordered = {{"variant", arms[v].name}};
      ordered.update(cmp.j);
      cmp.j = std::move(ordered);
      ps.push_back(cmp.p_value);
      all[mi].push_back(std::move(cmp));
    }
    auto adjusted = stats::holm(ps);
    for (std::size_t v = 0; v < all[mi].size(); ++v) {
      all[mi][v].j["adjusted_p_value"] = all[mi][v].defined ? json(adjusted[v]) : json(nullptr);
      mj["comparisons"].push_back(all[mi][v].j);
    }
    out.metrics.push_back(std::move(mj));
  }

  // Sample ratio mismatch: did each arm answer for the share of units its
  // weight calls for? Failed calls that hit one arm more than another show here.
  std::vector<std::string> blockers;
  if (c.paired) {
    out.srm = {{"applicable", false}, {"reason", "paired: every unit goes through every arm"}};
  } else {
    std::vector<std::int64_t> counts;
    std::vector<double> weights;
    std::int64_t total = 0;
    for (std::size_t i = 0; i < arms.size(); ++i) {
      counts.push_back(arms[i].observed);
      weights.push_back(cfg_arms[i]->weight);
      total += arms[i].observed;
    }
    if (total == 0) {
      out.srm = {{"applicable", false}, {"reason", "no unit was observed"}};
    } else {
      auto s = stats::sample_ratio_mismatch(counts, weights);
      out.srm = {{"applicable", true},
                 {"counts", counts},
                 {"expected", s.expected},
                 {"chi_square", s.test.statistic},
                 {"df", s.test.df},
                 {"p_value", s.test.p_value},
                 {"threshold", stats::k_srm_threshold},
                 {"mismatch", s.mismatch}};
      if (s.mismatch)
        blockers.push_back(
            fmt::format("sample ratio mismatch: observed {} units per arm against the split (chi-square "
                        "p = {:.3g} < {:g}); check failed calls and the assignment",
                        json(counts).dump(), s.test.p_value, stats::k_srm_threshold));
    }
  }

  // The decision on the primary metric with the guards.
  const std::size_t pi = 0;  // the config keeps the primary first
  const auto& pm = c.metrics[pi];
  std::vector<stats::VariantResult> results;
  json guard_rows = json::array();
  for (std::size_t v = 1; v < arms.size(); ++v) {
    const auto& cmp = all[pi][v - 1];
    stats::VariantResult r;
    r.name = arms[v].name;
    r.effect = cmp.effect;
    r.p_value = cmp.p_value;
    r.n = static_cast<std::int64_t>(c.paired ? cmp.j.value("pairs", std::int64_t{0}) : arms[v].values[pi].size());
    if (!cmp.defined) {
      for (const auto& n : cmp.j["notes"])
        blockers.push_back(fmt::format("'{}' on {}: {}", arms[v].name, pm.name, n.get<std::string>()));
    }
    for (const auto& g : c.guards) {
      std::size_t gi = 0;
      while (c.metrics[gi].name != g.metric) ++gi;
      const auto& gm = c.metrics[gi];
      const auto& sc = arms[0].values[gi];
      const auto& sv = arms[v].values[gi];
      json row = {{"variant", arms[v].name}, {"metric", g.metric}, {"limit", g.limit}, {"relative", g.relative}};
      if (sc.empty() || sv.empty()) {
        row["change"] = nullptr;
        row["regressed"] = nullptr;
        blockers.push_back(
            fmt::format("guard '{}' cannot be checked for '{}': an arm has no values", g.metric, arms[v].name));
        guard_rows.push_back(row);
        continue;
      }
      double mc = mean_of(sc), mv = mean_of(sv);
      double change = mv - mc;
      if (g.relative)  // a fraction of the control's mean; any move away from a zero mean is infinite
        change = mc != 0 ? change / std::fabs(mc) : change > 0 ? INFINITY : change < 0 ? -INFINITY : 0.0;
      stats::Guard guard{g.metric, gm.better, std::isfinite(change) ? change : (change > 0 ? 1e300 : -1e300), g.limit};
      double regression = gm.better == stats::Better::higher ? -guard.change : guard.change;
      row["control_mean"] = mc;
      row["variant_mean"] = mv;
      row["change"] = std::isfinite(change) ? json(change) : json(nullptr);
      row["regressed"] = regression > g.limit;
      guard_rows.push_back(row);
      r.guards.push_back(guard);
    }
    results.push_back(std::move(r));
  }
  stats::DecisionPolicy policy;
  policy.alpha = alpha;
  policy.better = pm.better;
  policy.min_sample_size = c.min_sample_size;
  std::int64_t control_n = c.paired ? (all[pi].empty() ? 0 : all[pi][0].j.value("pairs", std::int64_t{0}))
                                    : static_cast<std::int64_t>(arms[0].values[pi].size());
  auto d = stats::decide(policy, c.control.name, control_n, results);
  for (auto& b : blockers) d.reasons.push_back(b);
  if (!blockers.empty() && d.winner) {
    d.reasons.insert(d.reasons.begin(), fmt::format("'{}' would win, but the result cannot be trusted yet", *d.winner));
    d.winner.reset();
  }
  json verdicts = json::array();
  for (const auto& v : d.variants)
    verdicts.push_back({{"name", v.name},
                        {"adjusted_p_value", v.adjusted_p},
                        {"significant", v.significant},
                        {"improved", v.improved},
                        {"regressed_guards", v.regressed_guards}});
  out.winner = d.winner;
  out.decision = {{"outcome", d.winner ? "winner" : "no decision"},
                  {"winner", d.winner ? json(*d.winner) : json(nullptr)},
                  {"primary", pm.name},
                  {"direction", direction_name(pm.better)},
                  {"alpha", alpha},
                  {"min_sample_size", c.min_sample_size},
                  {"reasons", d.reasons},
                  {"variants", verdicts},
                  {"guards", guard_rows}};
  return out;
}

}  // namespace mlops::experiment
