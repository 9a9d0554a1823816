#pragma once
// Eval suites: mlopsctl's own config (examples/configs/eval-*.yaml) and the
// subset of promptfoo's promptfooconfig.yaml that runs unchanged. One YAML shape:
//
//   description: …
//   prompts:   [greeting@production, "Inline {{ var }} template", file://p.txt, {id, label, raw}]
//   providers: [openai:gpt-4o-mini, {id: openai:chat:gpt-4o, label: big, config: {temperature: 0}}]
//   tests:     [{vars: {…}, assert: [{type: contains, value: …}], description, threshold}, file://t.csv]
//   defaultTest: {vars: {…}, assert: […], threshold}
//   options:   {concurrency: 8, repeat: 1, cache: true, timeout: 30s, pass_threshold: 1.0}
//
// Everything is checked before any call is made; every unsupported feature found
// is listed in one error naming file, line and key.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/provider.hpp"

namespace YAML {
class Node;
}

namespace mlops::eval {

namespace fs = std::filesystem;

struct AssertionSpec {
  std::string type;  // without the not- prefix
  bool negate = false;
  nlohmann::json value;  // string, list, object or null; strings may be templates over the vars
  std::optional<double> threshold;
  double weight = 1.0;
  std::string metric;  // named metric to aggregate under
  // Grader for llm-rubric / embeddings for similar (NAME:MODEL); filled from the
  // test's or defaultTest's options.provider when the assertion names none.
  std::string provider;
  std::string origin;    // file:line, for errors
};

struct PromptRef {
  std::string label;       // shown in reports: the store ref, the file, or the first line
  std::string store_ref;   // NAME@REF when the prompt comes from the prompt store
  std::string raw;         // inline or file template (text, or a JSON array of chat messages)
  std::string origin;
};

struct ProviderRef {
  std::string id;     // as written in the suite
  std::string label;  // id unless given
  std::string key;    // mlopsctl provider id (NAME:MODEL) the calls use
  std::optional<llm::ProviderSettings> settings;  // when the suite configures it (base URL, key, …)
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  std::optional<double> top_p;
  std::string origin;
};

struct TestCase {
  std::string description;
  nlohmann::json vars = nlohmann::json::object();
  std::vector<AssertionSpec> asserts;
  std::optional<double> threshold;  // pass when the weighted score reaches it
  std::vector<std::string> providers;  // only these provider labels/ids (empty: all)
  nlohmann::json metadata = nlohmann::json::object();
  std::string origin;
  // options.provider (promptfoo): the grader for llm-rubric and the embedding
  // provider for similar, for assertions that name none.
  std::string grader;
  std::string embedder;
};

// Where tests come from, in order: inline tests, or a file read lazily.
struct TestSource {
  std::vector<TestCase> inline_tests;  // when file is empty
  fs::path file;                       // .csv, .jsonl, .json, .yaml
  std::string origin;
};

struct Classification {
  std::string label_var;       // the var holding the true label
  std::string prediction;      // "output" (trimmed) or a JSON path into the output
  std::string score;           // optional JSON path to a probability, for AUC and curves
  std::string positive;        // the positive label for binary metrics and fairness
  std::string group_var;       // optional: fairness metrics per group
};

struct SuiteOptions {
  int concurrency = 8;
  int repeat = 1;
  bool cache = true;
  std::optional<std::string> timeout;
  std::optional<double> pass_threshold;
};

struct Suite {
  fs::path path;
  std::string sha256;
  std::string description;
  std::vector<PromptRef> prompts;
  std::vector<ProviderRef> providers;
  std::vector<TestSource> tests;
  TestCase default_test;
  SuiteOptions options;
  std::optional<Classification> classification;
  // Graders and embedding providers configured in the suite ({id, config: {apiBaseUrl, …}}):
  // registered as eval-aux-N, which is what their assertions' provider holds.
  std::vector<ProviderRef> aux_providers;
};

// Parses and checks a suite. Throws ConfigError listing every problem found
// (unsupported promptfoo features included) with file:line.
Suite load_suite(const fs::path& path);

// Another config kind that shares the suite's test keys (tests, defaultTest,
// options, description), such as an A/B experiment: `claim` is offered every
// top-level key first and returns true when it took it, appending its own
// problems as "file:line: what". All problems are reported together.
struct SuiteHost {
  std::string what = "eval suite";  // names the file in the error
  std::function<bool(const std::string& key, const YAML::Node& value, const std::string& where,
                     std::vector<std::string>& problems)>
      claim;
  bool needs_prompts_and_providers = true;
  // Runs after every key was read, to add cross-key problems.
  std::function<void(Suite& suite, std::vector<std::string>& problems)> check;
};
Suite load_suite(const fs::path& path, const SuiteHost& host);

// One entry of prompts: / providers:, for hosts that place them elsewhere.
// Problems are appended as "where: what".
PromptRef parse_prompt_ref(const nlohmann::json& v, const fs::path& dir, const std::string& where,
                           std::vector<std::string>& problems);
ProviderRef parse_provider_ref(const nlohmann::json& v, const std::string& where, std::vector<std::string>& problems);

// Reads every test of the suite in order, one at a time (flat memory for large
// CSV/JSONL files), with defaultTest merged in. `fn` returns false to stop.
// Throws ConfigError naming the file and line of a malformed row.
void for_each_test(const Suite& suite, const std::function<bool(TestCase&&)>& fn);

// promptfoo provider ids (openai:chat:M, anthropic:messages:M, ollama:chat:M) as
// mlopsctl's NAME:MODEL; other ids unchanged.
std::string normalize_provider_id(const std::string& id);
// Embedding provider ids: openai:embedding:M / openai:embeddings:M as openai:M,
// ollama:embedding(s):M as ollama:M; other ids unchanged.
std::string normalize_embedding_provider_id(const std::string& id);

// Every llm-rubric assertion in the inline tests and defaultTest has a grader:
// its own provider or `default_grader`. UsageError naming the first that has none.
void check_graders(const Suite& suite, const std::string& default_grader);

// Assertion types this build evaluates (without the not- prefix).
const std::vector<std::string>& supported_assertions();

}  // namespace mlops::eval
