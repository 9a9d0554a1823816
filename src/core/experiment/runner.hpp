#pragma once
// Runs an A/B experiment: assigns every test (unit) to an arm, or to every arm
// when paired, runs each arm as an eval run over its tests through llm::Client
// (cache, retries, concurrency, budgets, cost ledger rows tagged with the
// experiment run id), then analyses the results and stores the verdict.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "eval/runner.hpp"
#include "experiment/analysis.hpp"
#include "experiment/config.hpp"
#include "experiment/runs.hpp"
#include "llm/service.hpp"
#include "prompt/store.hpp"
#include "store/db.hpp"

namespace mlops::experiment {

// Where one test went. arm is -1 when paired (every arm).
struct Placement {
  std::int64_t test = 0;
  std::string unit;
  int arm = -1;
};

// Reads every test once (a malformed row fails here, before any call) and
// places it: stats::Assignment over "NAME:UNIT" with the split's weights, or
// every arm when paired. ConfigError naming the test when its unit var is missing.
std::vector<Placement> assign(const AbConfig& config);

// The placements as JSON: [{test, unit, arm}], arm "*" when paired.
nlohmann::json assignments_json(const AbConfig& config, const std::vector<Placement>& plan);

struct AbRunOptions {
  std::string actor;
  std::string trace_id;
  std::string grader;  // provider for llm-rubric assertions that name none
  std::size_t chunk = 512;
  // Called as each arm's chunks finish: the arm's position and its progress.
  std::function<void(std::size_t arm, const eval::Progress&)> on_progress;
};

// Runs the experiment and returns the finished run (also stored). Store prompt
// refs are resolved once, before any call, and pinned to their version for the
// whole run. A failure mid-way leaves the run marked failed (or interrupted when
// the process dies), with the finished calls in the cache for the next run.
AbRun run_ab(AbConfig& config, const std::vector<Placement>& plan, const AbRunOptions& opts, llm::Client& client,
             const config::Config& cfg, const config::EnvLookup& env, store::Db& db, prompt::PromptStore* prompts);

// Moves label `env` of the winner's prompt to the version the run used, through
// the prompt store's governance (a protected environment takes only approved
// versions). UsageError when the run has no winner or the winner's prompt is
// not from the prompt store.
prompt::Event promote_winner(const AbRun& run, const std::string& env, prompt::PromptStore& store,
                             const std::vector<std::string>& protected_envs, const store::Author& author,
                             const std::string& trace_id);

}  // namespace mlops::experiment
