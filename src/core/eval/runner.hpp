#pragma once
// Runs a suite: every test × prompt × provider × repeat becomes one call through
// llm::Client (concurrency, retries, cache, budgets, ledger), assertions are
// evaluated as answers land, and results stream to the database a chunk at a
// time, so memory does not grow with the number of tests.
#include <functional>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "eval/results.hpp"
#include "eval/suite.hpp"
#include "llm/service.hpp"
#include "prompt/store.hpp"

namespace mlops::eval {

struct RunOptions {
  std::optional<std::string> name;
  std::string id;  // the run's id; empty: new_run_id()
  int repeat = 1;
  std::string filter;  // ECMAScript regex over a test's description and vars
  std::string grader;  // provider id for llm-rubric when an assertion names none
  std::string embedding_provider;  // for similar when neither the assertion nor options.provider name one
  std::string actor;
  std::string trace_id;
  std::size_t chunk = 512;  // calls in flight per chunk (at least 4 × concurrency)
  // Runs only the tests for which this returns true (an experiment's assignment);
  // test_idx is the test's position in the suite, counted before any filter.
  std::function<bool(const TestCase& test, std::int64_t test_idx)> select;
  // Tags every call's ledger row with this experiment id (eval_id is the run's id).
  std::optional<std::string> experiment_id;
};

struct Progress {
  std::int64_t done = 0, passed = 0, failed = 0, errors = 0;
};

// Registers the providers a suite configures itself (base URL, key, headers) with
// the client, over the workspace's settings for the same provider name.
void register_suite_providers(Suite& suite, llm::Client& client, const config::Config& cfg,
                              const config::EnvLookup& env);

// Runs the suite and returns the finished run (also stored). Config problems in
// tests are thrown before or between chunks; results already written are kept
// and the run is marked interrupted.
RunInfo run_suite(const Suite& suite, const RunOptions& opts, llm::Client& client, Results& results,
                  prompt::PromptStore* prompts, const std::function<void(const Progress&)>& on_progress = {});

// A new run id: UTC time and a random suffix, e.g. 20261121-103800-7f3a.
std::string new_run_id();

}  // namespace mlops::eval
