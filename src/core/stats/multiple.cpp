#include "stats/multiple.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "util/error.hpp"

namespace mlops::stats {

std::vector<double> holm(std::span<const double> p_values) {
  for (std::size_t i = 0; i < p_values.size(); ++i)
    if (!(p_values[i] >= 0 && p_values[i] <= 1))
      throw UsageError(fmt::format("p-value {} (position {}) is not between 0 and 1", p_values[i], i + 1));
  std::vector<std::size_t> order(p_values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto x, auto y) { return p_values[x] < p_values[y]; });
  std::vector<double> adjusted(p_values.size());
  double running = 0, m = static_cast<double>(p_values.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    running = std::max(running, (m - static_cast<double>(rank)) * p_values[order[rank]]);
    adjusted[order[rank]] = std::min(1.0, running);
  }
  return adjusted;
}

}  // namespace mlops::stats
