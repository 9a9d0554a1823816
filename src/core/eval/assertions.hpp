#pragma once
// Evaluates one assertion against one output. Deterministic types are decided
// here; llm-rubric is graded by a provider call that the runner makes, then
// scored by grade_from_rubric().
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/suite.hpp"
#include "metrics/schema.hpp"

namespace mlops::eval {

struct Output {
  std::string text;
  double latency_ms = 0;
  std::optional<double> cost_usd;  // nullopt = unknown price
  bool cache_hit = false;
};

struct AssertionResult {
  std::string type;  // as written, with not- when negated
  bool pass = false;
  double score = 0;
  double weight = 1;
  std::string metric;
  std::string reason;  // why it failed (or passed, for scored types)
  // The text the output was compared with, when a failed comparison has one
  // (equals, levenshtein, similar), for reports that show a diff; at most 4 KiB.
  std::string expected{};
};

class Evaluator {
 public:
  // Renders an assertion's string value(s) with the test's vars when they hold {{ }}.
  nlohmann::json value_for(const AssertionSpec& a, const nlohmann::json& vars) const;
  // Every type except llm-rubric.
  AssertionResult evaluate(const AssertionSpec& a, const Output& out, const nlohmann::json& vars);

 private:
  const std::regex& regex_for(const std::string& pattern);
  const metrics::JsonSchema& schema_for(const nlohmann::json& schema);
  std::map<std::string, std::unique_ptr<std::regex>> regexes_;            // compiled once per pattern
  std::map<std::string, std::unique_ptr<metrics::JsonSchema>> schemas_;  // compiled once per schema
};

// The grader prompt for llm-rubric (promptfoo's shape: the grader answers
// {"reason": …, "pass": …, "score": …}).
std::string rubric_system_prompt();
std::string rubric_user_prompt(const std::string& rubric, const std::string& output);
// Scores a grader's answer; a malformed answer fails the assertion with the reason.
AssertionResult grade_from_rubric(const AssertionSpec& a, const std::string& grader_answer);


// Combines assertion results into the test's score and verdict: weighted mean of
// scores (weight 0 assertions are informational); pass = all weighted assertions
// pass, or score ≥ threshold when the test sets one.
struct Verdict {
  bool pass = true;
  double score = 1;
};
Verdict combine(const std::vector<AssertionResult>& results, const std::optional<double>& threshold);

}  // namespace mlops::eval
