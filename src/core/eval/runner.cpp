#include "eval/runner.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <memory>
#include <regex>

#include "eval/assertions.hpp"
#include "eval/similar.hpp"
#include "metrics/classification.hpp"
#include "metrics/fairness.hpp"
#include "metrics/json.hpp"
#include "metrics/ranking.hpp"
#include "template/template.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::eval {

using nlohmann::json;

std::string new_run_id() {
  std::time_t t = static_cast<std::time_t>(util::now_ns() / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return std::string(buf) + "-" + util::random_hex(2);
}

void register_suite_providers(Suite& suite, llm::Client& client, const config::Config& cfg,
                              const config::EnvLookup& env) {
  for (std::size_t i = 0; i < suite.providers.size(); ++i) {
    auto& p = suite.providers[i];
    auto [name, model] = llm::split_provider_id(p.key);
    llm::ProviderSettings s = llm::provider_settings(name, cfg, env);  // an unknown name fails here
    if (!p.settings) continue;
    const auto& o = *p.settings;
    if (!o.base_url.empty()) s.base_url = o.base_url;
    while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
    if (!o.api_key_value.empty()) s.api_key_value = o.api_key_value;
    if (!o.api_key_env.empty()) s.api_key_env = o.api_key_env;
    for (const auto& h : o.headers) s.headers.push_back(h);
    std::string key = "eval-provider-" + std::to_string(i);
    client.register_provider(key, std::move(s));
    p.key = key + ":" + model;
  }
  register_aux_providers(suite, client, cfg, env);
}

namespace {

struct ResolvedPrompt {
  const PromptRef* ref = nullptr;
  std::optional<prompt::Spec> spec;  // from the store
  std::string name;
  int version = 0;
  std::optional<tmpl::Template> text;                                 // inline text template
  std::vector<std::pair<std::string, tmpl::Template>> chat;           // inline chat messages
};

struct Case {
  std::shared_ptr<const TestCase> test;
  std::int64_t test_idx = 0;
  int repeat = 0;
  std::size_t prompt = 0, provider = 0;
};

struct Variant {
  std::int64_t total = 0, passed = 0, errors = 0;
  double score = 0, latency = 0, cost = 0;
  std::int64_t unknown_cost = 0, tokens_in = 0, tokens_out = 0;
};

std::string rubric_text(const Evaluator& ev, const AssertionSpec& a, const json& vars) {
  try {
    json v = ev.value_for(a, vars);
    return v.is_string() ? v.get<std::string>() : v.dump();
  } catch (const Error&) {
    return a.value.is_string() ? a.value.get<std::string>() : a.value.dump();
  }
}

std::string text_of_var(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The predicted label: the trimmed output, or a field of the JSON in it ("output.label" or "/label").
std::optional<std::string> prediction(const std::string& output, const std::string& path) {
  if (path.empty() || path == "output") return util::trim(output);
  std::string p = path.rfind("output.", 0) == 0 ? path.substr(7) : path;
  for (const auto& j : metrics::extract_json_values(output)) {
    const json* cur = &j;
    if (p[0] == '/') {
      json::json_pointer ptr(p);
      if (!j.contains(ptr)) continue;
      cur = &j.at(ptr);
    } else {
      bool ok = true;
      for (const auto& part : util::split(p, '.')) {
        if (!cur->is_object() || !cur->contains(part)) {
          ok = false;
          break;
        }
        cur = &(*cur)[part];
      }
      if (!ok) continue;
    }
    return text_of_var(*cur);
  }
  return std::nullopt;
}

std::optional<double> score_of(const std::string& output, const std::string& path) {
  auto v = prediction(output, path);
  if (!v) return std::nullopt;
  try {
    std::size_t used = 0;
    double d = std::stod(*v, &used);
    if (used == v->size()) return d;
  } catch (...) {
  }
  return std::nullopt;
}

json classification_summary(const Classification& c, const std::vector<std::string>& truth,
                            const std::vector<std::string>& predicted, const std::vector<std::string>& groups,
                            const std::vector<double>& scores, const std::vector<bool>& positive) {
  json out;
  try {
    auto r = metrics::classification_report(truth, predicted);
    json classes = json::array();
    for (const auto& k : r.classes)
      classes.push_back(
          {{"label", k.label}, {"precision", k.precision}, {"recall", k.recall}, {"f1", k.f1}, {"support", k.support}});
    auto avg = [](const metrics::AveragedScores& a) {
      return json{{"precision", a.precision}, {"recall", a.recall}, {"f1", a.f1}};
    };
    out = {{"samples", r.samples},     {"accuracy", r.accuracy},     {"labels", r.labels},
           {"classes", classes},       {"macro", avg(r.macro)},      {"micro", avg(r.micro)},
           {"weighted", avg(r.weighted)}, {"confusion_matrix", r.confusion}};
  } catch (const Error& e) {
    out["error"] = e.what();
  }
  if (!scores.empty()) {
    try {
      out["roc_auc"] = metrics::roc_auc(positive, scores);
      out["average_precision"] = metrics::average_precision(positive, scores);
    } catch (const Error& e) {
      out["roc_auc_error"] = e.what();
    }
  }
  if (!c.group_var.empty() && !c.positive.empty() && groups.size() == truth.size()) {
    try {
      auto f = metrics::fairness_report(groups, truth, predicted, c.positive);
      json gs = json::array();
      for (const auto& g : f.groups)
        gs.push_back({{"group", g.group},
                      {"samples", g.samples},
                      {"selection_rate", g.selection_rate},
                      {"true_positive_rate", g.true_positive_rate},
                      {"false_positive_rate", g.false_positive_rate}});
      out["fairness"] = {{"groups", gs},
                         {"demographic_parity_difference", f.demographic_parity_difference},
                         {"demographic_parity_ratio", f.demographic_parity_ratio ? json(*f.demographic_parity_ratio) : json(nullptr)},
                         {"disparate_impact", f.demographic_parity_ratio ? json(*f.demographic_parity_ratio) : json(nullptr)},
                         {"equal_opportunity_difference", f.equal_opportunity_difference},
                         {"equalized_odds_difference", f.equalized_odds_difference},
                         {"passes_four_fifths", f.passes_four_fifths}};
    } catch (const Error& e) {
      out["fairness_error"] = e.what();
    }
  }
  return out;
}

bool provider_selected(const TestCase& t, const ProviderRef& p) {
  if (t.providers.empty()) return true;
  for (const auto& want : t.providers) {
    if (want == p.label || want == p.id) return true;
    if (!want.empty() && want.back() == '*' && p.id.rfind(want.substr(0, want.size() - 1), 0) == 0) return true;
    if (want.find(':') == std::string::npos && p.id.rfind(want + ":", 0) == 0) return true;
  }
  return false;
}

std::vector<llm::Message> render_prompt(const ResolvedPrompt& rp, const json& vars) {
  std::vector<llm::Message> out;
  if (rp.spec) {
    json r = prompt::render(*rp.spec, vars);
    if (r.is_string()) out.push_back({"user", r.get<std::string>()});
    else
      for (const auto& m : r) out.push_back({m["role"], m["content"]});
    return out;
  }
  if (rp.text) {
    out.push_back({"user", rp.text->render(vars)});
    return out;
  }
  for (const auto& [role, t] : rp.chat) out.push_back({role, t.render(vars)});
  return out;
}

}  // namespace

RunInfo run_suite(const Suite& suite, const RunOptions& opts, llm::Client& client, Results& results,
                  prompt::PromptStore* prompts, const std::function<void(const Progress&)>& on_progress) {
  // Resolve every prompt before any call: a missing ref or a template error stops here.
  std::vector<ResolvedPrompt> rps;
  for (const auto& p : suite.prompts) {
    ResolvedPrompt rp;
    rp.ref = &p;
    try {
      if (!p.store_ref.empty()) {
        if (!prompts) throw UsageError("prompt " + p.store_ref + " needs a workspace with a prompt store");
        auto v = prompts->resolve_ref(p.store_ref);
        rp.spec = prompts->spec(v);
        rp.name = v.name;
        rp.version = v.version;
      } else {
        json chat = json::parse(p.raw, nullptr, false);
        if (chat.is_array() && !chat.empty() && chat[0].is_object() && chat[0].contains("role")) {
          for (const auto& m : chat)
            rp.chat.emplace_back(m.value("role", "user"), tmpl::Template::parse(m.value("content", "")));
        } else {
          rp.text = tmpl::Template::parse(p.raw);
        }
      }
    } catch (const tmpl::TemplateError& e) {
      throw ConfigError(p.origin + ": prompt template error at " + e.what());
    }
    rps.push_back(std::move(rp));
  }
  // llm-rubric needs a grader; say so before sending anything.
  std::optional<std::regex> filter;
  if (!opts.filter.empty()) {
    try {
      filter.emplace(opts.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw UsageError("invalid --filter '" + opts.filter + "': " + e.what());
    }
  }

  RunInfo run;
  run.id = opts.id.empty() ? new_run_id() : opts.id;
  run.name = opts.name;
  run.description = suite.description;
  run.config_path = fs::absolute(suite.path).lexically_normal().string();
  run.config_sha256 = suite.sha256;
  run.started_ms = util::now_ns() / 1'000'000;
  run.status = "running";
  run.actor = opts.actor;
  run.trace_id = opts.trace_id;
  results.create(run);

  Evaluator evaluator;
  std::map<std::string, Variant> variants;
  std::map<std::string, std::pair<double, std::int64_t>> metrics;  // name → (score sum, count)
  Progress progress;
  std::vector<double> latencies;
  std::int64_t idx = 0, test_idx = 0, cache_hits = 0;
  std::vector<Case> pending;
  // Classification: true label, prediction, score and group of each answered case.
  std::vector<std::string> truth, predicted, groups;
  std::vector<double> scores;
  std::vector<bool> score_positive;
  const auto* cls = suite.classification ? &*suite.classification : nullptr;

  auto flush = [&] {
    if (pending.empty()) return;
    std::vector<llm::CallJob> jobs;
    std::vector<std::optional<std::string>> render_errors(pending.size());
    std::vector<std::size_t> job_of(pending.size(), SIZE_MAX);
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const Case& c = pending[k];
      const ProviderRef& pv = suite.providers[c.provider];
      const ResolvedPrompt& rp = rps[c.prompt];
      llm::CallJob j;
      j.provider_id = pv.key;
      try {
        j.request.messages = render_prompt(rp, c.test->vars);
      } catch (const Error& e) {
        render_errors[k] = std::string("prompt: ") + e.what();
        continue;
      }
      j.request.temperature = pv.temperature;
      j.request.max_tokens = pv.max_tokens;
      j.request.top_p = pv.top_p;
      if (c.repeat > 0) j.request.cache_tag = "repeat " + std::to_string(c.repeat);  // repeats are fresh samples
      if (rp.spec) {
        const auto& m = rp.spec->model;
        if (!j.request.temperature && m.contains("temperature") && m["temperature"].is_number())
          j.request.temperature = m["temperature"].get<double>();
        if (!j.request.max_tokens && m.contains("max_tokens") && m["max_tokens"].is_number_integer())
          j.request.max_tokens = m["max_tokens"].get<int>();
        j.context.prompt = rp.name;
        j.context.prompt_version = rp.version;
      }
      j.context.eval_id = run.id;
      j.context.experiment_id = opts.experiment_id;
      job_of[k] = jobs.size();
      jobs.push_back(std::move(j));
    }
    auto answers = client.call_many(jobs);

    // Grade llm-rubric assertions in a second round of calls.
    struct Pending {
      std::size_t case_idx, assertion;
    };
    std::vector<llm::CallJob> grader_jobs;
    std::vector<Pending> grader_of;
    std::vector<std::vector<AssertionResult>> asserts(pending.size());
    std::vector<SimilarCheck> similar_checks;
    std::vector<Pending> similar_of;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (job_of[k] == SIZE_MAX || !answers[job_of[k]].ok()) continue;
      const auto& ans = answers[job_of[k]];
      Output out{ans.response.text, ans.latency_ms, ans.cost_usd, ans.cache_hit};
      const TestCase& t = *pending[k].test;
      asserts[k].resize(t.asserts.size());
      for (std::size_t a = 0; a < t.asserts.size(); ++a) {
        const auto& spec = t.asserts[a];
        if (spec.type == "similar") {
          similar_checks.push_back(similar_check(evaluator, spec, t.vars, ans.response.text, opts.embedding_provider));
          similar_of.push_back({k, a});
          continue;
        }
        if (spec.type == "llm-rubric") {
          std::string grader = spec.provider.empty() ? opts.grader : normalize_provider_id(spec.provider);
          if (grader.empty()) {
            asserts[k][a] = {spec.type, false, 0, spec.weight, spec.metric,
                             "no grader: give the assertion a provider:, pass --grader, or set eval.grader"};
            continue;
          }
          llm::CallJob g;
          g.provider_id = grader;
          g.request.messages = {{"system", rubric_system_prompt()},
                                {"user", rubric_user_prompt(rubric_text(evaluator, spec, t.vars), ans.response.text)}};
          g.request.temperature = 0.0;
          g.context.eval_id = run.id;
          g.context.experiment_id = opts.experiment_id;
          grader_jobs.push_back(std::move(g));
          grader_of.push_back({k, a});
          continue;
        }
        asserts[k][a] = evaluator.evaluate(spec, out, t.vars);
      }
    }
    if (!grader_jobs.empty()) {
      auto graded = client.call_many(grader_jobs);
      for (std::size_t g = 0; g < graded.size(); ++g) {
        const auto& spec = pending[grader_of[g].case_idx].test->asserts[grader_of[g].assertion];
        AssertionResult& r = asserts[grader_of[g].case_idx][grader_of[g].assertion];
        if (graded[g].ok()) {
          r = grade_from_rubric(spec, graded[g].response.text);
        } else {
          r.type = (spec.negate ? "not-" : "") + spec.type;
          r.weight = spec.weight;
          r.metric = spec.metric;
          r.reason = "grader failed: " + graded[g].error_message;
        }
      }
    }

    if (!similar_checks.empty()) {
      llm::CallContext ctx;
      ctx.eval_id = run.id;
      auto graded = grade_similar(client, similar_checks, ctx);
      for (std::size_t g = 0; g < graded.size(); ++g)
        asserts[similar_of[g].case_idx][similar_of[g].assertion] = std::move(graded[g]);
    }

    std::vector<ResultRow> rows;
    rows.reserve(pending.size());
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const Case& c = pending[k];
      const TestCase& t = *c.test;
      ResultRow row;
      row.idx = idx++;
      row.test_idx = c.test_idx;
      row.repeat_idx = c.repeat;
      row.prompt = suite.prompts[c.prompt].label;
      row.provider = suite.providers[c.provider].label;
      row.description = t.description;
      row.vars = t.vars;
      if (render_errors[k]) {
        row.error = render_errors[k];
      } else {
        const auto& ans = answers[job_of[k]];
        row.latency_ms = ans.latency_ms;
        row.cost_usd = ans.ok() ? ans.cost_usd : std::optional<double>(0.0);
        row.cache_hit = ans.cache_hit;
        if (!ans.ok()) {
          row.error = ans.error_message;
        } else {
          row.output = ans.response.text;
          row.tokens_in = ans.response.usage.input_tokens;
          row.tokens_out = ans.response.usage.output_tokens;
          auto v = combine(asserts[k], t.threshold);
          row.pass = v.pass;
          row.score = v.score;
          for (const auto& r : asserts[k]) {
            json a = {{"type", r.type}, {"pass", r.pass}, {"score", r.score}, {"weight", r.weight}};
            if (!r.metric.empty()) {
              a["metric"] = r.metric;
              auto& m = metrics[r.metric];
              m.first += r.score;
              m.second += 1;
            }
            if (!r.reason.empty()) a["reason"] = r.reason;
            if (!r.expected.empty()) a["expected"] = r.expected;
            row.assertions.push_back(std::move(a));
          }
        }
      }
      if (cls && row.output && t.vars.contains(cls->label_var)) {
        std::string label = text_of_var(t.vars[cls->label_var]);
        auto pred = prediction(*row.output, cls->prediction);
        truth.push_back(label);
        predicted.push_back(pred.value_or(""));
        if (!cls->group_var.empty())
          groups.push_back(t.vars.contains(cls->group_var) ? text_of_var(t.vars[cls->group_var]) : "");
        if (!cls->score.empty())
          if (auto sc = score_of(*row.output, cls->score)) {
            scores.push_back(*sc);
            score_positive.push_back(label == cls->positive);
          }
      }
      auto& var = variants[row.prompt + "\n" + row.provider];
      ++var.total;
      if (row.error) {
        ++var.errors;
        ++progress.errors;
      } else if (row.pass) {
        ++var.passed;
        ++progress.passed;
      } else {
        ++progress.failed;
      }
      var.score += row.score;
      var.latency += row.latency_ms;
      if (row.cost_usd) var.cost += *row.cost_usd;
      else ++var.unknown_cost;
      var.tokens_in += row.tokens_in;
      var.tokens_out += row.tokens_out;
      cache_hits += row.cache_hit;
      if (!row.error) latencies.push_back(row.latency_ms);
      rows.push_back(std::move(row));
    }
    results.append(run.id, rows);
    progress.done += static_cast<std::int64_t>(rows.size());
    if (on_progress) on_progress(progress);
    pending.clear();
  };

  try {
    for_each_test(suite, [&](TestCase&& t) {
      std::int64_t ti = test_idx++;
      if (filter && !std::regex_search(t.description + "\n" + t.vars.dump(), *filter)) return true;
      if (opts.select && !opts.select(t, ti)) return true;
      auto shared = std::make_shared<const TestCase>(std::move(t));
      for (int r = 0; r < std::max(1, opts.repeat); ++r)
        for (std::size_t pi = 0; pi < suite.prompts.size(); ++pi)
          for (std::size_t vi = 0; vi < suite.providers.size(); ++vi) {
            if (!provider_selected(*shared, suite.providers[vi])) continue;
            pending.push_back({shared, ti, r, pi, vi});
          }
      if (pending.size() >= opts.chunk) flush();
      return true;
    });
    flush();
  } catch (...) {
    run.status = "interrupted";
    run.total = progress.done;
    run.passed = progress.passed;
    run.failed = progress.failed;
    run.errors = progress.errors;
    run.finished_ms = util::now_ns() / 1'000'000;
    results.finish(run);
    throw;
  }

  run.finished_ms = util::now_ns() / 1'000'000;
  run.total = progress.done;
  run.passed = progress.passed;
  run.failed = progress.failed;
  run.errors = progress.errors;
  json vs = json::array();
  for (const auto& [key, v] : variants) {
    auto nl = key.find('\n');
    vs.push_back({{"prompt", key.substr(0, nl)},
                  {"provider", key.substr(nl + 1)},
                  {"total", v.total},
                  {"passed", v.passed},
                  {"errors", v.errors},
                  {"pass_rate", v.total ? static_cast<double>(v.passed) / static_cast<double>(v.total) : 0.0},
                  {"mean_score", v.total ? v.score / static_cast<double>(v.total) : 0.0},
                  {"mean_latency_ms", v.total ? v.latency / static_cast<double>(v.total) : 0.0},
                  {"cost_usd", v.cost},
                  {"unknown_cost_calls", v.unknown_cost},
                  {"tokens_in", v.tokens_in},
                  {"tokens_out", v.tokens_out}});
  }
  json ms = json::object();
  for (const auto& [name, m] : metrics)
    ms[name] = {{"mean", m.second ? m.first / static_cast<double>(m.second) : 0.0}, {"count", m.second}};
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    if (latencies.empty()) return 0.0;
    return latencies[static_cast<std::size_t>(std::ceil(q * static_cast<double>(latencies.size()))) - 1];
  };
  double cost = 0;
  std::int64_t unknown = 0;
  for (const auto& [k, v] : variants) {
    cost += v.cost;
    unknown += v.unknown_cost;
  }
  run.summary = {{"variants", vs},
                 {"metrics", ms},
                 {"latency_ms", {{"p50", pct(0.5)}, {"p95", pct(0.95)}, {"max", latencies.empty() ? 0.0 : latencies.back()}}},
                 {"cost_usd", cost},
                 {"unknown_cost_calls", unknown},
                 {"cache_hits", cache_hits},
                 {"tests", test_idx}};
  if (cls && !truth.empty()) run.summary["classification"] = classification_summary(*cls, truth, predicted, groups, scores, score_positive);
  run.status = "finished";
  results.finish(run);
  return run;
}

}  // namespace mlops::eval
