#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/lock.hpp"
#include "util/text.hpp"

namespace mlops::config {

const char* source_name(Source s) {
  switch (s) {
    case Source::flag:
      return "flag";
    case Source::env:
      return "env";
    case Source::workspace:
      return "workspace";
    case Source::user:
      return "user";
    case Source::default_value:
      return "default";
  }
  return "?";
}

const std::vector<KeyInfo>& known_keys() {
  static const std::vector<KeyInfo> keys = {
      {"name", "Workspace name, shown by status", "", {}},
      {"user.name", "Name recorded as author of commits and audit entries", "", {"MLOPS_USER"}},
      {"user.email", "Email recorded as author of commits", "", {}},
      {"output", "Default output format: table, json or yaml", "table", {}},
      {"color", "Colors on a terminal: auto, always or never (NO_COLOR also disables)", "auto", {}},
      {"trace.enabled", "Record a span for every command and call", "true", {}},
      {"trace.retention", "How long spans are kept before 'doctor --fix' prunes them", "30d", {}},
      {"trace.otlp_endpoint", "OTLP/HTTP endpoint that spans are exported to", "", {"OTEL_EXPORTER_OTLP_ENDPOINT"}},
      {"tracking.uri", "MLflow tracking server for runs and models", "", {"MLFLOW_TRACKING_URI"}},
      {"model.name", "Default model name for serve and predict", "", {"MLFLOW_MODEL_NAME"}},
      {"model.stage", "Default model alias for serve and predict", "", {"MLFLOW_MODEL_STAGE"}},
      {"data.loader", "Data loader for training: csv, jsonl, json, sqlite, feature-store", "", {"DATA_LOADER_TYPE"}},
      {"data.source_path", "Data source for the loader", "", {"DATA_SOURCE_PATH"}},
      {"git.auto_pack", "Pack the workspace repository after a commit that leaves about this many loose objects; 0 = never",
       "6700", {}},
      {"prompts.protected_envs", "Environments that accept only approved prompt versions, e.g. [production]", "", {}},
      {"llm.timeout", "Per-attempt timeout of an LLM call (30s, 500ms, 2m)", "120s", {}},
      {"llm.connect_timeout", "Timeout for connecting to an LLM provider", "10s", {}},
      {"llm.max_retries", "Retries on 429, 5xx, timeouts and dropped connections (0 = none)", "3", {}},
      {"llm.concurrency", "Most LLM requests in flight at once (halved on 429, then recovers)", "16", {}},
      {"llm.cache.enabled", "Answer repeated LLM calls from the response cache", "true", {}},
      {"llm.cache.ttl", "How long a cached response stays fresh (0 = forever)", "7d", {}},
      {"eval.grader", "Provider that grades llm-rubric assertions, e.g. openai:gpt-4o-mini", "", {}},
      {"eval.embedding_provider",
       "Provider of embeddings for similar assertions, e.g. openai:text-embedding-3-small (default "
       "openai:text-embedding-3-large)",
       "", {}},
      {"torch.helper", "Path of the mlopsctl-torch helper (default: beside the binary)", "", {}},
      {"torch.model_plugin", "Path of mlopsctl-torch-model.so, the TorchScript runtime of predict and serve (default: beside the binary)",
       "", {}},
      {"pii.rules", "Custom PII detectors: a list of {id, regex, keywords, validator, confidence}", "", {}},
      {"pii.exclude", "Globs that pii scan skips in trees, e.g. [\"testdata/**\"]", "", {}},
      {"pii.json_keys", "More JSON keys whose values pii mask --json-keys hides", "", {}},
      {"pii.min_confidence", "Default --min-confidence of pii scan and pii mask", "0.5", {}},
  };
  return keys;
}

const KeyInfo* find_key(const std::string& key) {
  for (const auto& k : known_keys())
    if (k.key == key) return &k;
  return nullptr;
}

bool is_known_key(const std::string& key) {
  if (find_key(key)) return true;
  // providers.NAME.SETTING (see llm/provider.hpp): names are the user's own.
  static const std::regex provider_key(
      "providers\\.[a-z][a-z0-9_-]*\\.(type|base_url|api_key_env|timeout|body|path|response_path|"
      "input_tokens_path|output_tokens_path|(headers|headers_env)\\.[A-Za-z0-9-]+)");
  if (std::regex_match(key, provider_key)) return true;
  // models.gates.ALIAS (registry/registry.hpp): conditions a promotion to ALIAS must pass.
  static const std::regex gate_key("models\\.gates\\.[a-z][a-z0-9_-]*");
  return std::regex_match(key, gate_key);
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::string env_name(const std::string& key) {
  std::string out = "MLOPS_";
  for (char c : key)
    out += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void check_key(const std::string& key) {
  static const std::regex pattern("[a-z][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*");
  if (!std::regex_match(key, pattern))
    throw UsageError("invalid config key '" + key + "'",
                     "keys are lowercase words separated by dots, e.g. trace.enabled; see 'mlopsctl config list'");
}

bool is_secret_key(const std::string& key) {
  std::string last = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
  if (last.size() > 4 && last.compare(last.size() - 4, 4, "_env") == 0) return false;
  static const std::vector<std::string> words = {"api_key",  "apikey", "token",       "secret",
                                                 "password", "passwd", "private_key", "access_key"};
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return last.find(w) != std::string::npos; });
}

fs::path user_config_path(const EnvLookup& env) {
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) return fs::path(*xdg) / "mlopsctl" / "config.yaml";
  auto home = env("HOME");
  return fs::path(home ? *home : "/") / ".config" / "mlopsctl" / "config.yaml";
}

namespace {

void flatten(const YAML::Node& node, const std::string& prefix,
             std::map<std::string, std::pair<std::string, int>>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      std::string k = kv.first.as<std::string>();
      flatten(kv.second, prefix.empty() ? k : prefix + "." + k, out);
    }
    return;
  }
  if (prefix.empty()) return;
  std::string value;
  if (node.IsScalar()) {
    value = node.Scalar();
  } else if (!node.IsNull()) {
    YAML::Emitter e;
    e << YAML::Flow << node;
    value = e.c_str();
  }
  out[prefix] = {value, node.Mark().line + 1};
}

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                          ": invalid YAML: " + e.msg,
                      "fix the file, or check it with 'mlopsctl config list'");
  }
}

}  // namespace

Config::Layer Config::load(const fs::path& path) {
  Layer layer;
  layer.file = path.filename().string();
  auto text = util::read_file_if_exists(path);
  if (!text) return layer;
  if (!util::is_valid_utf8(*text))
    throw ConfigError(path.string() + ": not valid UTF-8", "save the file as UTF-8 text");
  YAML::Node root = parse_yaml(*text, path.string());
  if (!root.IsNull() && !root.IsMap())
    throw ConfigError(path.string() + ":1: the top level must be a mapping of keys to values",
                      "write key: value lines, e.g. 'output: json'");
  flatten(root, "", layer.values);
  return layer;
}

Config::Config(std::optional<fs::path> workspace_file, std::optional<fs::path> user_file, EnvLookup env)
    : env_(std::move(env)) {
  if (workspace_file) workspace_ = load(*workspace_file);
  if (user_file) {
    user_ = load(*user_file);
    user_.file = user_file->string();
  }
}

void Config::set_flag(const std::string& key, const std::string& value, const std::string& flag_name) {
  flags_[key] = {value, flag_name};
}

std::optional<Value> Config::get(const std::string& key) const {
  if (auto it = flags_.find(key); it != flags_.end())
    return Value{key, it->second.first, Source::flag, "flag " + it->second.second};
  std::vector<std::string> names = {env_name(key)};
  const KeyInfo* info = find_key(key);
  if (info) names.insert(names.end(), info->env_aliases.begin(), info->env_aliases.end());
  for (const auto& n : names)
    if (auto v = env_(n)) return Value{key, *v, Source::env, "env " + n};
  if (auto it = workspace_.values.find(key); it != workspace_.values.end())
    return Value{key, it->second.first, Source::workspace, workspace_.file + ":" + std::to_string(it->second.second)};
  if (auto it = user_.values.find(key); it != user_.values.end())
    return Value{key, it->second.first, Source::user, user_.file + ":" + std::to_string(it->second.second)};
  if (info && !info->default_value.empty()) return Value{key, info->default_value, Source::default_value, "default"};
  return std::nullopt;
}

std::string Config::get_or(const std::string& key, const std::string& fallback) const {
  auto v = get(key);
  return v ? v->value : fallback;
}

bool Config::get_bool(const std::string& key, bool fallback) const {
  auto v = get(key);
  if (!v) return fallback;
  std::string s = v->value;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  throw ConfigError(v->origin + ": " + key + " must be true or false, not '" + v->value + "'");
}

std::vector<Value> Config::list() const {
  std::set<std::string> keys;
  for (const auto& [k, _] : flags_) keys.insert(k);
  for (const auto& [k, _] : workspace_.values) keys.insert(k);
  for (const auto& [k, _] : user_.values) keys.insert(k);
  for (const auto& k : known_keys()) keys.insert(k.key);
  std::vector<Value> out;
  for (const auto& k : keys)
    if (auto v = get(k)) out.push_back(*v);
  return out;
}

// ---- in-place YAML editing ----------------------------------------------------

namespace {

struct Lines {
  std::vector<std::string> v;
  bool trailing_newline = true;
};

Lines split_lines(const std::string& text) {
  Lines l;
  if (text.empty()) return l;
  l.v = util::split(text, '\n');
  if (text.back() == '\n')
    l.v.pop_back();
  else
    l.trailing_newline = false;
  return l;
}

std::string join_lines(const Lines& l) {
  std::string out;
  for (const auto& line : l.v) out += line + "\n";
  if (!l.trailing_newline && !out.empty()) out.pop_back();
  return out;
}

bool significant(const std::string& line) {
  auto pos = line.find_first_not_of(' ');
  return pos != std::string::npos && line[pos] != '#';
}

int indent_of(const std::string& line) {
  auto pos = line.find_first_not_of(' ');
  return pos == std::string::npos ? 0 : static_cast<int>(pos);
}

// If `line` (at `indent`) is "key:" for `key`, returns the offset just after the colon.
std::optional<std::size_t> key_colon(const std::string& line, int indent, const std::string& key) {
  if (!significant(line) || indent_of(line) != indent) return std::nullopt;
  std::string rest = line.substr(static_cast<std::size_t>(indent));
  for (const std::string& form : {key, "\"" + key + "\"", "'" + key + "'"}) {
    if (rest.compare(0, form.size(), form) == 0 && rest.size() > form.size() && rest[form.size()] == ':' &&
        (rest.size() == form.size() + 1 || rest[form.size() + 1] == ' '))
      return static_cast<std::size_t>(indent) + form.size() + 1;
  }
  return std::nullopt;
}

// End (exclusive) of the lines nested under the key line at `at`.
std::size_t child_end(const Lines& l, std::size_t at) {
  int parent = indent_of(l.v[at]);
  std::size_t last = at;
  for (std::size_t j = at + 1; j < l.v.size(); ++j) {
    if (!significant(l.v[j])) continue;
    if (indent_of(l.v[j]) <= parent) break;
    last = j;
  }
  return last + 1;
}

std::string inline_value(const std::string& line, std::size_t after_colon) {
  std::string v = util::trim(line.substr(after_colon));
  if (!v.empty() && v[0] == '#') return "";
  return v;
}

std::string scalar(const std::string& value) {
  YAML::Emitter e;
  e << value;
  return e.c_str();
}

struct Found {
  std::size_t line;
  std::size_t colon;
};

// Finds the key path; `depth` reports how many leading parts were found.
std::optional<Found> find_path(const Lines& l, const std::vector<std::string>& parts, std::size_t& depth,
                               std::size_t& block_begin, std::size_t& block_end, int& parent_indent) {
  block_begin = 0;
  block_end = l.v.size();
  parent_indent = -2;
  depth = 0;
  std::optional<Found> found;
  for (const auto& part : parts) {
    int indent = -1;
    for (std::size_t j = block_begin; j < block_end; ++j)
      if (significant(l.v[j])) {
        indent = indent_of(l.v[j]);
        break;
      }
    std::optional<Found> here;
    if (indent >= 0)
      for (std::size_t j = block_begin; j < block_end; ++j)
        if (auto c = key_colon(l.v[j], indent, part)) {
          here = Found{j, *c};
          break;
        }
    if (!here) return std::nullopt;
    found = here;
    ++depth;
    parent_indent = indent;
    block_begin = here->line + 1;
    block_end = child_end(l, here->line);
  }
  return found;
}

std::optional<std::string> lookup_scalar(const std::string& text, const std::vector<std::string>& parts) {
  YAML::Node node = YAML::Load(text);
  for (const auto& p : parts) {
    if (!node.IsMap()) return std::nullopt;
    node = node[p];
    if (!node) return std::nullopt;
  }
  if (!node.IsScalar()) return std::nullopt;
  return node.Scalar();
}

}  // namespace

namespace {

// The comment-preserving line edit; nullopt when the layout is beyond it.
std::optional<std::string> line_edit_set(const std::string& text, const std::vector<std::string>& parts,
                                         const std::string& key, const std::string& value) {
  Lines l = split_lines(text);
  std::size_t depth = 0, begin = 0, end = 0;
  int parent_indent = -2;
  auto found = find_path(l, parts, depth, begin, end, parent_indent);
  if (found) {
    const std::string& line = l.v[found->line];
    std::string old = inline_value(line, found->colon);
    std::string comment;
    if (!old.empty() && old[0] != '"' && old[0] != '\'') {
      auto hash = line.find(" #", found->colon);
      if (hash != std::string::npos) comment = "  " + util::trim(line.substr(hash));
    }
    std::string replaced = line.substr(0, found->colon) + " " + scalar(value) + comment;
    std::size_t stop = child_end(l, found->line);
    l.v.erase(l.v.begin() + static_cast<long>(found->line) + 1, l.v.begin() + static_cast<long>(stop));
    l.v[found->line] = replaced;
  } else {
    // Find the deepest existing section and insert below it.
    std::size_t have = 0;
    std::optional<Found> sec;
    for (std::size_t n = parts.size() - 1; n > 0 && !sec; --n) {
      std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(n));
      sec = find_path(l, prefix, depth, begin, end, parent_indent);
      if (sec) have = n;
    }
    int indent = 0;
    std::size_t insert_at = l.v.size();
    if (!sec) {
      while (insert_at > 0 && util::trim(l.v[insert_at - 1]).empty()) --insert_at;
    } else {
      std::string inline_v = inline_value(l.v[sec->line], sec->colon);
      if (!inline_v.empty()) {
        if (inline_v[0] == '{') return std::nullopt;  // flow mapping: let the YAML library rewrite it
        throw ConfigError("cannot set " + key + ": '" + parts[have - 1] + "' already holds a value, not a section",
                          "unset it first with 'mlopsctl config unset'");
      }
      int child = -1;
      for (std::size_t j = begin; j < end && child < 0; ++j)
        if (significant(l.v[j])) child = indent_of(l.v[j]);
      indent = child >= 0 ? child : indent_of(l.v[sec->line]) + 2;
      insert_at = end;
    }
    std::vector<std::string> added;
    for (std::size_t i = have; i < parts.size(); ++i) {
      std::string pad(static_cast<std::size_t>(indent + 2 * static_cast<int>(i - have)), ' ');
      added.push_back(pad + parts[i] + ":" + (i + 1 == parts.size() ? " " + scalar(value) : ""));
    }
    l.v.insert(l.v.begin() + static_cast<long>(insert_at), added.begin(), added.end());
  }
  std::string out = join_lines(l);
  if (!out.empty() && out.back() != '\n') out += '\n';
  // Read the result back: the edit only stands if YAML agrees it did the job.
  try {
    auto check = lookup_scalar(out, parts);
    if (check && *check == value) return out;
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

}  // namespace

std::string yaml_set(const std::string& text, const std::string& key, const std::string& value) {
  check_key(key);
  auto parts = util::split(key, '.');
  if (auto edited = line_edit_set(text, parts, key, value)) return *edited;
  YAML::Node root = text.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(text);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  std::vector<YAML::Node> chain = {root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (next && !next.IsNull() && !next.IsMap())
      throw ConfigError("cannot set " + key + ": '" + parts[i] + "' already holds a value, not a section",
                        "unset it first with 'mlopsctl config unset'");
    chain.push_back(next);
  }
  chain.back()[parts.back()] = value;
  YAML::Emitter e;
  e << root;
  return std::string(e.c_str()) + "\n";
}

std::optional<std::string> yaml_unset(const std::string& text, const std::string& key) {
  check_key(key);
  auto parts = util::split(key, '.');
  Lines l = split_lines(text);
  std::size_t depth = 0, begin = 0, end = 0;
  int parent_indent = 0;
  auto found = find_path(l, parts, depth, begin, end, parent_indent);
  if (!found) return std::nullopt;
  l.v.erase(l.v.begin() + static_cast<long>(found->line), l.v.begin() + static_cast<long>(child_end(l, found->line)));
  // Drop sections left empty by the removal.
  for (std::size_t n = parts.size() - 1; n > 0; --n) {
    std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(n));
    auto sec = find_path(l, prefix, depth, begin, end, parent_indent);
    if (!sec || !inline_value(l.v[sec->line], sec->colon).empty()) break;
    bool empty = true;
    for (std::size_t j = begin; j < end; ++j) empty = empty && !significant(l.v[j]);
    if (!empty) break;
    l.v.erase(l.v.begin() + static_cast<long>(sec->line), l.v.begin() + static_cast<long>(end));
  }
  return join_lines(l);
}

void set_in_file(const fs::path& file, const fs::path& lock_file, const std::string& key, const std::string& value) {
  check_key(key);
  fs::create_directories(lock_file.parent_path());
  util::FileLock lock(lock_file);
  std::string text = util::read_file_if_exists(file).value_or("");
  parse_yaml(text, file.string());  // refuse to edit a file we cannot read back
  fs::create_directories(file.parent_path().empty() ? fs::path(".") : file.parent_path());
  util::atomic_write(file, yaml_set(text, key, value));
}

bool unset_in_file(const fs::path& file, const fs::path& lock_file, const std::string& key) {
  check_key(key);
  auto text = util::read_file_if_exists(file);
  if (!text) return false;
  util::FileLock lock(lock_file);
  text = util::read_file_if_exists(file);
  if (!text) return false;
  parse_yaml(*text, file.string());
  auto out = yaml_unset(*text, key);
  if (!out) return false;
  util::atomic_write(file, *out);
  return true;
}

}  // namespace mlops::config
