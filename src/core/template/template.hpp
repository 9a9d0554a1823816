#pragma once
// Prompt templates: a Jinja2-compatible subset, parsed once and rendered many times.
//
// Supported (output matches Jinja2 3.1 with its default settings and StrictUndefined):
//   {{ expr }}, {% if/elif/else/endif %}, {% for x in xs [if cond] %}…{% else %}…{% endfor %}
//   (also `for k, v in obj.items()` and unpacking of pairs), {% set x = expr %},
//   {% set x %}…{% endset %}, {% raw %}…{% endraw %}, {# comments #}, and the
//   whitespace control markers {%- -%} {{- -}} {#- -#}.
//   Expressions: names, a.b, a[0], a["k"], a[-1], slices a[1:3], string/number/bool/none
//   literals, lists [..], dicts {..}, == != < <= > >= (chained), and/or/not, in/not in,
//   `x if c else y`, ~, + - * / // % **, `is [not] TEST`, filters with | and arguments.
//   Filters: upper lower title capitalize trim default(d) length(count) join replace
//   truncate tojson first last int float string list.
//   Tests: defined undefined none boolean true false integer float number string mapping
//   sequence iterable odd even divisibleby.
//   The loop variable has index index0 revindex revindex0 first last length depth depth0
//   previtem nextitem.
//
// Deliberate differences from Jinja2:
//   * The template's trailing newline is kept (Jinja's keep_trailing_newline=False drops
//     one): prompt files end with a newline and so does their rendering.
//   * Objects come from nlohmann::json, which sorts keys, so iterating an object, printing
//     it or `first`/`last` use sorted key order instead of insertion order.
//   * Values print like Python's str(): 1, 0.5, 1.0, 1e+16, True, None, ['a', 'b'],
//     {'k': 'v'}. Integers are 64-bit: arithmetic that overflows is an error instead of a
//     big integer, and so is an integer literal that does not fit.
//   * Upper/lower-casing covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic;
//     other scripts pass through unchanged. Names are ASCII identifiers.
//   * Only the calls .items(), .keys() and .values() exist; tuples, macros, include,
//     extends, blocks and the other tags are not supported (a parse error says so).
//   * obj.items() gives [key, value] lists, which print as ['k', 'v'] where Python
//     shows tuples; a list or dict literal cannot hold an undefined value (building
//     one is the undefined-variable error, where Jinja would store Undefined).
//   * Undefined variables fail like StrictUndefined, with the line and column where the
//     variable is referenced; an unclosed block is reported at the tag that opened it.
//   * Rendering stops with an error past Options::max_output_bytes of output, once the
//     strings and lists it builds add up to four times that, or past
//     Options::max_loop_iterations loop iterations, so no template can hang or exhaust
//     memory; parsing refuses nesting deeper than 64 blocks or brackets.
//   Like Jinja, "\r\n" and "\r" in the template become "\n", and `{%-` / `-%}` strip all
//   whitespace, newlines included. Line and column numbers are 1-based; columns count
//   characters (UTF-8 code points).
#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace mlops::tmpl {

// A template error: exit code 2 (usage), message starts with "line L, column C: ...".
class TemplateError : public mlops::Error {
 public:
  TemplateError(int line, int column, const std::string& message, const std::string& hint = {});
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }
  // The message without the "line L, column C: " prefix.
  const std::string& reason() const noexcept { return reason_; }

 private:
  int line_;
  int column_;
  std::string reason_;
};

struct Options {
  // Undefined variables are errors (Jinja's StrictUndefined). When false they behave
  // like Jinja's default Undefined: they print as "", are falsy and iterate as empty,
  // while attribute access and arithmetic on them are still errors.
  bool strict_undefined = true;
  // Render limits; see the header comment.
  std::size_t max_output_bytes = std::size_t{64} << 20;
  std::size_t max_loop_iterations = 10'000'000;
};

class Template {
 public:
  // The empty template: renders to "" and reads no variables.
  Template();
  // Parses once; throws TemplateError with line/column for any syntax error.
  static Template parse(std::string_view source);
  // Renders with `vars` (a JSON object, or null for none). Throws TemplateError for an
  // undefined variable (naming it and where it is used), a type error in an expression
  // or a render limit; vars is only read, never copied.
  std::string render(const nlohmann::json& vars, const Options& options = {}) const;
  // Top-level variable names the template reads (not loop variables, `loop`, or names
  // it sets before reading them), for lint.
  std::set<std::string> variables() const;

 private:
  struct Impl;
  explicit Template(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Convenience: parse + render with default options.
std::string render(std::string_view source, const nlohmann::json& vars);

}  // namespace mlops::tmpl
