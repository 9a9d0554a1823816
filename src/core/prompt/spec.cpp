#include "prompt/spec.hpp"

#include <yaml-cpp/yaml.h>

#include <set>

#include "config/yaml_json.hpp"
#include "pii/scanner.hpp"
#include "template/template.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace mlops::prompt {

namespace {

constexpr std::size_t k_max_name = 128;
constexpr std::size_t k_max_prompt_bytes = 1 << 20;

const std::set<std::string> k_types = {"string", "number", "bool", "list", "object"};
const std::set<std::string> k_roles = {"system", "user", "assistant", "tool"};
const std::vector<std::string> k_top_keys = {"template", "messages",    "variables",      "model",
                                             "tags",     "description", "template_format"};

std::string at(const std::string& source, const YAML::Node& node) {
  return source + ":" + std::to_string(node.Mark().line + 1);
}

bool matches_type(const nlohmann::json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "bool") return v.is_boolean();
  if (type == "list") return v.is_array();
  if (type == "object") return v.is_object();
  return false;
}

void check_template(const std::string& text, const std::string& where) {
  try {
    tmpl::Template::parse(text);
  } catch (const tmpl::TemplateError& e) {
    throw UsageError(where + ": template error at " + e.what(),
                     "fix the template; wrap literal braces in {% raw %}…{% endraw %} or set template_format: none");
  }
}

std::string expect_string(const YAML::Node& node, const std::string& source, const std::string& key) {
  if (!node.IsScalar()) throw UsageError(at(source, node) + ": '" + key + "' must be a string");
  return node.Scalar();
}

Spec parse_structured(const YAML::Node& root, const std::string& source) {
  Spec spec;
  spec.structured = true;
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    if (std::find(k_top_keys.begin(), k_top_keys.end(), key) == k_top_keys.end()) {
      std::string near = util::nearest(key, k_top_keys);
      throw UsageError(at(source, kv.first) + ": unknown key '" + key + "'",
                       near.empty() ? "a prompt file has: template, messages, variables, model, tags, description, "
                                      "template_format"
                                    : "did you mean '" + near + "'?");
    }
  }
  if (root["template"] && root["messages"])
    throw UsageError(at(source, root["messages"]) + ": a prompt has either template: or messages:, not both");
  if (auto f = root["template_format"]) {
    std::string v = expect_string(f, source, "template_format");
    if (v != "jinja" && v != "none")
      throw UsageError(at(source, f) + ": template_format must be jinja or none, not '" + v + "'");
    spec.templated = v == "jinja";
  }
  if (auto t = root["template"]) {
    spec.kind = Kind::text;
    spec.template_text = expect_string(t, source, "template");
    if (spec.templated) check_template(spec.template_text, at(source, t) + " (template)");
  } else if (auto m = root["messages"]) {
    spec.kind = Kind::chat;
    if (!m.IsSequence() || m.size() == 0)
      throw UsageError(at(source, m) + ": messages must be a non-empty list of {role, content}");
    for (const auto& item : m) {
      if (!item.IsMap() || !item["role"] || !item["content"])
        throw UsageError(at(source, item) + ": each message needs role: and content:");
      Message msg{expect_string(item["role"], source, "role"), expect_string(item["content"], source, "content")};
      if (!k_roles.count(msg.role))
        throw UsageError(at(source, item["role"]) + ": unknown role '" + msg.role + "'",
                         "roles are system, user, assistant and tool");
      if (spec.templated) check_template(msg.content, at(source, item["content"]) + " (" + msg.role + " message)");
      spec.messages.push_back(std::move(msg));
    }
  } else {
    throw UsageError(source + ": a prompt file needs template: (text) or messages: (chat)");
  }
  if (auto vars = root["variables"]) {
    if (!vars.IsMap()) throw UsageError(at(source, vars) + ": variables must map names to types");
    for (const auto& kv : vars) {
      std::string name = kv.first.as<std::string>();
      Variable v;
      if (kv.second.IsScalar()) {
        v.type = kv.second.Scalar();
      } else if (kv.second.IsMap()) {
        for (const auto& f : kv.second) {
          std::string fk = f.first.as<std::string>();
          if (fk == "type")
            v.type = expect_string(f.second, source, "type");
          else if (fk == "description")
            v.description = expect_string(f.second, source, "description");
          else if (fk == "default")
            v.default_value = config::yaml_to_json(f.second);
          else
            throw UsageError(at(source, f.first) + ": unknown key '" + fk + "' in variable '" + name + "'",
                             "a variable has type, default and description");
        }
      } else {
        throw UsageError(at(source, kv.second) + ": variable '" + name + "' needs a type");
      }
      if (!k_types.count(v.type))
        throw UsageError(at(source, kv.second) + ": variable '" + name + "' has unknown type '" + v.type + "'",
                         "types are string, number, bool, list and object");
      if (v.default_value && !matches_type(*v.default_value, v.type))
        throw UsageError(at(source, kv.second) + ": the default of '" + name + "' is not a " + v.type);
      spec.variables[name] = v;
    }
  }
  if (auto model = root["model"]) {
    if (!model.IsMap()) throw UsageError(at(source, model) + ": model must be a mapping (provider, model, …)");
    spec.model = config::yaml_to_json(model);
  }
  if (auto tags = root["tags"]) {
    if (!tags.IsSequence()) throw UsageError(at(source, tags) + ": tags must be a list of strings");
    for (const auto& t : tags) spec.tags.push_back(expect_string(t, source, "tags"));
  }
  if (auto d = root["description"]) spec.description = expect_string(d, source, "description");
  return spec;
}

}  // namespace

void check_name(const std::string& name) {
  std::string why;
  if (name.empty())
    why = "it is empty";
  else if (name.size() > k_max_name)
    why = "it is longer than 128 characters";
  else if (name == "." || name == ".." || name.find("..") != std::string::npos)
    why = "it contains '..'";
  else if (!std::isalnum(static_cast<unsigned char>(name[0])))
    why = "it must start with a letter or digit";
  else
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
        why = c == '/'   ? "it contains '/'"
              : c == ' ' ? "it contains a space"
                         : "it contains '" + std::string(1, c) + "'";
        break;
      }
  if (!why.empty())
    throw UsageError("invalid prompt name '" + name + "': " + why,
                     "use letters, digits, '.', '_' and '-', at most 128 characters, e.g. support-triage");
}

const char* kind_name(Kind k) {
  return k == Kind::chat ? "chat" : "text";
}

Spec parse_spec(const std::string& content, const std::string& source, std::optional<bool> as_yaml) {
  if (content.size() > k_max_prompt_bytes)
    throw UsageError(source + ": prompt file is " + std::to_string(content.size()) + " bytes, over the 1 MiB limit");
  if (content.find('\0') != std::string::npos)
    throw UsageError(source + ": looks like a binary file (it contains NUL bytes)", "a prompt is UTF-8 text");
  if (!util::is_valid_utf8(content)) throw UsageError(source + ": not valid UTF-8", "save the prompt as UTF-8 text");
  if (util::trim(content).empty()) throw UsageError(source + ": the prompt is empty");
  YAML::Node root;
  bool try_yaml = as_yaml.value_or(true);
  if (try_yaml) {
    try {
      root = YAML::Load(content);
    } catch (const YAML::ParserException& e) {
      if (as_yaml.value_or(false))
        throw UsageError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": invalid YAML: " + e.msg);
      root = YAML::Node();
    }
  }
  bool structured = root.IsMap() && (root["template"] || root["messages"]);
  if (as_yaml.value_or(false) && !root.IsMap())
    throw UsageError(source + ": a YAML prompt file must be a mapping with template: or messages:");
  if (structured || as_yaml.value_or(false)) return parse_structured(root, source);
  Spec spec;
  spec.kind = Kind::text;
  spec.template_text = content;
  check_template(content, source);
  return spec;
}

std::vector<LintFinding> lint(const Spec& spec, const std::string& content) {
  std::vector<LintFinding> out;
  if (spec.templated) {
    std::set<std::string> used;
    auto collect = [&](const std::string& text) {
      for (const auto& v : tmpl::Template::parse(text).variables()) used.insert(v);
    };
    if (spec.kind == Kind::text) collect(spec.template_text);
    for (const auto& m : spec.messages) collect(m.content);
    if (spec.structured) {
      for (const auto& v : used)
        if (!spec.variables.count(v)) out.push_back({false, "variable '" + v + "' is used but not declared"});
      for (const auto& [name, _] : spec.variables)
        if (!used.count(name)) out.push_back({false, "variable '" + name + "' is declared but never used"});
    }
  }
  // Secrets and credentials only: PII in a prompt is the eval reports' business.
  static const pii::Scanner secrets(pii::ScanOptions{
      0.5,
      {"openai-api-key", "anthropic-api-key", "aws-access-key", "github-token", "slack-token", "google-api-key",
       "private-key", "jwt", "url-credentials"}});
  std::uint64_t last_line = 0;
  for (const auto& f : secrets.scan(content)) {
    if (f.line == last_line) continue;  // one finding per line is enough
    last_line = f.line;
    out.push_back({true, "line " + std::to_string(f.line) + " looks like a " + secrets.rule(f.rule_id)->name});
  }
  return out;
}

nlohmann::json resolve_vars(const Spec& spec, const nlohmann::json& given) {
  nlohmann::json vars = given.is_object() ? given : nlohmann::json::object();
  for (const auto& [name, decl] : spec.variables) {
    if (!vars.contains(name)) {
      if (decl.default_value) vars[name] = *decl.default_value;
      continue;  // a missing variable is reported by the renderer with its position
    }
    auto& v = vars[name];
    if (v.is_string() && decl.type != "string") {
      // --var values arrive as text; convert them to the declared type.
      const std::string s = v.get<std::string>();
      nlohmann::json converted = nlohmann::json::parse(s, nullptr, false);
      if (decl.type == "bool" && (s == "true" || s == "false"))
        v = s == "true";
      else if (!converted.is_discarded() && matches_type(converted, decl.type))
        v = converted;
    }
    if (!matches_type(v, decl.type))
      throw UsageError(
          "variable '" + name + "' must be a " + decl.type + ", got " + v.dump(),
          decl.type == "list" || decl.type == "object"
              ? "pass JSON, e.g. --var " + name + (decl.type == "list" ? "='[\"a\",\"b\"]'" : "='{\"k\":1}'")
              : "");
  }
  return vars;
}

nlohmann::json render(const Spec& spec, const nlohmann::json& given) {
  nlohmann::json vars = resolve_vars(spec, given);
  auto one = [&](const std::string& text) {
    if (!spec.templated) return text;
    try {
      return tmpl::Template::parse(text).render(vars);
    } catch (const tmpl::TemplateError& e) {
      throw UsageError(std::string("cannot render: ") + e.what(),
                       "pass the variable with --var NAME=VALUE or --vars-file, or give it a default");
    }
  };
  if (spec.kind == Kind::text) return one(spec.template_text);
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : spec.messages) msgs.push_back({{"role", m.role}, {"content", one(m.content)}});
  return msgs;
}

nlohmann::json load_vars_file(const std::string& path) {
  auto text = util::read_file(path);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    try {
      j = config::yaml_to_json(YAML::Load(text));
    } catch (const YAML::ParserException& e) {
      throw UsageError(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                       ": neither JSON nor YAML: " + e.msg);
    }
  }
  if (!j.is_object()) throw UsageError(path + ": variables must be a mapping of names to values");
  return j;
}

nlohmann::json to_json(const Spec& spec) {
  nlohmann::json vars = nlohmann::json::object();
  for (const auto& [name, v] : spec.variables) {
    vars[name] = {{"type", v.type}};
    if (v.default_value) vars[name]["default"] = *v.default_value;
    if (!v.description.empty()) vars[name]["description"] = v.description;
  }
  nlohmann::json j = {{"kind", kind_name(spec.kind)},
                      {"template_format", spec.templated ? "jinja" : "none"},
                      {"variables", vars},
                      {"model", spec.model},
                      {"tags", spec.tags},
                      {"description", spec.description}};
  if (spec.kind == Kind::text)
    j["template"] = spec.template_text;
  else {
    j["messages"] = nlohmann::json::array();
    for (const auto& m : spec.messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  }
  return j;
}

}  // namespace mlops::prompt
