#pragma once
// The parsed form of a template. Expressions and statements are plain trees owned
// by unique_ptr/vector; the parser bounds their depth so that rendering, walking and
// destroying them never recurses more than a few hundred levels.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlops::tmpl::detail {

struct Pos {
  int line = 1;
  int column = 1;
};

struct FilterSpec;
struct TestSpec;

enum class Op : std::uint8_t { add, sub, mul, div, floordiv, mod, pow, neg, plus, eq, ne, lt, le, gt, ge, in, not_in };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind : std::uint8_t {
    constant,  // value
    list,      // kids: items
    dict,      // kids: key, value, key, value, …
    name,      // name
    attr,      // kids[0].name
    item,      // kids[0][kids[1]]
    slice,     // kids[0][kids[1]:kids[2]:kids[3]], any of 1..3 may be null
    unary,     // op kids[0]
    binary,    // kids[0] op kids[1]
    and_,      // kids[0] and kids[1]
    or_,       // kids[0] or kids[1]
    not_,      // not kids[0]
    compare,   // kids[0] ops[0] kids[1] ops[1] kids[2] …
    concat,    // kids[0] ~ kids[1] ~ …
    filter,    // kids[0] | filter(kids[1..]); a null argument takes the default
    test,      // kids[0] is [not] test(kids[1..])
    cond,      // kids[0] if kids[1] else kids[2] (kids[2] may be null)
    method,    // kids[0].name() for items / keys / values
  };
  Kind kind = Kind::constant;
  Pos pos;
  int depth = 1;  // height of this subtree
  Op op = Op::add;
  bool negated = false;
  std::string name;
  nlohmann::json value;
  std::vector<Op> ops;
  std::vector<ExprPtr> kids;
  const FilterSpec* filter = nullptr;
  const TestSpec* test = nullptr;
};

struct Node;
using Body = std::vector<Node>;

struct Branch {
  ExprPtr test;
  Body body;
};

struct Node {
  enum class Kind : std::uint8_t { text, output, if_, for_, set, set_block };
  Kind kind = Kind::text;
  Pos pos;
  std::string text;                  // text
  ExprPtr expr;                      // output, set, for (the iterable)
  ExprPtr cond;                      // for … if cond
  std::vector<Branch> branches;      // if / elif
  Body body;                         // for, set_block
  Body else_body;                    // if, for
  std::vector<std::string> targets;  // for, set, set_block
};

}  // namespace mlops::tmpl::detail
