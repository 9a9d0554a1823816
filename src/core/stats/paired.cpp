#include "stats/paired.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_map>
#include <utility>
#include <vector>

#include "stats/random.hpp"
#include "stats/special.hpp"

namespace mlops::stats {

namespace {

constexpr int k_min_resamples = 100;
// Distinct pairs up to which the multinomial shortcut is used (and at most n/32
// of them, where drawing n units directly is as cheap).
constexpr std::size_t k_max_groups = 4096;

void check_options(const BootstrapOptions& o) {
  check_confidence(o.confidence);
  if (o.resamples < k_min_resamples)
    throw UsageError(fmt::format("{} bootstrap resamples are too few for a percentile interval", o.resamples),
                     fmt::format("use at least {}; 2000 is the default", k_min_resamples));
}

// numpy.percentile's default ("linear") on sorted values, q in [0, 1].
double percentile(const std::vector<double>& sorted, double q) {
  double h = q * static_cast<double>(sorted.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

Interval percentile_interval(std::vector<double>& values, double confidence) {
  std::sort(values.begin(), values.end());
  double tail = (1 - confidence) / 2;
  return {percentile(values, tail), percentile(values, 1 - tail)};
}

// Multinomial counts of n draws over cells with the given counts (summing to
// n): successive binomials, each conditional on what the earlier cells took.
void multinomial(Rng& rng, std::int64_t n, const std::vector<std::int64_t>& cells, std::vector<std::int64_t>& out) {
  std::int64_t remaining_draws = n, remaining_weight = n;
  for (std::size_t j = 0; j + 1 < cells.size(); ++j) {
    out[j] = remaining_draws == 0
                 ? 0
                 : rng.binomial(remaining_draws, static_cast<double>(cells[j]) / static_cast<double>(remaining_weight));
    remaining_draws -= out[j];
    remaining_weight -= cells[j];
  }
  out.back() = remaining_draws;
}

double ratio_lift(double sum_b, double sum_a) {
  if (sum_a > 0) return sum_b / sum_a - 1;
  return sum_b > 0 ? HUGE_VAL : 0.0;
}

// Resamples by groups of identical units: `values[j]` = (a, b) of group j,
// `counts[j]` how many units it holds.
Bootstrap grouped_bootstrap(const std::vector<std::pair<double, double>>& values, std::vector<std::int64_t> counts,
                            const BootstrapOptions& o) {
  std::int64_t n = 0;
  double sum_a = 0, sum_b = 0;
  for (std::size_t j = 0; j < values.size(); ++j) {
    n += counts[j];
    sum_a += static_cast<double>(counts[j]) * values[j].first;
    sum_b += static_cast<double>(counts[j]) * values[j].second;
  }
  // Largest cells first: fewer binomial draws have large n.
  std::vector<std::size_t> order(values.size());
  for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::sort(order.begin(), order.end(), [&](auto x, auto y) { return counts[x] > counts[y]; });
  std::vector<std::int64_t> cells(order.size()), drawn(order.size());
  for (std::size_t j = 0; j < order.size(); ++j) cells[j] = counts[order[j]];

  Rng rng(o.seed);
  std::vector<double> diffs(static_cast<std::size_t>(o.resamples)), lifts(diffs.size());
  double nn = static_cast<double>(n);
  for (std::size_t r = 0; r < diffs.size(); ++r) {
    multinomial(rng, n, cells, drawn);
    double ra = 0, rb = 0;
    for (std::size_t j = 0; j < order.size(); ++j) {
      ra += static_cast<double>(drawn[j]) * values[order[j]].first;
      rb += static_cast<double>(drawn[j]) * values[order[j]].second;
    }
    diffs[r] = (rb - ra) / nn;
    lifts[r] = ratio_lift(rb, ra);
  }
  Bootstrap r;
  r.resamples = o.resamples;
  r.grouped = true;
  r.difference = {(sum_b - sum_a) / nn, percentile_interval(diffs, o.confidence)};
  if (sum_a > 0) r.lift = Estimate{sum_b / sum_a - 1, percentile_interval(lifts, o.confidence)};
  return r;
}

struct PairHash {
  std::size_t operator()(const std::pair<double, double>& p) const {
    std::uint64_t h = std::bit_cast<std::uint64_t>(p.first) * 0x9e3779b97f4a7c15ULL;
    h ^= std::bit_cast<std::uint64_t>(p.second) + 0x7f4a7c159e3779b9ULL + (h << 6) + (h >> 2);
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

}  // namespace

double PairedTable::rate_a() const {
  return static_cast<double>(both + a_only) / static_cast<double>(n());
}

double PairedTable::rate_b() const {
  return static_cast<double>(both + b_only) / static_cast<double>(n());
}

PairedTable tabulate(std::span<const std::uint8_t> a_pass, std::span<const std::uint8_t> b_pass) {
  if (a_pass.size() != b_pass.size())
    throw UsageError(fmt::format("paired outcomes differ in length ({} and {})", a_pass.size(), b_pass.size()),
                     "give one outcome per unit in each variant, in the same order");
  // Branch-free: count the four cells by index a*2 + b.
  std::int64_t cells[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < a_pass.size(); ++i) ++cells[(a_pass[i] != 0) * 2 + (b_pass[i] != 0)];
  return {cells[3], cells[2], cells[1], cells[0]};
}

McNemar mcnemar(const PairedTable& t, McNemarMethod method) {
  if (t.both < 0 || t.a_only < 0 || t.b_only < 0 || t.neither < 0)
    throw UsageError("a paired table cannot hold negative counts");
  std::int64_t discordant = t.a_only + t.b_only;
  McNemar r;
  r.exact =
      method == McNemarMethod::exact || (method == McNemarMethod::automatic && discordant < k_mcnemar_exact_below);
  if (r.exact) {
    std::int64_t low = std::min(t.a_only, t.b_only);
    r.statistic = static_cast<double>(low);
    r.p_value = std::min(1.0, 2 * binomial_cdf(low, discordant, 0.5));
    return r;
  }
  if (discordant == 0)
    throw UndefinedError(
        "McNemar's chi-square test is undefined: no unit passed under one variant and failed "
        "under the other",
        "use the exact test, which gives p = 1 here");
  double diff = std::fabs(static_cast<double>(t.a_only - t.b_only)) - 1;
  r.statistic = diff * diff / static_cast<double>(discordant);
  r.p_value = chi_square_sf(r.statistic, 1);
  return r;
}

Bootstrap paired_bootstrap(const PairedTable& t, const BootstrapOptions& options) {
  check_options(options);
  if (t.n() <= 0) throw UndefinedError("the paired sample is empty", "collect paired outcomes first");
  std::vector<std::pair<double, double>> values;
  std::vector<std::int64_t> counts;
  auto add = [&](double a, double b, std::int64_t c) {
    if (c > 0) values.emplace_back(a, b), counts.push_back(c);
  };
  add(1, 1, t.both);
  add(1, 0, t.a_only);
  add(0, 1, t.b_only);
  add(0, 0, t.neither);
  return grouped_bootstrap(values, std::move(counts), options);
}

Bootstrap paired_bootstrap(std::span<const double> a, std::span<const double> b, const BootstrapOptions& options) {
  check_options(options);
  if (a.size() != b.size())
    throw UsageError(fmt::format("paired samples differ in length ({} and {})", a.size(), b.size()),
                     "give one value per unit in each variant, in the same order");
  if (a.empty()) throw UndefinedError("the paired sample is empty", "collect paired observations first");
  std::vector<std::pair<double, double>> pairs(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i]))
      throw UsageError(fmt::format("pair {} holds a value that is not a finite number", i + 1),
                       "drop or fix missing and infinite measurements before the analysis");
    pairs[i] = {a[i] + 0.0, b[i] + 0.0};
  }
  if (options.group_equal_pairs) {
    std::size_t cap = std::min(k_max_groups, a.size() / 32);
    std::unordered_map<std::pair<double, double>, std::size_t, PairHash> index;
    std::vector<std::pair<double, double>> values;
    std::vector<std::int64_t> counts;
    bool few = true;
    for (const auto& p : pairs) {
      auto [it, added] = index.try_emplace(p, values.size());
      if (added) {
        if (values.size() == cap) {
          few = false;
          break;
        }
        values.push_back(p);
        counts.push_back(0);
      }
      ++counts[it->second];
    }
    if (few) return grouped_bootstrap(values, std::move(counts), options);
  }

  double sum_a = 0, sum_b = 0;
  for (const auto& p : pairs) sum_a += p.first, sum_b += p.second;
  auto n = static_cast<std::uint64_t>(pairs.size());
  double nn = static_cast<double>(n);
  Rng rng(options.seed);
  std::vector<double> diffs(static_cast<std::size_t>(options.resamples)), lifts(diffs.size());
  // Indices are drawn a block at a time and then gathered: the gathers are
  // independent loads the CPU overlaps, where interleaving them with the
  // generator serialises on memory latency (10^6 pairs are 16 MB).
  constexpr std::uint64_t k_block = 1024;
  std::vector<std::uint64_t> index(k_block);
  for (std::size_t r = 0; r < diffs.size(); ++r) {
    double ra = 0, rb = 0;
    for (std::uint64_t start = 0; start < n; start += k_block) {
      std::uint64_t count = std::min(k_block, n - start);
      for (std::uint64_t j = 0; j < count; ++j) index[j] = rng.below(n);
      for (std::uint64_t j = 0; j < count; ++j) {
        const auto& p = pairs[index[j]];
        ra += p.first;
        rb += p.second;
      }
    }
    diffs[r] = (rb - ra) / nn;
    lifts[r] = ratio_lift(rb, ra);
  }
  Bootstrap r;
  r.resamples = options.resamples;
  r.difference = {(sum_b - sum_a) / nn, percentile_interval(diffs, options.confidence)};
  if (sum_a > 0) r.lift = Estimate{sum_b / sum_a - 1, percentile_interval(lifts, options.confidence)};
  return r;
}

}  // namespace mlops::stats
