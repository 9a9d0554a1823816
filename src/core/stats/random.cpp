#include "stats/random.hpp"

#include <cmath>

#include "util/error.hpp"

namespace mlops::stats {

namespace {

std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// log(k!) through lgamma; exact enough for acceptance tests (error ~1e-9 at n = 1e7).
double log_factorial(double k) {
  return std::lgamma(k + 1);
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t Rng::next() {
  std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Multiply-shift maps 64 random bits onto [0, n); rejecting the few low
  // products below 2^64 mod n removes the bias.
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    std::uint64_t threshold = -n % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Rng::binomial(std::int64_t n, double p) {
  if (n < 0 || !(p >= 0 && p <= 1)) throw UsageError("binomial sampler: need n >= 0 and 0 <= p <= 1");
  if (n == 0 || p == 0) return 0;
  if (p == 1) return n;
  if (p > 0.5) return n - binomial(n, 1 - p);
  if (static_cast<double>(n) * p < 10) return binomial_inversion(n, p);
  return binomial_btrs(n, p);
}

std::int64_t Rng::binomial_inversion(std::int64_t n, double p) {
  // Walk the cdf from 0 using f(k+1) = f(k) (n-k)/(k+1) p/q; the mean is below
  // 10, so this takes a handful of steps.
  double q = 1 - p, ratio = p / q;
  double f = std::pow(q, static_cast<double>(n));
  double u = uniform();
  std::int64_t k = 0;
  while (u > f && k < n) {
    u -= f;
    f *= ratio * static_cast<double>(n - k) / static_cast<double>(k + 1);
    ++k;
  }
  return k;
}

std::int64_t Rng::binomial_btrs(std::int64_t n_int, double p) {
  // W. Hörmann, "The generation of binomial random variates", J. Statist.
  // Comput. Simul. 46 (1993): algorithm BTRS, for p <= 1/2 and n p >= 10.
  const double n = static_cast<double>(n_int);
  const double q = 1 - p;
  const double spq = std::sqrt(n * p * q);
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p;
  const double c = n * p + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const double alpha = (2.83 + 5.1 / b) * spq;
  const double log_ratio = std::log(p / q);
  const double m = std::floor((n + 1) * p);
  const double h = log_factorial(m) + log_factorial(n - m);
  for (;;) {
    double u = uniform() - 0.5;
    double v = uniform();
    double us = 0.5 - std::fabs(u);
    double k = std::floor((2 * a / us + b) * u + c);
    if (k < 0 || k > n) continue;
    if (us >= 0.07 && v <= v_r) return static_cast<std::int64_t>(k);
    v = std::log(v * alpha / (a / (us * us) + b));
    if (v <= h - log_factorial(k) - log_factorial(n - k) + (k - m) * log_ratio) return static_cast<std::int64_t>(k);
  }
}

}  // namespace mlops::stats
