// The A/B runner's analysis (experiment::analyze) for 1,000,000 units per arm:
// what `experiment run` computes once every arm's results are read back, on top
// of the statistics that bench/stats_bench.cpp measures alone. Paired: McNemar,
// the grouped paired bootstrap, the paired t-test on latency with its guard.
// Split: the z-test, Newcombe, Welch, the SRM check. See BENCHMARKS.md.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "experiment/analysis.hpp"
#include "stats/random.hpp"

namespace {

using namespace mlops;
using namespace mlops::experiment;

constexpr std::int64_t k_units = 1000000;

AbConfig config(bool paired) {
  AbConfig c;
  c.name = "bench";
  c.control.name = "control";
  Arm v;
  v.name = "variant";
  c.variants.push_back(v);
  c.paired = paired;
  c.primary = "pass_rate";
  c.metrics = {metric_for("pass_rate"), metric_for("latency_ms")};
  c.guards = {{"latency_ms", 0.1, true}};
  c.min_sample_size = 1000;
  return c;
}

// Pass rates 0.80 and ~0.81, log-normal latencies around 400 ms.
std::vector<ArmData> arms(bool paired) {
  stats::Rng rng(2026);
  auto normal = [&] {
    double u = rng.uniform(), w = rng.uniform();
    return std::sqrt(-2 * std::log(1 - u)) * std::cos(2 * M_PI * w);
  };
  std::vector<ArmData> out(2);
  for (int a = 0; a < 2; ++a) {
    out[a].name = a == 0 ? "control" : "variant";
    out[a].values.resize(2);
    out[a].values[0].reserve(k_units);
    out[a].values[1].reserve(k_units);
  }
  for (std::int64_t i = 0; i < k_units; ++i) {
    bool pa = rng.uniform() < 0.80;
    bool pb = rng.uniform() < 0.9 ? pa : rng.uniform() < 0.9;
    double la = 400 * std::exp(0.3 * normal()), lb = la * 1.02 * std::exp(0.05 * normal());
    std::int64_t ta = i, tb = paired ? i : k_units + i;
    out[0].values[0].emplace_back(ta, pa);
    out[0].values[1].emplace_back(ta, la);
    out[1].values[0].emplace_back(tb, pb);
    out[1].values[1].emplace_back(tb, lb);
  }
  for (auto& a : out) a.assigned = a.observed = k_units;
  return out;
}

void BM_AnalyzePaired(benchmark::State& state) {
  auto c = config(true);
  static const auto data = arms(true);
  for (auto _ : state) benchmark::DoNotOptimize(analyze(c, data));
  state.SetItemsProcessed(state.iterations() * k_units);
}
BENCHMARK(BM_AnalyzePaired)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

void BM_AnalyzeSplit(benchmark::State& state) {
  auto c = config(false);
  static const auto data = arms(false);
  for (auto _ : state) benchmark::DoNotOptimize(analyze(c, data));
  state.SetItemsProcessed(state.iterations() * k_units);
}
BENCHMARK(BM_AnalyzeSplit)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
