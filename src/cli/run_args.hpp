#pragma once
// Helpers shared by the run, experiment and model commands.
#include <string>

#include "cli/context.hpp"
#include "runs/runs.hpp"

namespace mlops::cli {

// The workspace's runs, with its object store for artifacts.
runs::Runs runs_of(Context& ctx);
// --run when given, else MLOPS_RUN_ID; UsageError naming both when neither is set.
std::string current_run(Context& ctx, const std::string& flag_value);
// "2026-11-21 06:48" in UTC for tables.
std::string short_time(std::int64_t ms);
// A double as its shortest round-tripping text.
std::string number_text(double v);

}  // namespace mlops::cli
