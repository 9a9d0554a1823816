#include "experiment/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "stats/assignment.hpp"
#include "util/error.hpp"
#include "util/time.hpp"

namespace mlops::experiment {

using nlohmann::json;

namespace {

std::string unit_of(const AbConfig& c, const eval::TestCase& t, std::int64_t idx) {
  if (c.unit_field.empty()) return std::to_string(idx);
  if (!t.vars.contains(c.unit_field) || t.vars[c.unit_field].is_null())
    throw ConfigError(
        fmt::format("{}: test has no var '{}' to identify its unit (unit: {})",
                    t.origin.empty() ? "test " + std::to_string(idx) : t.origin, c.unit_field, c.unit_field),
        "give every test that var, or drop unit: to assign by the test's position");
  const json& v = t.vars[c.unit_field];
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.empty())
    throw ConfigError(fmt::format("{}: var '{}' is empty; it identifies the unit", t.origin, c.unit_field));
  return s;
}

// One metric's value of one result row, when it has one.
std::optional<double> value_of(const MetricSpec& m, const eval::ResultRow& r) {
  switch (m.source) {
    case Source::pass:
      return r.pass ? 1.0 : 0.0;
    case Source::score:
      return r.score;
    case Source::latency_ms:
      return r.latency_ms;
    case Source::cost_usd:
      return r.cost_usd;
    case Source::tokens:
      return static_cast<double>(r.tokens_in + r.tokens_out);
    case Source::tokens_in:
      return static_cast<double>(r.tokens_in);
    case Source::tokens_out:
      return static_cast<double>(r.tokens_out);
    case Source::named:
      break;
  }
  double sum = 0;
  int n = 0;
  for (const auto& a : r.assertions)
    if (a.value("metric", std::string()) == m.name) {
      sum += a.value("score", 0.0);
      ++n;
    }
  if (n == 0) return std::nullopt;
  return sum / n;
}

json arm_json(const AbConfig& c, const Arm& a, bool control) {
  double total = 0;
  for (const Arm* x : c.arms()) total += x->weight;
  json j = {{"name", a.name},
            {"role", control ? "control" : "variant"},
            {"prompt", a.prompt.label},
            {"prompt_ref", a.prompt.store_ref.empty() ? json(nullptr) : json(a.prompt.store_ref)},
            {"provider", a.provider.id},
            {"weight", a.weight},
            {"share", c.paired ? 1.0 : a.weight / total}};
  if (a.provider.temperature) j["temperature"] = *a.provider.temperature;
  if (a.provider.max_tokens) j["max_tokens"] = *a.provider.max_tokens;
  if (a.provider.top_p) j["top_p"] = *a.provider.top_p;
  return j;
}

json guards_json(const AbConfig& c) {
  json g = json::array();
  for (const auto& x : c.guards) g.push_back({{"metric", x.metric}, {"limit", x.limit}, {"relative", x.relative}});
  return g;
}

}  // namespace

std::vector<Placement> assign(const AbConfig& c) {
  std::vector<stats::Arm> split;
  for (const Arm* a : c.arms()) split.push_back({a->name, a->weight});
  stats::Assignment assignment(c.name, split);
  std::vector<Placement> plan;
  std::set<std::string> named;  // metric: names the assertions produce
  std::int64_t idx = 0;
  eval::for_each_test(c.suite, [&](eval::TestCase&& t) {
    for (const auto& a : t.asserts)
      if (!a.metric.empty()) named.insert(a.metric);
    Placement p;
    p.test = idx;
    p.unit = unit_of(c, t, idx);
    p.arm = c.paired ? -1 : static_cast<int>(assignment.index_of(p.unit));
    plan.push_back(std::move(p));
    ++idx;
    return true;
  });
  // A named metric no assertion produces is a config mistake, not a result.
  for (const auto& m : c.metrics)
    if (m.source == Source::named && !named.count(m.name))
      throw ConfigError(
          fmt::format("{}: metric '{}' has no values: no assertion has metric: {}", c.path.string(), m.name, m.name),
          fmt::format("name a built-in metric ({}) or add metric: {} to an assertion",
                      fmt::join(builtin_metrics(), ", "), m.name));
  return plan;
}

json assignments_json(const AbConfig& c, const std::vector<Placement>& plan) {
  auto arms = c.arms();
  json out = json::array();
  for (const auto& p : plan)
    out.push_back({{"test", p.test}, {"unit", p.unit}, {"arm", p.arm < 0 ? std::string("*") : arms[p.arm]->name}});
  return out;
}

AbRun run_ab(AbConfig& c, const std::vector<Placement>& plan, const AbRunOptions& opts, llm::Client& client,
             const config::Config& cfg, const config::EnvLookup& env, store::Db& db, prompt::PromptStore* prompts) {
  std::vector<Arm*> arms{&c.control};
  for (auto& v : c.variants) arms.push_back(&v);

  // Resolve store prompts once and pin them: a label moved mid-run must not
  // change what an arm sends.
  json arm_rows = json::array();
  for (std::size_t i = 0; i < arms.size(); ++i) {
    Arm& a = *arms[i];
    json row = arm_json(c, a, i == 0);
    if (!a.prompt.store_ref.empty()) {
      if (!prompts) throw UsageError("prompt " + a.prompt.store_ref + " needs a workspace with a prompt store");
      auto v = prompts->resolve_ref(a.prompt.store_ref);
      row["prompt_name"] = v.name;
      row["prompt_version"] = v.version;
      a.prompt.store_ref = v.name + "@" + std::to_string(v.version);
      row["prompt_ref"] = a.prompt.store_ref;
    }
    arm_rows.push_back(std::move(row));
  }

  std::vector<std::int64_t> assigned(arms.size(), 0);
  std::vector<std::int16_t> arm_of(plan.size(), -1);
  for (const auto& p : plan) {
    arm_of[static_cast<std::size_t>(p.test)] = static_cast<std::int16_t>(p.arm);
    if (p.arm < 0)
      for (auto& n : assigned) ++n;
    else
      ++assigned[static_cast<std::size_t>(p.arm)];
  }

  AbRuns runs(db);
  AbRun run;
  run.id = eval::new_run_id();
  run.name = c.name;
  run.description = c.description;
  run.config_path = fs::absolute(c.path).lexically_normal().string();
  run.config_sha256 = c.sha256;
  run.paired = c.paired;
  run.started_ms = util::now_ns() / 1'000'000;
  run.status = "running";
  run.actor = opts.actor;
  run.trace_id = opts.trace_id;
  run.summary = {{"arms", arm_rows},
                 {"confidence", c.confidence},
                 {"primary", c.primary},
                 {"unit", c.unit_field.empty() ? json(nullptr) : json(c.unit_field)},
                 {"min_sample_size", c.min_sample_size},
                 {"guards", guards_json(c)},
                 {"tests", static_cast<std::int64_t>(plan.size())}};
  runs.create(run);

  eval::Results results(db);
  std::vector<ArmData> data(arms.size());
  try {
    for (std::size_t i = 0; i < arms.size(); ++i) {
      const Arm& a = *arms[i];
      eval::Suite suite = c.suite;
      suite.prompts = {a.prompt};
      suite.providers = {a.provider};
      eval::register_suite_providers(suite, client, cfg, env);
      eval::RunOptions ro;
      ro.id = eval::new_run_id();
      ro.name = c.name + "/" + a.name;
      ro.grader = opts.grader;
      ro.actor = opts.actor;
      ro.trace_id = opts.trace_id;
      ro.chunk = opts.chunk;
      ro.experiment_id = run.id;
      const int position = static_cast<int>(i);
      ro.select = [&arm_of, position](const eval::TestCase&, std::int64_t idx) {
        auto k = static_cast<std::size_t>(idx);
        return k < arm_of.size() && (arm_of[k] < 0 || arm_of[k] == position);
      };
      runs.link_arm(run.id, position, {a.name, ro.id});
      run.arms.push_back({a.name, ro.id});
      std::function<void(const eval::Progress&)> progress;
      if (opts.on_progress) progress = [&opts, i](const eval::Progress& p) { opts.on_progress(i, p); };
      auto er = eval::run_suite(suite, ro, client, results, prompts, progress);

      ArmData& d = data[i];
      d.name = a.name;
      d.assigned = assigned[i];
      d.values.resize(c.metrics.size());
      double cost = 0;
      std::int64_t unknown = 0, cache_hits = 0, tokens_in = 0, tokens_out = 0;
      results.for_each(er.id, [&](const eval::ResultRow& r) {
        cache_hits += r.cache_hit;
        if (r.error) {
          ++d.errors;
          return true;
        }
        ++d.observed;
        if (r.cost_usd)
          cost += *r.cost_usd;
        else
          ++unknown;
        tokens_in += r.tokens_in;
        tokens_out += r.tokens_out;
        for (std::size_t m = 0; m < c.metrics.size(); ++m)
          if (auto v = value_of(c.metrics[m], r)) d.values[m].emplace_back(r.test_idx, *v);
        return true;
      });
      json& row = run.summary["arms"][i];
      row["eval_run"] = er.id;
      row["assigned"] = d.assigned;
      row["observed"] = d.observed;
      row["errors"] = d.errors;
      row["cache_hits"] = cache_hits;
      row["cost_usd"] = cost;
      row["unknown_cost_calls"] = unknown;
      row["tokens_in"] = tokens_in;
      row["tokens_out"] = tokens_out;
    }
    auto analysis = analyze(c, data);
    run.summary["metrics"] = analysis.metrics;
    run.summary["srm"] = analysis.srm;
    run.decision = analysis.decision;
    run.winner = analysis.winner;
    run.outcome = analysis.decision.value("outcome", std::string());
    run.status = "finished";
  } catch (const std::exception& e) {
    run.status = "failed";
    run.summary["error"] = e.what();
    run.finished_ms = util::now_ns() / 1'000'000;
    runs.finish(run);
    throw;
  }
  run.finished_ms = util::now_ns() / 1'000'000;
  runs.finish(run);
  return run;
}

prompt::Event promote_winner(const AbRun& run, const std::string& env, prompt::PromptStore& store,
                             const std::vector<std::string>& protected_envs, const store::Author& author,
                             const std::string& trace_id) {
  if (!run.winner)
    throw CheckFailed("experiment run " + run.id + " has no winner; no label was moved",
                      "see the reasons in 'experiment show " + run.id + "'");
  for (const auto& a : run.summary.value("arms", json::array())) {
    if (a.value("name", std::string()) != *run.winner) continue;
    if (!a.contains("prompt_version"))
      throw UsageError("the winner '" + *run.winner + "' uses an inline prompt; only prompts from the prompt store " +
                           "have labels to move",
                       "commit the prompt (prompt commit NAME -f FILE) and refer to it as NAME@VERSION");
    std::string message = fmt::format("A/B experiment {} run {}: '{}' won on {}", run.name, run.id, *run.winner,
                                      run.decision.value("primary", std::string("the primary metric")));
    return store.deploy(a["prompt_name"].get<std::string>(), a["prompt_version"].get<int>(), env, protected_envs,
                        message, author, trace_id);
  }
  throw RuntimeError("experiment run " + run.id + " does not record its winner's arm");
}

}  // namespace mlops::experiment
