#pragma once
// Prompt A/B runs (kind: ab) under `experiment`: entry points that let the
// experiment command group dispatch run/show between A/B and training runs.
#include <optional>
#include <string>

#include "cli/context.hpp"

namespace mlops::cli {

struct AbReportArgs {
  std::string markdown, html;
};

struct AbRunArgs {
  std::string config;
  std::optional<int> jobs;
  bool no_cache = false;
  std::optional<int> max_retries;
  std::string timeout;
  std::string grader;
  std::string promote_env;
  bool fail_on_no_decision = false;
  std::string assignments;
  std::string json_out;
  AbReportArgs reports;
};

// experiment run CONFIG for a kind: ab config; exit code.
int run_ab_experiment(Context& ctx, const AbRunArgs& args);
// True when `ref` names an A/B run (id, id prefix or experiment name).
bool is_ab_run(Context& ctx, const std::string& ref);
// experiment show REF for an A/B run; exit code.
int show_ab_run(Context& ctx, const std::string& ref, const AbReportArgs& reports);

}  // namespace mlops::cli
