#pragma once
// A seeded random generator with the same stream on every machine and standard
// library: xoshiro256** (Blackman and Vigna) seeded through splitmix64, with its
// own uniform, bounded-integer and binomial samplers (std::*_distribution differ
// between libraries).
#include <array>
#include <cstdint>

namespace mlops::stats {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  // Uniform on [0, 1) with 53 random bits.
  double uniform();
  // Uniform integer in [0, n), n > 0, without modulo bias (Lemire's method).
  std::uint64_t below(std::uint64_t n);
  // Binomial(n, p): inversion when n·min(p, 1-p) < 10, otherwise Hörmann's
  // transformed rejection with squeeze (BTRS, 1993); exact in distribution.
  std::int64_t binomial(std::int64_t n, double p);

 private:
  std::int64_t binomial_inversion(std::int64_t n, double p);
  std::int64_t binomial_btrs(std::int64_t n, double p);
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace mlops::stats
