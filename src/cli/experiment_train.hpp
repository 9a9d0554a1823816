#pragma once
// Training runs (kind: torch) under `experiment run`, which dispatches on the
// config's kind between these and prompt A/B runs (experiment_ab.hpp).
#include <string>

#include "cli/context.hpp"

namespace mlops::cli {

struct TrainRunArgs {
  std::string config;
  std::string out;         // run directory (default .mlops/train/<timestamp>)
  bool resume = false;     // continue the interrupted run in `out`
  std::string experiment;  // tracked-run experiment (default: the config's name)
};

// experiment run CONFIG for a kind: torch config; exit code.
int run_train(Context& ctx, const TrainRunArgs& args);

}  // namespace mlops::cli
