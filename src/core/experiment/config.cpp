#include "experiment/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include "config/yaml_json.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace mlops::experiment {

using nlohmann::json;

const std::vector<std::string>& builtin_metrics() {
  static const std::vector<std::string> names = {"pass_rate", "score",     "latency_ms", "cost_usd",
                                                 "tokens",    "tokens_in", "tokens_out"};
  return names;
}

MetricSpec metric_for(const std::string& name) {
  MetricSpec m;
  m.name = name;
  static const std::map<std::string, std::pair<Source, stats::Better>> known = {
      {"pass_rate", {Source::pass, stats::Better::higher}},
      {"score", {Source::score, stats::Better::higher}},
      {"latency_ms", {Source::latency_ms, stats::Better::lower}},
      {"cost_usd", {Source::cost_usd, stats::Better::lower}},
      {"tokens", {Source::tokens, stats::Better::lower}},
      {"tokens_in", {Source::tokens_in, stats::Better::lower}},
      {"tokens_out", {Source::tokens_out, stats::Better::lower}}};
  if (auto it = known.find(name); it != known.end()) {
    m.source = it->second.first;
    m.better = it->second.second;
  }
  return m;
}

std::vector<const Arm*> AbConfig::arms() const {
  std::vector<const Arm*> out{&control};
  for (const auto& v : variants) out.push_back(&v);
  return out;
}

const MetricSpec& AbConfig::metric(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.name == name) return m;
  throw UsageError("experiment " + this->name + " has no metric '" + name + "'");
}

namespace {

// Holm's correction across many variants leaves little power to any of them.
constexpr std::size_t k_max_variants = 100;

std::string at(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1);
}

const std::regex& name_pattern() {
  static const std::regex re(R"(^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$)");
  return re;
}

struct Raw {
  YAML::Node node;
  std::string where;
};

// Keys an A/B config adds to the suite's; the suite's own prompts/providers are
// replaced by the arms.
const std::vector<std::string>& ab_keys() {
  static const std::vector<std::string> keys = {
      "kind",   "name",    "provider", "control", "variants",        "split",      "unit",
      "paired", "metrics", "primary",  "guards",  "min_sample_size", "confidence", "seed"};
  return keys;
}

class Parser {
 public:
  Parser(AbConfig& c, std::string file) : c_(c), file_(std::move(file)) {}

  bool claim(const std::string& key, const YAML::Node& node, const std::string& where, std::vector<std::string>& p) {
    if (key == "prompts" || key == "providers") {
      p.push_back(where + ": '" + key + "' is an eval suite key; an A/B experiment gives each arm its prompt and " +
                  "provider under control: and variants:");
      return true;
    }
    const auto& keys = ab_keys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      static const std::vector<std::string> suite_keys = {"tests", "defaultTest", "options", "description"};
      if (std::find(suite_keys.begin(), suite_keys.end(), key) != suite_keys.end()) return false;
      std::vector<std::string> all = keys;
      all.insert(all.end(), suite_keys.begin(), suite_keys.end());
      std::string near = util::nearest(key, all);
      p.push_back(where + ": unknown key '" + key + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
      return true;
    }
    raw_[key] = {node, where};
    return true;
  }

  void check(eval::Suite& suite, std::vector<std::string>& p) {
    p_ = &p;
    dir_ = c_.path.parent_path();
    auto get = [&](const std::string& k) -> const Raw* {
      auto it = raw_.find(k);
      return it == raw_.end() ? nullptr : &it->second;
    };
    if (auto* r = get("kind")) {
      std::string kind = scalar(*r);
      if (kind != "ab") add(r->where, "kind is '" + kind + "'; this runner takes kind: ab");
    } else {
      add(file_, "missing kind: ab");
    }
    if (auto* r = get("name")) {
      c_.name = scalar(*r);
      if (!std::regex_match(c_.name, name_pattern()))
        add(r->where, "name '" + c_.name + "' must be letters, digits, '.', '_' or '-' (at most 64)");
    } else {
      add(file_, "missing name: the experiment id that assignment hashes (e.g. name: greeting-tone)");
    }
    std::optional<eval::ProviderRef> default_provider;
    if (auto* r = get("provider")) default_provider = provider(config::yaml_to_json(r->node), r->where);

    if (auto* r = get("control")) {
      c_.control = arm(*r, "control", default_provider);
    } else {
      add(file_, "missing control: the arm the variants are compared with ({name, prompt, provider})");
    }
    if (auto* r = get("variants")) {
      if (!r->node.IsSequence() || r->node.size() == 0) {
        add(r->where, "variants must be a non-empty list of arms ({name, prompt, provider})");
      } else if (r->node.size() > k_max_variants) {
        add(r->where, fmt::format("{} variants; an experiment compares at most {} with its control", r->node.size(),
                                  k_max_variants));
      } else {
        for (std::size_t i = 0; i < r->node.size(); ++i)
          c_.variants.push_back(arm({r->node[i], at(file_, r->node[i])}, "", default_provider));
      }
    } else {
      add(file_, "missing variants: at least one arm to compare with the control");
    }
    std::set<std::string> names;
    for (const Arm* a : c_.arms())
      if (!a->name.empty() && !names.insert(a->name).second) add(a->origin, "arm name '" + a->name + "' is used twice");

    if (auto* r = get("split")) split(*r, names);
    if (auto* r = get("unit")) {
      c_.unit_field = scalar(*r);
      if (c_.unit_field.empty()) add(r->where, "unit must name the var that identifies a unit (e.g. user_id)");
    }
    if (auto* r = get("paired")) c_.paired = boolean(*r);
    if (auto* r = get("min_sample_size")) {
      auto v = config::yaml_to_json(r->node);
      if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
        c_.min_sample_size = v.get<std::int64_t>();
      else
        add(r->where, "min_sample_size must be a whole number ≥ 0 (units per arm)");
    }
    if (auto* r = get("confidence")) {
      auto v = config::yaml_to_json(r->node);
      if (v.is_number() && v.get<double>() > 0 && v.get<double>() < 1)
        c_.confidence = v.get<double>();
      else
        add(r->where, "confidence must be a number between 0 and 1, e.g. 0.95");
    }
    if (auto* r = get("seed")) {
      auto v = config::yaml_to_json(r->node);
      if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
        c_.seed = v.get<std::uint64_t>();
      else
        add(r->where, "seed must be a whole number ≥ 0");
    }
    metrics(get("metrics"), get("primary"), get("guards"));
    if (c_.paired)
      for (const auto& m : c_.metrics)
        if (m.test == Test::mann_whitney)
          add(metrics_where_, "metric '" + m.name + "': test mann-whitney compares independent samples; with " +
                                  "paired: true the paired t-test and bootstrap are used");
    if (suite.options.repeat != 1)
      add(file_, "options.repeat must be 1 in an A/B experiment: each unit is one observation per arm");
    c_.description = suite.description;
  }

 private:
  void add(const std::string& where, const std::string& what) { p_->push_back(where + ": " + what); }

  std::string scalar(const Raw& r) {
    if (!r.node.IsScalar()) {
      add(r.where, "expected a single value");
      return {};
    }
    return r.node.as<std::string>();
  }

  bool boolean(const Raw& r) {
    auto v = config::yaml_to_json(r.node);
    if (v.is_boolean()) return v.get<bool>();
    add(r.where, "expected true or false");
    return false;
  }

  eval::ProviderRef provider(const json& v, const std::string& where) {
    return eval::parse_provider_ref(v, where, *p_);
  }

  Arm arm(const Raw& r, const std::string& default_name, const std::optional<eval::ProviderRef>& default_provider) {
    Arm a;
    a.origin = r.where;
    a.name = default_name;
    if (!r.node.IsMap()) {
      add(r.where, "an arm is a mapping: {name, prompt, provider, parameters}");
      return a;
    }
    bool has_prompt = false, has_provider = false;
    json params = json::object();
    std::string params_where;
    for (const auto& kv : r.node) {
      std::string key = kv.first.as<std::string>();
      std::string where = at(file_, kv.first);
      json v = config::yaml_to_json(kv.second);
      if (key == "name") {
        a.name = v.is_string() ? v.get<std::string>() : v.dump();
        if (!std::regex_match(a.name, name_pattern()))
          add(where, "arm name '" + a.name + "' must be letters, digits, '.', '_' or '-' (at most 64)");
      } else if (key == "prompt") {
        a.prompt = eval::parse_prompt_ref(v, dir_, where, *p_);
        has_prompt = true;
      } else if (key == "provider") {
        a.provider = provider(v, where);
        has_provider = true;
      } else if (key == "parameters") {
        if (!v.is_object())
          add(where, "parameters must be a mapping: {temperature, max_tokens, top_p}");
        else
          params = v;
        params_where = where;
      } else {
        std::string near = util::nearest(key, {"name", "prompt", "provider", "parameters"});
        add(where, "unknown arm key '" + key + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
      }
    }
    if (a.name.empty()) add(r.where, "every variant needs a name");
    if (!has_prompt) add(r.where, "arm '" + a.name + "' needs a prompt (NAME@LABEL, NAME@VERSION or a template)");
    if (!has_provider) {
      if (default_provider)
        a.provider = *default_provider;
      else
        add(r.where, "arm '" + a.name + "' needs a provider (or give a top-level provider: for every arm)");
    }
    for (const auto& [k, v] : params.items()) {
      if (k == "temperature" && v.is_number())
        a.provider.temperature = v.get<double>();
      else if ((k == "max_tokens" || k == "maxTokens") && v.is_number_integer() && v.get<int>() > 0)
        a.provider.max_tokens = v.get<int>();
      else if ((k == "top_p" || k == "topP") && v.is_number())
        a.provider.top_p = v.get<double>();
      else if (k == "temperature" || k == "max_tokens" || k == "maxTokens" || k == "top_p" || k == "topP")
        add(params_where, "parameter '" + k + "' has the wrong type (" + v.dump() + ")");
      else
        add(params_where, "parameter '" + k + "' is not supported (temperature, max_tokens, top_p)");
    }
    // The arm's name labels its eval run's rows and reports.
    a.provider.label = a.name;
    return a;
  }

  void split(const Raw& r, const std::set<std::string>& names) {
    if (!r.node.IsMap()) {
      add(r.where, "split maps each arm to its weight, e.g. {control: 50, friendly: 50}");
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : r.node) {
      std::string key = kv.first.as<std::string>();
      std::string where = at(file_, kv.first);
      json v = config::yaml_to_json(kv.second);
      if (!names.count(key)) {
        add(where, "split names '" + key + "', which is not an arm");
        continue;
      }
      seen.insert(key);
      if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>())) {
        add(where, "split weight of '" + key + "' must be a positive number");
        continue;
      }
      for (Arm* a : mutable_arms())
        if (a->name == key) a->weight = v.get<double>();
    }
    for (const auto& n : names)
      if (!seen.count(n)) add(r.where, "split gives no weight to arm '" + n + "'");
  }

  std::vector<Arm*> mutable_arms() {
    std::vector<Arm*> out{&c_.control};
    for (auto& v : c_.variants) out.push_back(&v);
    return out;
  }

  void metric_entry(const YAML::Node& n, const std::string& where) {
    MetricSpec m;
    if (n.IsScalar()) {
      m = metric_for(n.as<std::string>());
    } else if (n.IsMap()) {
      json v = config::yaml_to_json(n);
      if (!v.contains("name") || !v["name"].is_string()) {
        add(where, "a metric is a name or {name, direction, test}");
        return;
      }
      m = metric_for(v["name"].get<std::string>());
      for (const auto& [k, x] : v.items()) {
        std::string s = x.is_string() ? x.get<std::string>() : x.dump();
        if (k == "name") continue;
        if (k == "direction") {
          if (s == "higher")
            m.better = stats::Better::higher;
          else if (s == "lower")
            m.better = stats::Better::lower;
          else
            add(where, "direction must be higher or lower, not '" + s + "'");
        } else if (k == "test") {
          if (s == "welch" || s == "t")
            m.test = Test::welch;
          else if (s == "mann-whitney")
            m.test = Test::mann_whitney;
          else if (s == "auto")
            m.test = Test::automatic;
          else
            add(where, "test must be auto, welch or mann-whitney, not '" + s + "'");
        } else {
          add(where, "unknown metric key '" + k + "' (name, direction, test)");
        }
      }
    } else {
      add(where, "a metric is a name or {name, direction, test}");
      return;
    }
    if (!std::regex_match(m.name, name_pattern())) {
      add(where, "metric name '" + m.name + "' must be letters, digits, '.', '_' or '-'");
      return;
    }
    if (m.binary() && m.test == Test::mann_whitney)
      add(where, "pass_rate is compared with the z-test (McNemar when paired), not " + std::string("mann-whitney"));
    for (auto& old : c_.metrics)
      if (old.name == m.name) {
        add(where, "metric '" + m.name + "' is listed twice");
        return;
      }
    c_.metrics.push_back(m);
  }

  void metrics(const Raw* metrics, const Raw* primary, const Raw* guards) {
    metrics_where_ = metrics ? metrics->where : file_;
    if (metrics) {
      if (metrics->node.IsSequence())
        for (std::size_t i = 0; i < metrics->node.size(); ++i)
          metric_entry(metrics->node[i], at(file_, metrics->node[i]));
      else
        add(metrics->where, "metrics must be a list, e.g. [pass_rate, latency_ms, cost_usd]");
    }
    // primary: NAME or {metric, direction}
    std::string primary_where = primary ? primary->where : file_;
    std::optional<stats::Better> primary_dir;
    if (primary) {
      if (primary->node.IsScalar()) {
        c_.primary = primary->node.as<std::string>();
      } else if (primary->node.IsMap()) {
        json v = config::yaml_to_json(primary->node);
        for (const auto& [k, x] : v.items()) {
          std::string s = x.is_string() ? x.get<std::string>() : x.dump();
          if (k == "metric")
            c_.primary = s;
          else if (k == "direction") {
            if (s == "higher")
              primary_dir = stats::Better::higher;
            else if (s == "lower")
              primary_dir = stats::Better::lower;
            else
              add(primary->where, "direction must be higher or lower, not '" + s + "'");
          } else {
            add(primary->where, "unknown primary key '" + k + "' (metric, direction)");
          }
        }
        if (c_.primary.empty()) add(primary->where, "primary needs metric: NAME");
      } else {
        add(primary->where, "primary is a metric name or {metric, direction}");
      }
    } else {
      c_.primary = "pass_rate";
    }
    if (!c_.primary.empty()) {
      auto it = std::find_if(c_.metrics.begin(), c_.metrics.end(), [&](auto& m) { return m.name == c_.primary; });
      if (it == c_.metrics.end()) {
        c_.metrics.insert(c_.metrics.begin(), metric_for(c_.primary));
        it = c_.metrics.begin();
      } else {
        std::rotate(c_.metrics.begin(), it, it + 1);
        it = c_.metrics.begin();
      }
      if (primary_dir) it->better = *primary_dir;
      if (!std::regex_match(c_.primary, name_pattern())) add(primary_where, "primary metric name is not valid");
    }
    if (!guards) return;
    if (!guards->node.IsSequence()) {
      add(guards->where, "guards must be a list of {metric, limit}");
      return;
    }
    for (std::size_t i = 0; i < guards->node.size(); ++i) {
      const auto& n = guards->node[i];
      std::string where = at(file_, n);
      json v = config::yaml_to_json(n);
      if (!v.is_object() || !v.contains("metric") || !v["metric"].is_string() || !v.contains("limit")) {
        add(where, "a guard is {metric: NAME, limit: N or N%}: the largest regression tolerated");
        continue;
      }
      GuardSpec g;
      g.metric = v["metric"];
      for (const auto& [k, x] : v.items())
        if (k != "metric" && k != "limit") add(where, "unknown guard key '" + k + "' (metric, limit)");
      const json& l = v["limit"];
      if (l.is_number() && l.get<double>() >= 0) {
        g.limit = l.get<double>();
      } else if (l.is_string() && !l.get<std::string>().empty() && l.get<std::string>().back() == '%') {
        std::string s = l.get<std::string>();
        try {
          std::size_t used = 0;
          double d = std::stod(s.substr(0, s.size() - 1), &used);
          if (used != s.size() - 1 || !(d >= 0)) throw std::invalid_argument("bad");
          g.limit = d / 100;
          g.relative = true;
        } catch (const std::exception&) {
          add(where, "guard limit '" + s + "' is not a percentage such as 20%");
          continue;
        }
      } else {
        add(where, "guard limit must be a number ≥ 0 (in the metric's unit) or a percentage such as 20%");
        continue;
      }
      if (g.metric == c_.primary) add(where, "guard metric '" + g.metric + "' is the primary metric");
      if (std::none_of(c_.metrics.begin(), c_.metrics.end(), [&](auto& m) { return m.name == g.metric; }))
        c_.metrics.push_back(metric_for(g.metric));
      c_.guards.push_back(g);
    }
  }

  AbConfig& c_;
  std::string file_;
  fs::path dir_;
  std::map<std::string, Raw> raw_;
  std::vector<std::string>* p_ = nullptr;
  std::string metrics_where_;
};

}  // namespace

AbConfig load_ab_config(const fs::path& path) {
  AbConfig c;
  c.path = path;
  Parser parser(c, path.string());
  eval::SuiteHost host;
  host.what = "A/B experiment config";
  host.needs_prompts_and_providers = false;
  host.claim = [&](const std::string& key, const YAML::Node& node, const std::string& where,
                   std::vector<std::string>& p) { return parser.claim(key, node, where, p); };
  host.check = [&](eval::Suite& s, std::vector<std::string>& p) { parser.check(s, p); };
  c.suite = eval::load_suite(path, host);
  c.sha256 = c.suite.sha256;
  return c;
}

std::string config_kind(const fs::path& path) {
  auto content = util::read_file_if_exists(path);
  if (!content)
    throw NotFoundError("experiment config not found: " + path.string(), "pass the config file: experiment run FILE");
  YAML::Node root;
  try {
    root = YAML::Load(*content);
  } catch (const YAML::Exception& e) {
    throw ConfigError(
        path.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg,
        "fix the YAML syntax");
  }
  if (!root.IsMap()) throw ConfigError(path.string() + ": an experiment config is a YAML mapping with kind:");
  if (!root["kind"]) return {};
  if (!root["kind"].IsScalar())
    throw ConfigError(at(path.string(), root["kind"]) + ": kind must be a single word such as ab");
  return root["kind"].as<std::string>();
}

}  // namespace mlops::experiment
