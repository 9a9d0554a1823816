#include "stats/rank.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "stats/special.hpp"

namespace mlops::stats {

namespace {

// Largest number of coefficients of the exact null distribution we build (8 bytes each).
constexpr double k_max_exact_terms = 5e7;

// Maps doubles to unsigned integers with the same order, -0.0 equal to +0.0.
std::uint64_t order_key(double x) {
  auto bits = std::bit_cast<std::uint64_t>(x + 0.0);
  return (bits >> 63) ? ~bits : bits | (std::uint64_t{1} << 63);
}

// One counting pass on the 18 bits below the prefix every key shares, then
// std::sort inside each bucket. For smooth data the buckets hold a handful of
// keys each, so this is two linear passes where std::sort needs ~20; clustered
// data falls back to std::sort within the crowded buckets.
void sort_keys(std::vector<std::uint64_t>& keys) {
  if (keys.size() < 4096) {
    std::sort(keys.begin(), keys.end());
    return;
  }
  auto [lo_it, hi_it] = std::minmax_element(keys.begin(), keys.end());
  std::uint64_t lo = *lo_it, hi = *hi_it;
  if (lo == hi) return;
  constexpr int k_bits = 18;
  int top = 64 - std::countl_zero(lo ^ hi);  // bits that vary
  int shift = std::max(0, top - k_bits);
  std::uint64_t base = lo >> shift;
  std::vector<std::uint32_t> start((std::size_t{1} << k_bits) + 1, 0);
  for (auto k : keys) ++start[(k >> shift) - base + 1];
  for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  std::vector<std::uint64_t> sorted(keys.size());
  std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
  for (auto k : keys) sorted[next[(k >> shift) - base]++] = k;
  if (shift > 0)
    for (std::size_t b = 0; b + 1 < start.size(); ++b)
      if (start[b + 1] - start[b] > 1) std::sort(sorted.begin() + start[b], sorted.begin() + start[b + 1]);
  keys.swap(sorted);
}

std::vector<std::uint64_t> sorted_keys(std::span<const double> values, const char* what) {
  if (values.empty())
    throw UndefinedError(fmt::format("{} is empty; Mann-Whitney U needs at least one value per variant", what),
                         "collect observations for both variants");
  std::vector<std::uint64_t> keys(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i]))
      throw UsageError(fmt::format("{}: value at position {} is NaN", what, i + 1),
                       "drop or fix missing measurements before the analysis");
    keys[i] = order_key(values[i]);
  }
  sort_keys(keys);
  return keys;
}

struct RankSums {
  double rank_sum_b = 0;
  double tie_term = 0;  // sum of t^3 - t over groups of t equal values
  bool ties = false;
  bool all_equal = false;
};

RankSums rank_sums(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  RankSums r;
  std::size_t i = 0, j = 0, groups = 0;
  double below = 0;  // values ranked so far
  while (i < a.size() || j < b.size()) {
    std::uint64_t v = j == b.size() || (i < a.size() && a[i] < b[j]) ? a[i] : b[j];
    std::size_t ca = 0, cb = 0;
    while (i < a.size() && a[i] == v) ++i, ++ca;
    while (j < b.size() && b[j] == v) ++j, ++cb;
    double t = static_cast<double>(ca + cb);
    r.rank_sum_b += static_cast<double>(cb) * (below + (t + 1) / 2);
    if (t > 1) {
      r.ties = true;
      r.tie_term += t * t * t - t;
    }
    below += t;
    ++groups;
  }
  r.all_equal = groups == 1;
  return r;
}

// P(U <= k) under the null for samples of n1 and n2 values without ties. The
// number of arrangements with U = u is the coefficient of q^u in the Gaussian
// binomial [n1+n2 choose n1]_q = prod_{i=1..m} (1 - q^(M+i)) / (1 - q^i), m and M
// the smaller and larger size; only coefficients up to k are built.
double exact_cdf(std::int64_t k, std::int64_t n1, std::int64_t n2) {
  std::int64_t total_u = n1 * n2;
  if (k < 0) return 0;
  if (k >= total_u) return 1;
  if (2 * k > total_u) return 1 - exact_cdf(total_u - k - 1, n1, n2);
  std::int64_t m = std::min(n1, n2), big = std::max(n1, n2);
  if (static_cast<double>(k) > k_max_exact_terms)
    throw UsageError(
        fmt::format("the exact Mann-Whitney distribution for samples of {} and {} values is too large", n1, n2),
        "use the asymptotic (normal) method for samples this large");
  std::vector<double> c(static_cast<std::size_t>(k) + 1, 0.0);
  c[0] = 1;
  double total = 1;
  for (std::int64_t i = 1; i <= m; ++i) {
    for (std::int64_t u = i; u <= k; ++u) c[u] += c[u - i];
    for (std::int64_t u = k; u >= big + i; --u) c[u] -= c[u - big - i];
    total = total * static_cast<double>(big + i) / static_cast<double>(i);
  }
  double sum = 0;
  for (double v : c) sum += v;
  return sum / total;
}

}  // namespace

MannWhitney mann_whitney_u(std::span<const double> a, std::span<const double> b, Alternative alt,
                           MannWhitneyMethod method, bool continuity) {
  auto ka = sorted_keys(a, "variant A");
  auto kb = sorted_keys(b, "variant B");
  auto sums = rank_sums(ka, kb);
  double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  MannWhitney r;
  r.u_b = sums.rank_sum_b - nb * (nb + 1) / 2;
  double u_a = na * nb - r.u_b;
  r.probability_superiority = r.u_b / (na * nb);

  if (method == MannWhitneyMethod::exact && sums.ties)
    throw UsageError("the exact Mann-Whitney test needs distinct values, and these samples have ties",
                     "use the automatic or asymptotic method, which corrects for ties");
  r.exact = method == MannWhitneyMethod::exact ||
            (method == MannWhitneyMethod::automatic && !sums.ties && (a.size() <= 8 || b.size() <= 8));
  if (r.exact) {
    auto na_i = static_cast<std::int64_t>(a.size()), nb_i = static_cast<std::int64_t>(b.size());
    // P(U_b >= u) = P(U_b <= n_a n_b - u) by symmetry; U values are integers here.
    auto cdf = [&](double u) { return exact_cdf(std::llround(u), na_i, nb_i); };
    switch (alt) {
      case Alternative::greater:
        r.p_value = cdf(u_a);
        break;
      case Alternative::less:
        r.p_value = cdf(r.u_b);
        break;
      case Alternative::two_sided:
        r.p_value = 2 * cdf(std::min(u_a, r.u_b));
        break;
    }
    r.p_value = std::clamp(r.p_value, 0.0, 1.0);
    return r;
  }
  if (sums.all_equal) {
    r.p_value = 1;
    return r;
  }
  double n = na + nb;
  double variance = na * nb / 12 * ((n + 1) - sums.tie_term / (n * (n - 1)));
  double s = std::sqrt(std::max(variance, 0.0));
  double u = alt == Alternative::greater ? r.u_b : alt == Alternative::less ? u_a : std::max(u_a, r.u_b);
  double z = (u - na * nb / 2 - (continuity ? 0.5 : 0.0)) / s;
  r.p_value = std::clamp(normal_sf(z) * (alt == Alternative::two_sided ? 2 : 1), 0.0, 1.0);
  return r;
}

}  // namespace mlops::stats
