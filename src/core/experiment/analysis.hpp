#pragma once
// From per-unit observations to the verdict: per-arm summaries with intervals,
// each variant against the control on every metric (Holm-adjusted across the
// variants), the sample ratio mismatch check and the decision. Pure computation
// on numbers, so the unit tests drive it without a server or a database.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/config.hpp"

namespace mlops::experiment {

// One arm's observations. values[m] holds (test index, value) for metric m of
// AbConfig::metrics, in test order, for the units that have a value (a unit
// whose call failed has none; an unknown price leaves cost_usd out).
struct ArmData {
  std::string name;
  std::int64_t assigned = 0;  // tests assigned to the arm (every test when paired)
  std::int64_t observed = 0;  // of which the call answered
  std::int64_t errors = 0;
  std::vector<std::vector<std::pair<std::int64_t, double>>> values;
};

struct Analysis {
  nlohmann::json metrics = nlohmann::json::array();  // see man/mlopsctl-experiment.1, JSON
  nlohmann::json srm;
  nlohmann::json decision;
  std::optional<std::string> winner;
};

// arms[0] is the control, then the variants in config order. Throws UsageError
// when the arms do not match the config.
Analysis analyze(const AbConfig& config, const std::vector<ArmData>& arms);

}  // namespace mlops::experiment
