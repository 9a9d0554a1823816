#pragma once
// A prompt file: YAML with `template:` (text) or `messages:` (chat), declared
// variables, model config, tags and a description; or plain text taken as the
// template. Parsing validates everything a later render or call relies on and
// names the file, line and key at fault.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::prompt {

// Names: 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit.
// Anything else (slashes, "..", spaces, empty) is a UsageError saying why.
void check_name(const std::string& name);

enum class Kind { text, chat };
const char* kind_name(Kind k);

struct Message {
  std::string role;  // system, user, assistant, tool
  std::string content;
};

struct Variable {
  std::string type = "string";  // string, number, bool, list, object
  std::optional<nlohmann::json> default_value;
  std::string description;
};

struct Spec {
  Kind kind = Kind::text;
  bool structured = false;  // YAML file (true) or plain text (false)
  std::string template_text;
  std::vector<Message> messages;
  std::map<std::string, Variable> variables;
  nlohmann::json model = nlohmann::json::object();
  std::vector<std::string> tags;
  std::string description;
  bool templated = true;  // false for template_format: none
};

// Parses `content` read from `source` (a path or "-" for stdin, used in errors).
// `as_yaml`: true for .yaml/.yml files, false for text files, nullopt to decide by
// content (a YAML mapping with template: or messages: is structured).
Spec parse_spec(const std::string& content, const std::string& source, std::optional<bool> as_yaml);

struct LintFinding {
  bool fatal = false;
  std::string message;
};
// Variables used but not declared and the reverse (warnings); secrets (fatal
// unless allowed); template syntax errors are thrown by parse_spec already.
std::vector<LintFinding> lint(const Spec& spec, const std::string& content);

// Checks `vars` against the declared types, fills defaults, and renders. A
// missing variable without default or a type mismatch is a UsageError naming it.
nlohmann::json resolve_vars(const Spec& spec, const nlohmann::json& vars);
// Rendered text prompt, or rendered messages for chat prompts.
nlohmann::json render(const Spec& spec, const nlohmann::json& vars);

nlohmann::json to_json(const Spec& spec);

// Reads a variables file: a JSON or YAML mapping. UsageError naming the file otherwise.
nlohmann::json load_vars_file(const std::string& path);

}  // namespace mlops::prompt
