// Statistics and decision for one paired experiment of 1,000,000 units (see
// BENCHMARKS.md, bench/run-stats). Each unit has a pass/fail outcome under A and
// under B (the primary metric) and a latency under each (a guard). The peer,
// numpy/scipy/statsmodels doing the same computations, is timed by
// tests/golden/make_stats_golden.py --bench.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "stats/continuous.hpp"
#include "stats/decision.hpp"
#include "stats/multiple.hpp"
#include "stats/paired.hpp"
#include "stats/proportions.hpp"
#include "stats/random.hpp"
#include "stats/rank.hpp"
#include "stats/srm.hpp"

namespace {

using namespace mlops::stats;

constexpr std::size_t k_units = 1000000;
constexpr int k_resamples = 2000;

struct Experiment {
  std::vector<std::uint8_t> a_pass, b_pass;
  std::vector<double> a_latency, b_latency;
};

// Pass rates 0.80 and ~0.81 (B agrees with A on 90% of units), latencies
// log-normal around 400 ms with B 2% slower.
const Experiment& experiment() {
  static const Experiment e = [] {
    Experiment x;
    Rng rng(2026);
    auto normal = [&] {
      double u = rng.uniform(), v = rng.uniform();
      return std::sqrt(-2 * std::log1p(-u)) * std::cos(2 * std::numbers::pi * v);
    };
    for (std::size_t i = 0; i < k_units; ++i) {
      bool a = rng.uniform() < 0.80;
      x.a_pass.push_back(a);
      x.b_pass.push_back(rng.uniform() < 0.9 ? a : rng.uniform() < 0.83);
      x.a_latency.push_back(std::exp(6.0 + 0.5 * normal()));
      x.b_latency.push_back(std::exp(6.02 + 0.5 * normal()));
    }
    return x;
  }();
  return e;
}

struct Primary {
  double effect = 0, p_value = 1;
  std::int64_t n = 0;
};

Primary pass_rates(const Experiment& e) {
  auto table = tabulate(e.a_pass, e.b_pass);
  Proportion a{table.both + table.a_only, table.n()}, b{table.both + table.b_only, table.n()};
  benchmark::DoNotOptimize(two_proportion_ztest(a, b));
  benchmark::DoNotOptimize(wilson_interval(a));
  benchmark::DoNotOptimize(wilson_interval(b));
  benchmark::DoNotOptimize(newcombe_interval(a, b));
  benchmark::DoNotOptimize(cohens_h(a, b));
  benchmark::DoNotOptimize(relative_lift(a, b));
  auto test = mcnemar(table);
  auto boot = paired_bootstrap(table, {.resamples = k_resamples});
  benchmark::DoNotOptimize(boot);
  std::vector<std::int64_t> units = {table.n(), table.n()};
  std::vector<double> split = {1, 1};
  benchmark::DoNotOptimize(sample_ratio_mismatch(units, split));
  return {boot.difference.value, test.p_value, table.n()};
}

struct GuardResult {
  double relative_change = 0, p_value = 1;
};

GuardResult latency(const Experiment& e) {
  auto a = summarize(e.a_latency), b = summarize(e.b_latency);
  auto welch = welch_ttest(a, b);
  benchmark::DoNotOptimize(cohens_d(a, b));
  auto lift = relative_lift(a, b);
  benchmark::DoNotOptimize(mann_whitney_u(e.a_latency, e.b_latency));
  benchmark::DoNotOptimize(paired_ttest(e.a_latency, e.b_latency));
  return {lift.value, welch.p_value};
}

Decision decision(const Primary& p, const GuardResult& g) {
  std::vector<double> family = {p.p_value, g.p_value};
  benchmark::DoNotOptimize(holm(family));
  DecisionPolicy policy{.alpha = 0.05, .better = Better::higher, .min_sample_size = 2626};
  return decide(policy, "control", p.n,
                {{"treatment", p.effect, p.p_value, p.n, {{"latency", Better::lower, g.relative_change, 0.05}}}});
}

void BM_PassRates(benchmark::State& state) {
  const auto& e = experiment();
  for (auto _ : state) benchmark::DoNotOptimize(pass_rates(e));
}

void BM_LatencyGuard(benchmark::State& state) {
  const auto& e = experiment();
  for (auto _ : state) benchmark::DoNotOptimize(latency(e));
}

// The target: everything above plus the decision, ≤ 200 ms.
void BM_StatisticsAndDecision(benchmark::State& state) {
  const auto& e = experiment();
  for (auto _ : state) benchmark::DoNotOptimize(decision(pass_rates(e), latency(e)));
}

// Not part of the target: a bootstrap of a continuous paired metric resamples
// all 10^6 units per resample; the cost grows with resamples × units.
void BM_LatencyPairedBootstrap(benchmark::State& state) {
  const auto& e = experiment();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        paired_bootstrap(e.a_latency, e.b_latency, {.resamples = static_cast<int>(state.range(0))}));
}

BENCHMARK(BM_PassRates)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LatencyGuard)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StatisticsAndDecision)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LatencyPairedBootstrap)->Arg(100)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
