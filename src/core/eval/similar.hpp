#pragma once
// The `similar` assertion (promptfoo semantics): cosine similarity between the
// embedding of the output and of the expected value, from a provider's
// embeddings endpoint. threshold defaults to 0.75; a list of values passes when
// the output is similar to one of them; not-similar passes when the similarity
// is at most the threshold. The score is the similarity (1 - similarity when
// negated).
#include <string>
#include <vector>

#include "eval/assertions.hpp"
#include "llm/service.hpp"

namespace mlops::eval {

inline constexpr double k_similar_threshold = 0.75;
// promptfoo's default embedding model, used when nothing else names one.
inline constexpr const char* k_default_embedding_provider = "openai:text-embedding-3-large";

// One similar assertion to grade: the output and the expected values, rendered.
struct SimilarCheck {
  const AssertionSpec* spec = nullptr;
  std::string provider;  // NAME:MODEL of the embedding provider
  std::string output;
  std::vector<std::string> expected;
};

// Grades from the similarities of the output to each expected value, in order
// (promptfoo: the first value that passes decides; otherwise the lowest score).
AssertionResult score_similar(const AssertionSpec& a, const std::vector<double>& similarities);

// Embeds every distinct text once per provider (through the cache, `batch`
// texts per request) and grades each check. A failed embeddings call fails the
// checks that needed it, with the provider's error as the reason.
std::vector<AssertionResult> grade_similar(llm::Client& client, const std::vector<SimilarCheck>& checks,
                                           const llm::CallContext& context, std::size_t batch = 64);

// A check for one output: the assertion's value rendered with the test's vars.
SimilarCheck similar_check(const Evaluator& evaluator, const AssertionSpec& a, const nlohmann::json& vars,
                           const std::string& output, const std::string& configured_provider);

// Registers the graders and embedding providers a suite configures itself
// (suite.aux_providers) as eval-aux-N, over the workspace's settings.
void register_aux_providers(const Suite& suite, llm::Client& client, const config::Config& cfg,
                            const config::EnvLookup& env);

// The embedding provider of an assertion: its own, or the test's / defaultTest's
// options.provider (already in spec.provider), or `configured` (eval.embedding_provider,
// --embedding-provider), or promptfoo's default.
std::string embedding_provider_for(const AssertionSpec& a, const std::string& configured);

}  // namespace mlops::eval
