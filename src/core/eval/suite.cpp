#include "eval/suite.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "config/yaml_json.hpp"
#include "eval/csv.hpp"
#include "metrics/schema.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace mlops::eval {

using nlohmann::json;

const std::vector<std::string>& supported_assertions() {
  static const std::vector<std::string> types = {
      "equals",     "contains", "icontains",   "contains-any", "contains-all", "icontains-any", "icontains-all",
      "starts-with", "regex",   "is-json",     "contains-json", "levenshtein", "latency",       "cost",
      "length",     "llm-rubric", "bleu",      "rouge-n",       "rouge-l",      "token-f1",      "json-schema",
      "similar"};
  return types;
}

namespace {

// Problems found while reading a suite; reported together.
struct Problems {
  std::vector<std::string> list;
  // Where providers configured in the suite go (null while reading test files,
  // which cannot configure one).
  std::vector<ProviderRef>* aux = nullptr;
  void add(const std::string& where, const std::string& what) { list.push_back(where + ": " + what); }
};

ProviderRef parse_provider(const json& v, const std::string& where, Problems& p);

bool is_embedding_id(const std::string& id) {
  return id.find(":embedding:") != std::string::npos || id.find(":embeddings:") != std::string::npos;
}

// A grader or embedding provider: an id, or {id, config} registered as eval-aux-N.
std::string aux_provider(const json& v, bool embedding, const std::string& where, Problems& p) {
  std::string id = v.is_string() ? v.get<std::string>()
                   : v.is_object() && v.contains("id") && v["id"].is_string() ? v["id"].get<std::string>()
                                                                             : std::string();
  if (id.empty()) {
    p.add(where, "provider must be a provider id or {id, config}");
    return {};
  }
  if (embedding) id = normalize_embedding_provider_id(id);
  else if (is_embedding_id(id)) {
    p.add(where, "'" + id + "' is an embedding provider; llm-rubric needs a chat model");
    return {};
  }
  if (!v.is_object() || !v.contains("config")) return normalize_provider_id(id);
  json copy = v;
  copy["id"] = id;
  ProviderRef r = parse_provider(copy, where, p);
  if (r.key.empty() || !r.settings) return r.key;
  if (!p.aux) {
    p.add(where, "a provider with its own config cannot be declared in a test file; declare it in the suite "
                 "(defaultTest.options.provider) or in mlops.yaml providers");
    return {};
  }
  std::string model = r.key.substr(r.key.find(':') == std::string::npos ? r.key.size() : r.key.find(':') + 1);
  p.aux->push_back(std::move(r));
  return "eval-aux-" + std::to_string(p.aux->size() - 1) + ":" + model;
}

// promptfoo's options.provider / assertion provider: an id or {id, config} for
// every model-graded check, or {text: …, embedding: …} per kind. An id serves
// embeddings only when it is an embedding id (as promptfoo falls back to its
// default embedding provider for a chat model).
std::string grading_provider(const json& v, bool embedding, const std::string& where, Problems& p) {
  if (v.is_object() && (v.contains("text") || v.contains("embedding"))) {
    const char* key = embedding ? "embedding" : "text";
    return v.contains(key) ? aux_provider(v[key], embedding, where, p) : std::string();
  }
  std::string id = v.is_string() ? v.get<std::string>() : v.is_object() ? v.value("id", std::string()) : "";
  if (embedding != is_embedding_id(id)) return {};
  return aux_provider(v, embedding, where, p);
}

std::string at(const std::string& file, const YAML::Node& n) {
  return file + ":" + std::to_string(n.Mark().line + 1);
}

bool is_supported(const std::string& type) {
  const auto& t = supported_assertions();
  return std::find(t.begin(), t.end(), type) != t.end();
}

std::optional<double> number_of(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    try {
      std::size_t used = 0;
      double d = std::stod(j.get<std::string>(), &used);
      if (used == j.get<std::string>().size()) return d;
    } catch (...) {
    }
  }
  return std::nullopt;
}

// promptfoo assertion types this build does not evaluate: named in errors rather
// than mistaken for free text (in CSV __expected cells) or typos.
bool is_promptfoo_type(const std::string& t) {
  static const std::set<std::string> types = {
      "javascript", "python", "webhook", "g-eval", "model-graded-closedqa", "factuality", "answer-relevance",
      "context-recall", "context-relevance", "context-faithfulness", "select-best", "assert-set", "moderation",
      "perplexity", "perplexity-score", "classifier", "is-sql", "is-xml", "contains-xml", "trace-span-count",
      "similar:dot", "similar:euclidean", "is-valid-openai-tools-call", "is-valid-openai-function-call",
      "is-refusal", "model-graded-factuality", "word-count", "finish-reason"};
  return types.count(t) > 0;
}

AssertionSpec parse_assertion(const json& a, const std::string& where, Problems& p) {
  AssertionSpec s;
  s.origin = where;
  if (!a.is_object() || !a.contains("type") || !a["type"].is_string()) {
    p.add(where, "an assertion needs a type, e.g. {type: contains, value: Paris}");
    return s;
  }
  std::string type = a["type"];
  if (type.rfind("not-", 0) == 0) {
    s.negate = true;
    type = type.substr(4);
  }
  if (type == "similar:cosine") type = "similar";  // promptfoo's explicit name for the default metric
  s.type = type;
  if (!is_supported(type) && is_promptfoo_type(type))
    p.add(where, "assertion type '" + a["type"].get<std::string>() + "' is not supported by mlopsctl");
  else if (!is_supported(type)) {
    std::string near = util::nearest(type, supported_assertions());
    p.add(where, "unknown assertion type '" + a["type"].get<std::string>() + "'" +
                     (near.empty() ? "" : " (did you mean '" + near + "'?)"));
  }
  for (const auto& [k, v] : a.items()) {
    if (k == "type") continue;
    if (k == "value") {
      s.value = v;
    } else if (k == "threshold") {
      if (auto d = number_of(v)) s.threshold = *d;
      else p.add(where, "threshold must be a number");
    } else if (k == "weight") {
      if (auto d = number_of(v); d && *d >= 0) s.weight = *d;
      else p.add(where, "weight must be a number ≥ 0");
    } else if (k == "metric") {
      s.metric = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (k == "provider") {
      if (type == "similar" || type == "llm-rubric") {
        bool embedding = type == "similar";
        s.provider = v.is_object() && (v.contains("text") || v.contains("embedding"))
                         ? grading_provider(v, embedding, where, p)
                         : aux_provider(v, embedding, where, p);
      } else if (v.is_string()) {
        s.provider = v.get<std::string>();
      } else if (v.is_object() && v.contains("id") && v["id"].is_string()) {
        s.provider = v["id"];
      } else {
        p.add(where, "provider must be a provider id");
      }
    } else if (k == "description") {
    } else {
      p.add(where, "assertion key '" + k + "' is not supported");
    }
  }
  if ((type == "is-json" || type == "contains-json" || type == "json-schema") && !s.value.is_null()) {
    try {  // compile once here: a broken schema is a config error, not a failed test
      metrics::JsonSchema schema(s.value, where);
    } catch (const Error& e) {
      p.add(where, std::string("invalid JSON schema: ") + e.what());
    }
  }
  if ((type == "bleu" || type == "rouge-n" || type == "rouge-l" || type == "token-f1") &&
      (s.value.is_array() ? s.value.empty() : !s.value.is_string()))
    p.add(where, "'" + type + "' needs a reference text (or, for bleu, a list of them)");
  if (type == "llm-rubric" && !s.value.is_string()) p.add(where, "llm-rubric needs the rubric as a string value");
  if (type == "similar") {
    bool ok = s.value.is_string() || (s.value.is_array() && !s.value.empty() &&
                                      std::all_of(s.value.begin(), s.value.end(), [](const json& x) { return x.is_string(); }));
    if (!ok) p.add(where, "'similar' needs the expected text, or a list of them, as its value");
    if (s.threshold && (*s.threshold < -1 || *s.threshold > 1))
      p.add(where, "the threshold of 'similar' is a cosine similarity between -1 and 1");
  }
  bool needs_value = type != "is-json" && type != "contains-json";
  if (type == "json-schema" && !s.value.is_object()) p.add(where, "json-schema needs the schema (a mapping) as its value");
  if (needs_value && s.value.is_null() && type != "latency" && type != "cost" && type != "similar")
    p.add(where, "assertion '" + type + "' needs a value");
  if ((type == "latency" || type == "cost") && !s.threshold)
    p.add(where, "assertion '" + type + "' needs a threshold (" + (type == "latency" ? "milliseconds" : "US dollars") +
                     ")");
  if (type == "regex" && s.value.is_string()) {
    // Compiling a pattern costs far more than reading a test, and a CSV of 100,000
    // tests usually repeats a handful of patterns: remember the last few valid ones.
    static std::set<std::string> valid;
    const std::string& pattern = s.value.get_ref<const std::string&>();
    if (!valid.count(pattern)) {
      try {
        std::regex re(pattern, std::regex::ECMAScript);
        if (valid.size() >= 64) valid.clear();
        valid.insert(pattern);
      } catch (const std::regex_error& e) {
        p.add(where, "invalid regex '" + pattern + "': " + e.what());
      }
    }
  }
  if ((type == "contains-any" || type == "contains-all" || type == "icontains-any" || type == "icontains-all") &&
      !s.value.is_array() && !s.value.is_string())
    p.add(where, "assertion '" + type + "' needs a list of values");
  if (type == "length" && !(s.value.is_object() && (s.value.contains("min") || s.value.contains("max"))))
    p.add(where, "assertion 'length' needs value: {min: N, max: M}");
  return s;
}

// promptfoo's CSV __expected syntax: "contains: x", "not-icontains: x", "is-json",
// "similar(0.8): x", "llm-rubric: x" / "grade: x"; anything else means equals.
namespace {

// The parts of "not-TYPE(THRESHOLD): VALUE": what the pattern
// ^(not-)?([a-z][a-z-]*)(\(([0-9.]+)\))?:\s?([\s\S]*)$ matches, read by hand
// (std::regex took more time than the rest of a test's reading together).
struct ExpectedForm {
  bool negate = false;
  std::string type;
  std::optional<std::string> threshold;
  std::string value;
};

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

std::optional<ExpectedForm> expected_form(const std::string& text) {
  ExpectedForm f;
  std::size_t i = 0, n = text.size();
  if (text.rfind("not-", 0) == 0 && n > 4 && is_lower(text[4])) {
    f.negate = true;
    i = 4;
  }
  if (i >= n || !is_lower(text[i])) return std::nullopt;
  std::size_t start = i;
  while (i < n && (is_lower(text[i]) || text[i] == '-')) ++i;
  f.type = text.substr(start, i - start);
  if (i < n && text[i] == '(') {
    std::size_t t = ++i;
    while (i < n && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == t || i >= n || text[i] != ')') return std::nullopt;
    f.threshold = text.substr(t, i - t);
    ++i;
  }
  if (i >= n || text[i] != ':') return std::nullopt;
  ++i;
  if (i < n && std::string_view(" \t\n\v\f\r").find(text[i]) != std::string_view::npos) ++i;
  f.value = text.substr(i);
  return f;
}

}  // namespace

AssertionSpec parse_expected(const std::string& text, const std::string& where, Problems& p) {
  static const std::set<std::string> bare = {"is-json", "contains-json", "not-is-json", "not-contains-json"};
  json a;
  std::optional<ExpectedForm> m;
  if (bare.count(text)) {
    a = {{"type", text}};
  } else if ((m = expected_form(text)) && (is_supported(m->type) || is_promptfoo_type(m->type) || m->type == "grade" ||
                                           m->type == "fn" || m->type == "eval")) {
    std::string type = m->type == "grade" ? "llm-rubric" : m->type == "fn" || m->type == "eval" ? "javascript" : m->type;
    a = {{"type", (m->negate ? "not-" : "") + type}, {"value", std::move(m->value)}};
    if (m->threshold) a["threshold"] = *m->threshold;  // parse_assertion checks it is a number
  } else {
    a = {{"type", "equals"}, {"value", text}};
  }
  return parse_assertion(a, where, p);
}

TestCase parse_test(const json& t, const std::string& where, Problems& p) {
  TestCase tc;
  tc.origin = where;
  if (!t.is_object()) {
    p.add(where, "a test must be a mapping with vars and assert");
    return tc;
  }
  for (const auto& [k, v] : t.items()) {
    if (k == "vars") {
      if (v.is_object()) tc.vars = v;
      else p.add(where, "vars must be a mapping of names to values");
    } else if (k == "assert") {
      if (!v.is_array()) {
        p.add(where, "assert must be a list");
        continue;
      }
      for (std::size_t i = 0; i < v.size(); ++i)
        tc.asserts.push_back(parse_assertion(v[i], where + " assert[" + std::to_string(i) + "]", p));
    } else if (k == "description") {
      tc.description = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (k == "threshold") {
      if (auto d = number_of(v)) tc.threshold = *d;
      else p.add(where, "threshold must be a number");
    } else if (k == "providers") {
      for (const auto& x : v) tc.providers.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    } else if (k == "metadata") {
      tc.metadata = v;
    } else if (k == "options") {
      if (v.is_object())
        for (const auto& [ok, ov] : v.items()) {
          if (ok == "provider") {
            tc.grader = grading_provider(ov, false, where + " options.provider", p);
            tc.embedder = grading_provider(ov, true, where + " options.provider", p);
          } else {
            p.add(where, "test option '" + ok + "' is not supported");
          }
        }
    } else {
      p.add(where, "test key '" + k + "' is not supported");
    }
  }
  return tc;
}

std::string file_ref(const json& v) {
  if (!v.is_string()) return {};
  const std::string& s = v.get_ref<const std::string&>();
  return s.rfind("file://", 0) == 0 ? s.substr(7) : std::string();
}

fs::path resolve(const fs::path& base_dir, const std::string& rel) {
  fs::path p(rel);
  return p.is_absolute() ? p : base_dir / p;
}

// promptfoo provider ids → mlopsctl's NAME:MODEL.
std::optional<std::string> map_provider_id(const std::string& id) {
  static const std::vector<std::pair<std::string, std::string>> forms = {
      {"openai:chat:", "openai:"}, {"anthropic:messages:", "anthropic:"}, {"ollama:chat:", "ollama:"}};
  for (const auto& [from, to] : forms)
    if (id.rfind(from, 0) == 0) return to + id.substr(from.size());
  for (const char* unsupported : {"openai:completion:", "openai:embedding:", "openai:assistant:", "openai:image:",
                                  "ollama:completion:", "ollama:embeddings:", "anthropic:completion:"})
    if (id.rfind(unsupported, 0) == 0) return std::nullopt;
  if (id.rfind("file://", 0) == 0 || id.rfind("python:", 0) == 0 || id.rfind("http://", 0) == 0 ||
      id.rfind("https://", 0) == 0 || id.rfind("bedrock:", 0) == 0 || id.rfind("vertex:", 0) == 0 ||
      id.rfind("azure:", 0) == 0 || id.rfind("replicate:", 0) == 0 || id.rfind("huggingface:", 0) == 0)
    return std::nullopt;
  return id;
}

ProviderRef parse_provider(const json& v, const std::string& where, Problems& p) {
  ProviderRef r;
  r.origin = where;
  json config = json::object();
  if (v.is_string()) {
    r.id = v;
  } else if (v.is_object() && v.contains("id") && v["id"].is_string()) {
    r.id = v["id"];
    for (const auto& [k, x] : v.items()) {
      if (k == "id") continue;
      if (k == "label") r.label = x.is_string() ? x.get<std::string>() : x.dump();
      else if (k == "config") config = x;
      else if (k == "delay" || k == "transform") p.add(where, "provider key '" + k + "' is not supported");
      else p.add(where, "provider key '" + k + "' is not supported");
    }
  } else {
    p.add(where, "a provider is an id string or {id, label, config}");
    return r;
  }
  if (r.label.empty()) r.label = r.id;
  auto mapped = map_provider_id(r.id);
  if (!mapped) {
    p.add(where, "provider '" + r.id + "' is not supported (use openai:, anthropic:, ollama:, exec:, echo or a "
                 "provider from mlops.yaml)");
    return r;
  }
  r.key = *mapped;
  if (!config.is_object()) {
    p.add(where, "provider config must be a mapping");
    return r;
  }
  llm::ProviderSettings s;
  bool custom = false;
  for (const auto& [k, x] : config.items()) {
    if (k == "temperature" && x.is_number()) r.temperature = x.get<double>();
    else if ((k == "max_tokens" || k == "maxTokens") && x.is_number_integer()) r.max_tokens = x.get<int>();
    else if ((k == "top_p" || k == "topP") && x.is_number()) r.top_p = x.get<double>();
    else if ((k == "apiBaseUrl" || k == "apiHost" || k == "base_url" || k == "baseUrl") && x.is_string()) {
      s.base_url = x.get<std::string>();
      if (k == "apiHost" && s.base_url.find("://") == std::string::npos) s.base_url = "https://" + s.base_url;
      custom = true;
    } else if (k == "apiKey" && x.is_string()) {
      s.api_key_value = x.get<std::string>();
      custom = true;
    } else if ((k == "apiKeyEnvar" || k == "api_key_env") && x.is_string()) {
      s.api_key_env = x.get<std::string>();
      custom = true;
    } else if (k == "headers" && x.is_object()) {
      for (const auto& [hk, hv] : x.items()) s.headers.emplace_back(hk, hv.is_string() ? hv.get<std::string>() : hv.dump());
      custom = true;
    } else {
      p.add(where, "provider config key '" + k + "' is not supported");
    }
  }
  if (custom) r.settings = std::move(s);  // completed with the workspace's settings at run time
  return r;
}

PromptRef parse_prompt(const json& v, const fs::path& dir, const std::string& where, Problems& p) {
  static const std::regex store_ref(R"(^[A-Za-z0-9][A-Za-z0-9_.-]*@[A-Za-z0-9_.-]+$)");
  PromptRef r;
  r.origin = where;
  std::string text;
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (k == "raw" && x.is_string()) text = x.get<std::string>();
      else if ((k == "id" || k == "ref") && x.is_string()) text = x.get<std::string>();
      else if (k == "label" && x.is_string()) r.label = x.get<std::string>();
      else p.add(where, "prompt key '" + k + "' is not supported");
    }
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    p.add(where, "a prompt is a template string, NAME@REF from the prompt store, or file://PATH");
    return r;
  }
  if (std::regex_match(text, store_ref)) {
    r.store_ref = text;
  } else if (auto f = file_ref(json(text)); !f.empty()) {
    auto path = resolve(dir, f);
    auto ext = path.extension().string();
    if (ext == ".js" || ext == ".py" || ext == ".ts") {
      p.add(where, "prompt functions (" + f + ") are not supported");
      return r;
    }
    auto content = util::read_file_if_exists(path);
    if (!content) {
      p.add(where, "prompt file not found: " + path.string());
      return r;
    }
    r.raw = *content;
    if (r.label.empty()) r.label = f;
  } else {
    r.raw = text;
  }
  if (r.label.empty()) {
    r.label = r.store_ref.empty() ? r.raw.substr(0, r.raw.find('\n')).substr(0, 60) : r.store_ref;
  }
  return r;
}

int int_option(const json& v, const std::string& key, const std::string& where, Problems& p, int min) {
  if (v.is_number_integer() && v.get<int>() >= min) return v.get<int>();
  p.add(where, key + " must be a whole number ≥ " + std::to_string(min));
  return min;
}

void parse_options(const json& o, Suite& s, const std::string& where, Problems& p) {
  if (!o.is_object()) {
    p.add(where, "options must be a mapping");
    return;
  }
  for (const auto& [k, v] : o.items()) {
    if (k == "concurrency" || k == "maxConcurrency") s.options.concurrency = int_option(v, k, where, p, 1);
    else if (k == "repeat") s.options.repeat = int_option(v, k, where, p, 1);
    else if (k == "cache") s.options.cache = v.is_boolean() ? v.get<bool>() : true;
    else if (k == "timeout") s.options.timeout = v.is_string() ? v.get<std::string>() : v.dump();
    else if (k == "pass_threshold") {
      if (auto d = number_of(v); d && *d >= 0 && *d <= 1) s.options.pass_threshold = *d;
      else p.add(where, "pass_threshold must be between 0 and 1");
    } else if (k == "showProgressBar" || k == "progress") {
    } else {
      p.add(where, "option '" + k + "' is not supported");
    }
  }
}

}  // namespace

std::string normalize_provider_id(const std::string& id) { return map_provider_id(id).value_or(id); }

PromptRef parse_prompt_ref(const json& v, const fs::path& dir, const std::string& where,
                           std::vector<std::string>& problems) {
  Problems p;
  auto r = parse_prompt(v, dir, where, p);
  problems.insert(problems.end(), p.list.begin(), p.list.end());
  return r;
}

ProviderRef parse_provider_ref(const json& v, const std::string& where, std::vector<std::string>& problems) {
  Problems p;
  auto r = parse_provider(v, where, p);
  problems.insert(problems.end(), p.list.begin(), p.list.end());
  return r;
}

std::string normalize_embedding_provider_id(const std::string& id) {
  for (const char* name : {"openai", "ollama"})
    for (const char* kind : {":embedding:", ":embeddings:"}) {
      std::string prefix = std::string(name) + kind;
      if (id.rfind(prefix, 0) == 0) return std::string(name) + ":" + id.substr(prefix.size());
    }
  return id;
}

void check_graders(const Suite& suite, const std::string& default_grader) {
  if (!default_grader.empty()) return;
  auto check = [&](const TestCase& t) {
    if (!t.grader.empty() || !suite.default_test.grader.empty()) return;
    for (const auto& a : t.asserts)
      if (a.type == "llm-rubric" && a.provider.empty())
        throw UsageError(a.origin + ": llm-rubric needs a grader",
                         "give the assertion a provider:, pass --grader PROVIDER, or set eval.grader");
  };
  check(suite.default_test);
  for (const auto& src : suite.tests)
    for (const auto& t : src.inline_tests) check(t);
}

Suite load_suite(const fs::path& path) { return load_suite(path, SuiteHost{}); }

Suite load_suite(const fs::path& path, const SuiteHost& host) {
  auto content = util::read_file_if_exists(path);
  if (!content) throw NotFoundError(host.what + " not found: " + path.string(), "pass the suite file with -c FILE");
  Suite s;
  s.path = path;
  s.sha256 = util::sha256_hex(*content);
  const std::string file = path.string();
  YAML::Node root;
  try {
    root = YAML::Load(*content);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " +
                          e.msg,
                      "fix the YAML syntax");
  }
  if (!root.IsMap())
    throw ConfigError(file + ": an " + host.what + " is a YAML mapping" +
                      (host.needs_prompts_and_providers ? " with prompts, providers and tests" : ""));
  fs::path dir = path.parent_path();
  Problems p;
  p.aux = &s.aux_providers;
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    const YAML::Node& node = kv.second;
    std::string where = at(file, kv.first);
    if (host.claim && host.claim(key, node, where, p.list)) continue;
    json v = config::yaml_to_json(node);
    if (key == "description") {
      s.description = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (key == "prompts") {
      if (!node.IsSequence()) {
        if (node.IsScalar()) s.prompts.push_back(parse_prompt(v, dir, where, p));
        else p.add(where, "prompts must be a list");
        continue;
      }
      for (std::size_t i = 0; i < node.size(); ++i)
        s.prompts.push_back(parse_prompt(v[i], dir, at(file, node[i]), p));
    } else if (key == "providers") {
      if (!node.IsSequence()) {
        p.add(where, "providers must be a list");
        continue;
      }
      for (std::size_t i = 0; i < node.size(); ++i)
        s.providers.push_back(parse_provider(v[i], at(file, node[i]), p));
    } else if (key == "tests") {
      auto add_item = [&](const json& item, const std::string& w) {
        if (auto f = file_ref(item); !f.empty()) {
          TestSource src;
          src.file = resolve(dir, f);
          src.origin = w;
          if (!fs::exists(src.file)) p.add(w, "test file not found: " + src.file.string());
          auto ext = src.file.extension().string();
          if (ext != ".csv" && ext != ".jsonl" && ext != ".json" && ext != ".yaml" && ext != ".yml")
            p.add(w, "test files are .csv, .jsonl, .json or .yaml, not " + f);
          s.tests.push_back(std::move(src));
          return;
        }
        if (s.tests.empty() || !s.tests.back().file.empty()) s.tests.emplace_back();
        s.tests.back().inline_tests.push_back(parse_test(item, w, p));
      };
      if (node.IsSequence()) {
        for (std::size_t i = 0; i < node.size(); ++i) add_item(v[i], at(file, node[i]));
      } else if (node.IsScalar()) {
        add_item(v, where);
      } else {
        p.add(where, "tests must be a list or file://PATH");
      }
    } else if (key == "defaultTest") {
      s.default_test = parse_test(v, where, p);
    } else if (key == "options" || key == "evaluateOptions") {
      parse_options(v, s, where, p);
    } else if (key == "classification") {
      Classification c;
      c.prediction = "output";
      if (!v.is_object() || !v.contains("label") || !v["label"].is_string()) {
        p.add(where, "classification needs label: the var holding the true label");
        continue;
      }
      c.label_var = v["label"];
      for (const auto& [k, x] : v.items()) {
        std::string val = x.is_string() ? x.get<std::string>() : x.dump();
        if (k == "label") continue;
        if (k == "prediction") c.prediction = val;
        else if (k == "score") c.score = val;
        else if (k == "positive") c.positive = val;
        else if (k == "group") c.group_var = val;
        else p.add(where, "classification key '" + k + "' is not supported");
      }
      s.classification = c;
    } else if (key == "sharing" || key == "outputPath" || key == "writeLatestResults" || key == "$schema") {
      // promptfoo settings with no meaning here (sharing, its own output files): ignored.
    } else if (key == "scenarios" || key == "redteam" || key == "extensions" || key == "derivedMetrics" ||
               key == "nunjucksFilters" || key == "env" || key == "tracing") {
      p.add(where, "'" + key + "' is not supported");
    } else {
      p.add(where, "unknown key '" + key + "'");
    }
  }
  if (host.needs_prompts_and_providers) {
    if (s.prompts.empty()) p.add(file, "no prompts: add prompts: [NAME@REF or a template]");
    if (s.providers.empty()) p.add(file, "no providers: add providers: [openai:gpt-4o-mini, …]");
  }
  if (s.tests.empty() && s.default_test.asserts.empty()) p.add(file, "no tests: add tests: [{vars: …, assert: …}]");
  if (host.check) host.check(s, p.list);
  if (!p.list.empty()) {
    std::string msg = host.what + " " + file + " has " + std::to_string(p.list.size()) + " problem" +
                      (p.list.size() == 1 ? "" : "s") + ":";
    for (const auto& x : p.list) msg += "\n  " + x;
    throw ConfigError(msg, "nothing was sent; fix these and run again");
  }
  return s;
}

namespace {

// Assertions that name no grader or embedding provider take the test's
// options.provider, else defaultTest's.
void fill_providers(TestCase& t, const TestCase& def) {
  const std::string& grader = t.grader.empty() ? def.grader : t.grader;
  const std::string& embedder = t.embedder.empty() ? def.embedder : t.embedder;
  for (auto& a : t.asserts) {
    if (!a.provider.empty()) continue;
    if (a.type == "llm-rubric") a.provider = grader;
    else if (a.type == "similar") a.provider = embedder;
  }
}

TestCase merged(const TestCase& def, TestCase t) {
  json vars = def.vars;
  for (const auto& [k, v] : t.vars.items()) vars[k] = v;
  t.vars = std::move(vars);
  std::vector<AssertionSpec> asserts = def.asserts;
  for (auto& a : t.asserts) asserts.push_back(std::move(a));
  t.asserts = std::move(asserts);
  if (!t.threshold) t.threshold = def.threshold;
  fill_providers(t, def);
  return t;
}

[[noreturn]] void fail(const Problems& p) {
  std::string msg = p.list.front();
  for (std::size_t i = 1; i < p.list.size(); ++i) msg += "\n  " + p.list[i];
  throw ConfigError(msg, "fix the test file; nothing was sent");
}

}  // namespace

void for_each_test(const Suite& suite, const std::function<bool(TestCase&&)>& fn) {
  if (suite.tests.empty()) {  // defaultTest alone: one test
    TestCase t(suite.default_test);
    fill_providers(t, suite.default_test);
    fn(std::move(t));
    return;
  }
  for (const auto& src : suite.tests) {
    if (src.file.empty()) {
      for (const auto& t : src.inline_tests)
        if (!fn(merged(suite.default_test, t))) return;
      continue;
    }
    const std::string name = src.file.string();
    std::ifstream in(src.file, std::ios::binary);
    if (!in) throw ConfigError("cannot read test file " + name, "check the path and its permissions");
    auto ext = src.file.extension().string();
    Problems p;
    if (ext == ".csv") {
      CsvReader csv(in);
      std::vector<std::string> header, row;
      try {
        if (!csv.next(header)) continue;
        while (csv.next(row)) {
          std::string where = name + ":" + std::to_string(csv.line());
          if (row.size() != header.size()) {
            p.add(where, "has " + std::to_string(row.size()) + " fields, the header has " +
                             std::to_string(header.size()));
            fail(p);
          }
          TestCase t;
          t.origin = where;
          for (std::size_t i = 0; i < header.size(); ++i) {
            const std::string& col = header[i];
            if (col.rfind("__expected", 0) == 0) {
              if (!row[i].empty()) t.asserts.push_back(parse_expected(row[i], where + " " + col, p));
            } else if (col == "__description") {
              t.description = row[i];
            } else if (col.rfind("__metadata:", 0) == 0) {
              t.metadata[col.substr(11)] = row[i];
            } else if (col == "__threshold") {
              if (row[i].empty()) continue;
              if (auto d = number_of(json(row[i]))) t.threshold = *d;
              else p.add(where, "__threshold '" + row[i] + "' is not a number");
            } else if (col.rfind("__", 0) == 0) {
              p.add(where, "column '" + col + "' is not supported");
            } else {
              if (!util::is_valid_utf8(row[i])) p.add(where, "column '" + col + "' is not valid UTF-8");
              t.vars[col] = row[i];
            }
          }
          if (!p.list.empty()) fail(p);
          if (!fn(merged(suite.default_test, std::move(t)))) return;
        }
      } catch (const ConfigError& e) {
        if (std::string(e.what()).rfind("line ", 0) == 0) throw ConfigError(name + ": " + e.what(), e.hint());
        throw;
      }
    } else if (ext == ".jsonl") {
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        ++n;
        if (util::trim(line).empty()) continue;
        std::string where = name + ":" + std::to_string(n);
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) {
          p.add(where, "not a JSON object");
          fail(p);
        }
        TestCase t = j.is_object() && (j.contains("vars") || j.contains("assert")) ? parse_test(j, where, p)
                                                                                  : parse_test({{"vars", j}}, where, p);
        if (!p.list.empty()) fail(p);
        if (!fn(merged(suite.default_test, std::move(t)))) return;
      }
    } else {
      std::stringstream buf;
      buf << in.rdbuf();
      json all;
      if (ext == ".json") {
        all = json::parse(buf.str(), nullptr, false);
        if (all.is_discarded()) throw ConfigError(name + ": not valid JSON", "a test file holds a JSON array of tests");
      } else {
        try {
          all = config::yaml_to_json(YAML::Load(buf.str()));
        } catch (const YAML::Exception& e) {
          throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
        }
      }
      if (!all.is_array()) throw ConfigError(name + ": expected a list of tests");
      for (std::size_t i = 0; i < all.size(); ++i) {
        TestCase t = parse_test(all[i], name + " [" + std::to_string(i) + "]", p);
        if (!p.list.empty()) fail(p);
        if (!fn(merged(suite.default_test, std::move(t)))) return;
      }
    }
  }
}

}  // namespace mlops::eval
