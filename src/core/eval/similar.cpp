#include "eval/similar.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include "metrics/text.hpp"
#include "util/error.hpp"

namespace mlops::eval {

namespace {

std::string two(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string threshold_text(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", t);
  return buf;
}

AssertionResult base(const AssertionSpec& a) {
  AssertionResult r;
  r.type = (a.negate ? "not-" : "") + a.type;
  r.weight = a.weight;
  r.metric = a.metric;
  return r;
}

}  // namespace

SimilarCheck similar_check(const Evaluator& evaluator, const AssertionSpec& a, const nlohmann::json& vars,
                           const std::string& output, const std::string& configured_provider) {
  SimilarCheck c;
  c.spec = &a;
  c.provider = normalize_embedding_provider_id(embedding_provider_for(a, configured_provider));
  c.output = output;
  nlohmann::json v;
  try {
    v = evaluator.value_for(a, vars);
  } catch (const Error&) {
    v = a.value;  // a broken template compares as written
  }
  if (v.is_string())
    c.expected.push_back(v.get<std::string>());
  else
    for (const auto& x : v) c.expected.push_back(x.is_string() ? x.get<std::string>() : x.dump());
  return c;
}

void register_aux_providers(const Suite& suite, llm::Client& client, const config::Config& cfg,
                            const config::EnvLookup& env) {
  for (std::size_t i = 0; i < suite.aux_providers.size(); ++i) {
    const auto& p = suite.aux_providers[i];
    auto [name, model] = llm::split_provider_id(p.key);
    llm::ProviderSettings s = llm::provider_settings(name, cfg, env);
    const auto& o = *p.settings;
    if (!o.base_url.empty()) s.base_url = o.base_url;
    while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
    if (!o.api_key_value.empty()) s.api_key_value = o.api_key_value;
    if (!o.api_key_env.empty()) s.api_key_env = o.api_key_env;
    for (const auto& h : o.headers) s.headers.push_back(h);
    client.register_provider("eval-aux-" + std::to_string(i), std::move(s));
  }
}

std::string embedding_provider_for(const AssertionSpec& a, const std::string& configured) {
  if (!a.provider.empty()) return a.provider;
  if (!configured.empty()) return configured;
  return k_default_embedding_provider;
}

AssertionResult score_similar(const AssertionSpec& a, const std::vector<double>& similarities) {
  AssertionResult r = base(a);
  double t = a.threshold.value_or(k_similar_threshold);
  double lowest = std::numeric_limits<double>::infinity();
  for (double sim : similarities) {
    // promptfoo compares with a margin of machine epsilon.
    bool pass = a.negate ? sim <= t + std::numeric_limits<double>::epsilon()
                         : sim >= t - std::numeric_limits<double>::epsilon();
    double score = a.negate ? 1 - sim : sim;
    std::string greater = "Similarity " + two(sim) + " is greater than threshold " + threshold_text(t);
    std::string less = "Similarity " + two(sim) + " is less than threshold " + threshold_text(t);
    if (pass || similarities.size() == 1) {
      r.pass = pass;
      r.score = std::clamp(score, 0.0, 1.0);
      r.reason = pass != a.negate ? greater : less;
      return r;
    }
    lowest = std::min(lowest, score);
  }
  r.pass = false;
  r.score = similarities.empty() ? 0 : std::clamp(lowest, 0.0, 1.0);
  r.reason = "None of the provided values met the similarity threshold";
  return r;
}

std::vector<AssertionResult> grade_similar(llm::Client& client, const std::vector<SimilarCheck>& checks,
                                           const llm::CallContext& context, std::size_t batch) {
  // Distinct texts per provider, then one job per `batch` of them.
  std::map<std::string, std::map<std::string, std::size_t>> slot;  // provider → text → position
  std::map<std::string, std::vector<const std::string*>> texts;    // provider → texts in slot order
  for (const auto& c : checks) {
    auto& s = slot[c.provider];
    auto add = [&](const std::string& t) {
      if (s.emplace(t, s.size()).second) texts[c.provider].push_back(&t);
    };
    add(c.output);
    for (const auto& e : c.expected) add(e);
  }
  std::vector<llm::EmbedJob> jobs;
  std::map<std::string, std::size_t> first_job;  // provider → index of its first job
  for (const auto& [provider, list] : texts) {
    first_job[provider] = jobs.size();
    for (std::size_t i = 0; i < list.size(); i += std::max<std::size_t>(1, batch)) {
      llm::EmbedJob j;
      j.provider_id = provider;
      j.context = context;
      for (std::size_t k = i; k < std::min(list.size(), i + std::max<std::size_t>(1, batch)); ++k)
        j.inputs.push_back(*list[k]);
      jobs.push_back(std::move(j));
    }
  }
  auto got = client.embed_many(jobs);
  std::size_t per = std::max<std::size_t>(1, batch);
  auto lookup = [&](const std::string& provider, const std::string& text,
                    std::string& error) -> const std::vector<double>* {
    std::size_t pos = slot[provider][text];
    const auto& res = got[first_job[provider] + pos / per];
    if (!res.ok()) {
      error = res.error_message;
      return nullptr;
    }
    return &res.embeddings[pos % per];
  };

  std::vector<AssertionResult> out;
  out.reserve(checks.size());
  for (const auto& c : checks) {
    std::string error;
    const auto* o = lookup(c.provider, c.output, error);
    std::vector<double> sims;
    for (const auto& e : c.expected) {
      if (!o) break;
      const auto* v = lookup(c.provider, e, error);
      if (!v) break;
      try {
        sims.push_back(metrics::cosine(*o, *v));
      } catch (const Error& ex) {
        error = ex.what();
        break;
      }
    }
    if (!error.empty()) {
      AssertionResult r = base(*c.spec);
      r.reason = "embeddings from " + c.provider + " failed: " + error;
      out.push_back(std::move(r));
      continue;
    }
    out.push_back(score_similar(*c.spec, sims));
    if (!out.back().pass && !c.spec->negate && c.expected.size() == 1 && c.expected.front().size() <= 4096)
      out.back().expected = c.expected.front();
  }
  return out;
}

}  // namespace mlops::eval
