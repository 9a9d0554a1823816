#pragma once
// Render-time values and the Python semantics Jinja gives them: str(), repr(),
// truthiness, ==, ordering and json.dumps. A Value points into the caller's
// variables or into the template's constants without copying; only values the
// template computes own their JSON.
#include <nlohmann/json.hpp>

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "template/ast.hpp"

namespace mlops::tmpl::detail {

using json = nlohmann::json;

class Value;

// The `loop` variable of the innermost for loop.
struct LoopState {
  std::size_t index0 = 0;
  std::size_t length = 0;
  const std::vector<Value>* items = nullptr;    // the (filtered) items, for previtem/nextitem
  const std::vector<Value>* seconds = nullptr;  // the values, when iterating obj.items() into two names
};

struct UndefinedInfo {
  std::string name;    // the variable path as written, "user.name", "items[3]"
  Pos pos;             // where the template refers to it
  std::string reason;  // instead of "undefined variable …" when set
  bool lenient;        // behaves like Jinja's plain Undefined even in strict mode
};

class Value {
 public:
  Value() = default;  // undefined, with nothing to report
  static Value ref(const json& j) {
    Value v;
    v.json_ = &j;
    return v;
  }
  static Value own(json j, int nesting = 0) {
    auto held = std::make_shared<const json>(std::move(j));
    Value v;
    v.json_ = held.get();
    v.hold_ = std::move(held);
    v.nesting_ = nesting;
    return v;
  }
  static Value undefined(std::string name, Pos pos, std::string reason = {}, bool lenient = false) {
    Value v;
    v.undefined_ =
        std::make_shared<const UndefinedInfo>(UndefinedInfo{std::move(name), pos, std::move(reason), lenient});
    return v;
  }
  static Value loop(const LoopState& state) {
    Value v;
    v.loop_ = &state;
    return v;
  }

  bool defined() const { return json_ != nullptr || loop_ != nullptr; }
  bool is_json() const { return json_ != nullptr; }
  bool is_loop() const { return loop_ != nullptr; }
  // True when the JSON was computed by the template rather than borrowed.
  bool owned() const { return hold_ != nullptr; }
  const json& get() const { return *json_; }
  const LoopState& loop_state() const { return *loop_; }
  const UndefinedInfo* undefined_info() const { return undefined_.get(); }
  // How many levels of lists and dicts the template itself has wrapped around
  // outside data; bounded so that no value becomes too deep to print or copy.
  int nesting() const { return nesting_; }
  // A value inside this one (same lifetime).
  Value child(const json& j) const {
    Value v = *this;
    v.json_ = &j;
    return v;
  }

 private:
  const json* json_ = nullptr;
  std::shared_ptr<const json> hold_;
  const LoopState* loop_ = nullptr;
  std::shared_ptr<const UndefinedInfo> undefined_;
  int nesting_ = 0;
};

// Python's name for the type of j: str, int, float, bool, NoneType, list, dict.
const char* type_name(const json& j);

// Numbers as Python sees them: bools are the integers 0 and 1.
struct Number {
  bool is_float = false;
  std::int64_t i = 0;
  double f = 0;
  double as_double() const { return is_float ? f : static_cast<double>(i); }
};
std::optional<Number> to_number(const json& j);
json from_number(const Number& n);

// The functions below recurse into lists and dicts; past a few hundred levels
// they throw TemplateError at `where` instead of exhausting the stack.
std::string float_repr(double d);
void append_str(std::string& out, const json& j, Pos where);   // str(j)
void append_repr(std::string& out, const json& j, Pos where);  // repr(j)
bool truthy(const json& j);
// Approximate memory a copy of j takes, counted only up to a little past `cap`.
std::size_t copy_cost(const json& j, std::size_t cap);
bool equal(const json& a, const json& b, Pos where);
// a <=> b for numbers, strings and lists; nullopt when Python would raise TypeError.
std::optional<std::partial_ordering> compare(const json& a, const json& b, Pos where);
// Jinja's tojson: json.dumps(sort_keys=True) with <, >, & and ' escaped as \u00XX.
// An empty indent means the one-line form with ", " and ": " separators.
void append_json(std::string& out, const json& j, const std::optional<std::string>& indent, Pos where);

}  // namespace mlops::tmpl::detail
