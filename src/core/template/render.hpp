#pragma once
// Renders a parsed template: evaluates expressions with Jinja's semantics and
// writes the output. One Renderer serves one render() call.
#include <string>
#include <string_view>
#include <vector>

#include "template/ast.hpp"
#include "template/template.hpp"
#include "template/value.hpp"

namespace mlops::tmpl::detail {

class Renderer {
 public:
  Renderer(const json& vars, const Options& options) : vars_(vars), options_(options) {}
  void render(const Body& body) { render_body(body); }
  std::string take() { return std::move(out_); }

  // The services below are shared with the filters and tests.
  const Options& options() const { return options_; }
  [[noreturn]] void fail(Pos where, const std::string& message, const std::string& hint = {}) const;
  // Reports the use of an undefined value at the place it was referenced.
  [[noreturn]] void fail_undefined(const Value& v) const;
  // Whether undefined `v` may quietly act as empty and false (Jinja's plain Undefined).
  bool lenient(const Value& v) const;
  // The JSON of a defined value; a lenient undefined reads as "", a strict one
  // throws, and so does `loop`.
  const json& need(const Value& v, Pos where) const;
  // Python's str(v).
  std::string str(const Value& v, Pos where) const;
  void append_str(std::string& out, const Value& v, Pos where) const;
  bool truthy(const Value& v) const;
  // What `for x in v` visits: list items, the characters of a string, dict keys.
  std::vector<Value> iterate(const Value& v, Pos where) const;
  // Refuses strings and lists that would pass the output limit.
  void check_size(std::size_t bytes, Pos where) const;
  // Refuses template-built lists and dicts nested past the limit.
  void check_nesting(int nesting, Pos where) const;
  // Counts data the template copies or builds (lists, dicts, strings) against a
  // budget of four times the output limit for the whole render, so that neither
  // memory nor time can grow much past what the output may hold.
  void charge(std::size_t bytes, Pos where) const;
  void charge_copy(const json& j, Pos where) const;
  std::size_t budget() const;
  Value eval(const Expr& e);

 private:
  struct Binding {
    std::string_view name;
    Value value;
  };

  const json& vars_;
  const Options& options_;
  std::string out_;
  std::vector<Binding> bindings_;  // set and loop variables, innermost scope last
  std::size_t scope_start_ = 0;    // first binding of the innermost scope
  std::size_t iterations_ = 0;
  mutable std::size_t charged_ = 0;

  void render_body(const Body& body);
  void render_for(const Node& n);
  void emit(std::string_view text, Pos where);
  void assign(std::string_view name, Value v);
  void bind_targets(const std::vector<std::string>& targets, const Value& item, const Value* second, Pos where);

  Value lookup(const Expr& e) const;
  Value loop_attribute(const Value& loop, const std::string& name, const std::string& path, Pos where) const;
  Value get_attr(const Expr& e);
  Value get_item(const Expr& e);
  Value get_slice(const Expr& e);
  Value call_method(const Expr& e);
  Value build_list(const Expr& e);
  Value build_dict(const Expr& e);
  Value unary(const Expr& e);
  Value binary(const Expr& e);
  Value concat(const Expr& e);
  bool compare(Op op, const Value& a, const Value& b, Pos where) const;
  bool contains(const Value& container, const Value& item, Pos where) const;
  json copy_for_container(const Value& v, Pos where) const;
  std::string path(const Expr& e) const;
};

// Shared constants, so booleans and empty strings need no allocation.
Value bool_value(bool b);
Value string_value(std::string s);

}  // namespace mlops::tmpl::detail
