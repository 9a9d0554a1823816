#pragma once
// Prompt A/B experiment configs (`experiment run CONFIG` with `kind: ab`,
// examples/configs/ab-*.yaml). The test keys are an eval suite's (tests,
// defaultTest, options, description: read by eval::load_suite); the rest says
// what is compared and how it is decided:
//
//   kind: ab
//   name: greeting-tone              # the experiment id: assignment hashes "NAME:UNIT"
//   provider: openai:gpt-4o-mini     # default provider of every arm (id or {id, config})
//   control:  {name: control, prompt: greeting@production}
//   variants: [{name: friendly, prompt: greeting@4, provider: …, parameters: {temperature: 0}}]
//   split:    {control: 50, friendly: 50}        # weights; equal when omitted
//   unit: user_id                    # var naming the unit; the test's position when omitted
//   paired: false                    # true: every test through every arm
//   metrics:  [pass_rate, latency_ms, {name: politeness, test: mann-whitney}]
//   primary:  {metric: pass_rate, direction: higher}
//   guards:   [{metric: cost_usd, max_increase: 20%}, {metric: latency_ms, max_increase: 250}]
//   min_sample_size: 100             # per arm
//   confidence: 0.95
//
// Every problem is reported at once with file:line and key; nothing is sent
// before the whole file is valid.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/suite.hpp"
#include "stats/decision.hpp"

namespace mlops::experiment {

namespace fs = std::filesystem;

// Where a metric's per-unit value comes from.
enum class Source {
  pass,        // the test passed (0/1): pass_rate
  score,       // the test's weighted score
  latency_ms,  // the call's latency
  cost_usd,    // the call's cost (units at an unknown price are left out)
  tokens,      // input + output tokens
  tokens_in,
  tokens_out,
  named,  // mean score of the assertions with `metric: NAME`
};

enum class Test {
  automatic,     // z-test / McNemar for pass rates, Welch / paired t for the rest
  welch,         // Welch's t (paired: the paired t-test)
  mann_whitney,  // Mann-Whitney U (not with paired: true)
};

struct MetricSpec {
  std::string name;
  Source source = Source::named;
  stats::Better better = stats::Better::higher;
  Test test = Test::automatic;
  bool binary() const { return source == Source::pass; }
};

struct GuardSpec {
  std::string metric;
  double limit = 0;       // the largest regression tolerated, >= 0
  bool relative = false;  // limit is a fraction of the control's mean ("20%")
};

struct Arm {
  std::string name;
  eval::PromptRef prompt;
  eval::ProviderRef provider;
  double weight = 1;
  std::string origin;  // file:line
};

struct AbConfig {
  fs::path path;
  std::string sha256;
  std::string name;
  std::string description;
  Arm control;
  std::vector<Arm> variants;
  std::string unit_field;  // empty: the test's position
  bool paired = false;
  std::vector<MetricSpec> metrics;  // the primary first, then guards, then the rest
  std::string primary;
  std::vector<GuardSpec> guards;
  std::int64_t min_sample_size = 0;
  double confidence = 0.95;
  std::uint64_t seed = 1;  // of the paired bootstrap
  eval::Suite suite;       // tests, defaultTest and options; no prompts or providers

  // control first, then the variants in order.
  std::vector<const Arm*> arms() const;
  const MetricSpec& metric(const std::string& name) const;
};

// Metric names with a built-in meaning (pass_rate, score, latency_ms, ...);
// any other name is a named assertion metric.
const std::vector<std::string>& builtin_metrics();
// The spec of a metric name with its default direction and test.
MetricSpec metric_for(const std::string& name);

// Reads and checks an A/B config. ConfigError listing every problem with
// file:line otherwise (NotFoundError when the file is missing).
AbConfig load_ab_config(const fs::path& path);

// The `kind:` of a run config (ab, torch, ...), or empty when it has none.
// ConfigError for a file that is not a YAML mapping.
std::string config_kind(const fs::path& path);

}  // namespace mlops::experiment
