#include "stats/assignment.hpp"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "util/error.hpp"
#include "util/hash.hpp"

namespace mlops::stats {

double assignment_bucket(std::string_view experiment_id, std::string_view unit_id) {
  util::Sha256 h;
  h.update(experiment_id);
  h.update(":");
  h.update(unit_id);
  std::uint64_t top = std::stoull(h.hex().substr(0, 16), nullptr, 16);
  return static_cast<double>(top >> 11) * 0x1.0p-53;
}

Assignment::Assignment(std::string experiment_id, std::vector<Arm> split)
    : experiment_id_(std::move(experiment_id)), arms_(std::move(split)) {
  if (experiment_id_.empty())
    throw UsageError("an experiment needs an id to assign units", "give the experiment a name such as 'greeting-v2'");
  if (arms_.size() < 2)
    throw UsageError(fmt::format("a split needs at least two variants, got {}", arms_.size()),
                     "list the control and at least one treatment");
  std::set<std::string> names;
  double total = 0;
  for (const auto& arm : arms_) {
    if (!names.insert(arm.name).second)
      throw UsageError(fmt::format("variant '{}' appears twice in the split", arm.name), "give each variant one entry");
    if (!(arm.weight > 0 && std::isfinite(arm.weight)))
      throw UsageError(fmt::format("variant '{}' has split weight {}; weights must be positive", arm.name, arm.weight),
                       "use weights such as 50/50 or 0.9/0.1; drop a variant rather than giving it 0");
    total += arm.weight;
  }
  double running = 0;
  for (const auto& arm : arms_) {
    running += arm.weight;
    upper_.push_back(running / total);
  }
  upper_.back() = 1;
}

std::size_t Assignment::index_of(std::string_view unit_id) const {
  double bucket = assignment_bucket(experiment_id_, unit_id);
  std::size_t i = 0;
  while (bucket >= upper_[i]) ++i;
  return i;
}

}  // namespace mlops::stats
