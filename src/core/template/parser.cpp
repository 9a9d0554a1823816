#include "template/parser.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "template/filters.hpp"
#include "template/lexer.hpp"
#include "template/template.hpp"
#include "util/text.hpp"

namespace mlops::tmpl::detail {
namespace {

// Tags that close or continue a block; seen anywhere else they are stray.
constexpr std::array<std::string_view, 5> k_block_words = {"elif", "else", "endif", "endfor", "endset"};
// Jinja tags this engine leaves out on purpose.
constexpr std::array<std::string_view, 16> k_unsupported_tags = {
    "include", "extends", "block",  "endblock",  "macro", "endmacro", "call",  "endcall",
    "import",  "from",    "filter", "endfilter", "with",  "endwith",  "break", "continue"};

std::string closing_tag(std::string_view block) {
  return "{% end" + std::string(block) + " %}";
}

std::string position_text(Pos p) {
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Node make_node(Node::Kind kind, Pos pos) {
  Node n;
  n.kind = kind;
  n.pos = pos;
  return n;
}

struct OpenBlock {
  std::string_view name;  // if, for, set
  Pos pos;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body parse_template() {
    Body body;
    parse_body(body, {}, nullptr);
    return body;
  }

 private:
  std::vector<Token> toks_;
  std::size_t i_ = 0;
  int block_depth_ = 0;
  int expr_depth_ = 0;

  // Counts recursion into nested expressions and blocks.
  class Nesting {
   public:
    Nesting(Parser& p, int& counter, const char* what) : counter_(counter) {
      if (++counter_ > k_max_nesting)
        p.fail(p.cur(),
               std::string(what) + " nested too deeply (more than " + std::to_string(k_max_nesting) + " levels)");
    }
    ~Nesting() { --counter_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    int& counter_;
  };

  const Token& cur() const { return toks_[i_]; }
  const Token& peek() const { return toks_[std::min(i_ + 1, toks_.size() - 1)]; }
  void advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  bool at_op(std::string_view op) const { return cur().type == Tok::op && cur().text == op; }
  bool at_name(std::string_view name) const { return cur().type == Tok::name && cur().text == name; }

  [[noreturn]] void fail(const Token& t, const std::string& message, const std::string& hint = {}) const {
    throw TemplateError(t.pos.line, t.pos.column, message, hint);
  }
  [[noreturn]] void fail_at(Pos p, const std::string& message, const std::string& hint = {}) const {
    throw TemplateError(p.line, p.column, message, hint);
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::name:
      case Tok::op:
        return "'" + t.text + "'";
      case Tok::string:
        return "a string";
      case Tok::integer:
      case Tok::floating:
        return "a number";
      case Tok::var_begin:
        return "'{{'";
      case Tok::var_end:
        return "'}}'";
      case Tok::block_begin:
        return "'{%'";
      case Tok::block_end:
        return "'%}'";
      case Tok::data:
        return "text";
      case Tok::eof:
        break;
    }
    return "the end of the template";
  }

  void expect_op(std::string_view op) {
    if (!at_op(op)) fail(cur(), "expected '" + std::string(op) + "', got " + describe(cur()));
    advance();
  }
  void expect_block_end() {
    if (cur().type != Tok::block_end) fail(cur(), "expected '%}' to end the tag, got " + describe(cur()));
    advance();
  }
  std::string expect_name(const char* what) {
    if (cur().type != Tok::name) fail(cur(), std::string("expected ") + what + ", got " + describe(cur()));
    std::string name = cur().text;
    advance();
    return name;
  }

  // ---- statements -------------------------------------------------------

  // Parses nodes into `out` until the end of the template (only valid when no block
  // is open) or a tag named in `ends`, and returns that tag's name with the parser
  // just past it.
  std::string parse_body(Body& out, std::initializer_list<std::string_view> ends, const OpenBlock* open) {
    while (true) {
      const Token& t = cur();
      switch (t.type) {
        case Tok::eof:
          if (open)
            fail_at(open->pos,
                    "'" + std::string(open->name) + "' block is never closed: missing " + closing_tag(open->name),
                    "the template ended while this block was still open");
          return {};
        case Tok::data:
          out.push_back(make_node(Node::Kind::text, t.pos));
          out.back().text = t.text;
          advance();
          break;
        case Tok::var_begin: {
          Node n = make_node(Node::Kind::output, t.pos);
          advance();
          n.expr = parse_expression(true);
          if (cur().type != Tok::var_end) fail(cur(), "expected '}}' to end the expression, got " + describe(cur()));
          advance();
          out.push_back(std::move(n));
          break;
        }
        case Tok::block_begin: {
          Pos pos = t.pos;
          const Token& name = peek();
          if (name.type == Tok::name && std::find(ends.begin(), ends.end(), name.text) != ends.end()) {
            std::string tag = name.text;
            advance();
            advance();
            return tag;
          }
          advance();
          parse_statement(out, pos, open);
          break;
        }
        default:
          fail(t, "unexpected " + describe(t));
      }
    }
  }

  void parse_statement(Body& out, Pos pos, const OpenBlock* open) {
    if (cur().type != Tok::name) fail(cur(), "expected a tag name after '{%', got " + describe(cur()));
    const Token& tag = cur();
    if (tag.text == "if") return parse_if(out, pos);
    if (tag.text == "for") return parse_for(out, pos);
    if (tag.text == "set") return parse_set(out, pos);
    if (std::find(k_block_words.begin(), k_block_words.end(), tag.text) != k_block_words.end()) {
      std::string shown = "{% " + tag.text + " %}";
      if (!open) {
        if (tag.text == "else" || tag.text == "elif")
          fail(tag, "unexpected " + shown + " outside of an if or for block");
        fail(tag, "unexpected " + shown + ": there is no open '" + tag.text.substr(3) + "' block");
      }
      fail(tag, "unexpected " + shown + ": the innermost open block is '" + std::string(open->name) + "' (" +
                    position_text(open->pos) + "), which ends with " + closing_tag(open->name));
    }
    if (std::find(k_unsupported_tags.begin(), k_unsupported_tags.end(), tag.text) != k_unsupported_tags.end())
      fail(tag, "unsupported tag '" + tag.text + "'",
           "templates support if, elif, else, for, set and raw; inline other templates before rendering");
    std::string near = util::nearest(tag.text, {"if", "for", "set", "raw", "endif", "endfor", "endset", "endraw"});
    fail(tag, "unknown tag '" + tag.text + "'",
         near.empty() ? "known tags: if, elif, else, endif, for, endfor, set, endset, raw, endraw"
                      : "did you mean '" + near + "'?");
  }

  void parse_if(Body& out, Pos pos) {
    Nesting guard(*this, block_depth_, "blocks");
    OpenBlock open{"if", pos};
    Node n = make_node(Node::Kind::if_, pos);
    advance();
    while (true) {
      Branch branch;
      branch.test = parse_expression(false);
      expect_block_end();
      std::string tag = parse_body(branch.body, {"elif", "else", "endif"}, &open);
      n.branches.push_back(std::move(branch));
      if (tag == "elif") continue;
      if (tag == "else") {
        expect_block_end();
        parse_body(n.else_body, {"endif"}, &open);
      }
      expect_block_end();
      break;
    }
    out.push_back(std::move(n));
  }

  std::vector<std::string> parse_targets(const char* tag) {
    std::vector<std::string> targets;
    do {
      if (!targets.empty()) advance();
      Token t = cur();
      std::string name = expect_name("a variable name");
      if (name == "loop" && std::string_view(tag) == "for")
        fail(t, "'loop' cannot be a loop variable: it is the name of the loop's own state");
      if (name == "true" || name == "false" || name == "none" || name == "True" || name == "False" || name == "None")
        fail(t, "cannot assign to '" + name + "'");
      targets.push_back(std::move(name));
    } while (at_op(","));
    return targets;
  }

  void parse_for(Body& out, Pos pos) {
    Nesting guard(*this, block_depth_, "blocks");
    OpenBlock open{"for", pos};
    Node n = make_node(Node::Kind::for_, pos);
    advance();
    n.targets = parse_targets("for");
    if (!at_name("in")) fail(cur(), "expected 'in' in the for tag, got " + describe(cur()));
    advance();
    n.expr = parse_expression(false);
    if (at_name("if")) {
      advance();
      n.cond = parse_expression(true);
    }
    if (at_name("recursive")) fail(cur(), "recursive loops are not supported");
    expect_block_end();
    std::string tag = parse_body(n.body, {"else", "endfor"}, &open);
    if (tag == "else") {
      expect_block_end();
      parse_body(n.else_body, {"endfor"}, &open);
    }
    expect_block_end();
    out.push_back(std::move(n));
  }

  void parse_set(Body& out, Pos pos) {
    advance();
    Node n = make_node(Node::Kind::set, pos);
    n.targets = parse_targets("set");
    if (at_op("=")) {
      advance();
      n.expr = parse_expression(true);
      expect_block_end();
      out.push_back(std::move(n));
      return;
    }
    if (cur().type != Tok::block_end) fail(cur(), "expected '=' or '%}' in the set tag, got " + describe(cur()));
    if (n.targets.size() != 1) fail(cur(), "a {% set %} block assigns a single name");
    Nesting guard(*this, block_depth_, "blocks");
    OpenBlock open{"set", pos};
    advance();
    n.kind = Node::Kind::set_block;
    parse_body(n.body, {"endset"}, &open);
    expect_block_end();
    out.push_back(std::move(n));
  }

  // ---- expressions ------------------------------------------------------

  ExprPtr make(Expr::Kind kind, Pos pos, std::vector<ExprPtr> kids = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    int depth = 0;
    for (const auto& k : kids)
      if (k) depth = std::max(depth, k->depth);
    e->depth = depth + 1;
    if (e->depth > k_max_expression_depth)
      fail_at(pos,
              "expression is too complex (more than " + std::to_string(k_max_expression_depth) + " nested operations)",
              "split it with {% set %}");
    e->kids = std::move(kids);
    return e;
  }

  static std::vector<ExprPtr> kids(ExprPtr a, ExprPtr b = nullptr) {
    std::vector<ExprPtr> v;
    v.push_back(std::move(a));
    if (b) v.push_back(std::move(b));
    return v;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    Nesting guard(*this, expr_depth_, "expressions");
    ExprPtr e = parse_or();
    if (!with_condexpr) return e;
    while (at_name("if")) {
      Pos pos = e->pos;
      advance();
      ExprPtr test = parse_or();
      ExprPtr otherwise;
      if (at_name("else")) {
        advance();
        otherwise = parse_expression(true);
      }
      std::vector<ExprPtr> parts;
      parts.push_back(std::move(e));
      parts.push_back(std::move(test));
      parts.push_back(std::move(otherwise));
      e = make(Expr::Kind::cond, pos, std::move(parts));
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (at_name("or")) {
      Pos pos = cur().pos;
      advance();
      left = make(Expr::Kind::or_, pos, kids(std::move(left), parse_and()));
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (at_name("and")) {
      Pos pos = cur().pos;
      advance();
      left = make(Expr::Kind::and_, pos, kids(std::move(left), parse_not()));
    }
    return left;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      Nesting guard(*this, expr_depth_, "expressions");
      Pos pos = cur().pos;
      advance();
      return make(Expr::Kind::not_, pos, kids(parse_not()));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    std::vector<ExprPtr> operands;
    std::vector<Op> ops;
    Pos pos = first->pos;
    while (true) {
      Op op;
      if (cur().type == Tok::op && cur().text == "==")
        op = Op::eq;
      else if (at_op("!="))
        op = Op::ne;
      else if (at_op("<"))
        op = Op::lt;
      else if (at_op("<="))
        op = Op::le;
      else if (at_op(">"))
        op = Op::gt;
      else if (at_op(">="))
        op = Op::ge;
      else if (at_name("in"))
        op = Op::in;
      else if (at_name("not") && peek().type == Tok::name && peek().text == "in") {
        advance();
        op = Op::not_in;
      } else {
        break;
      }
      advance();
      if (operands.empty()) operands.push_back(std::move(first));
      operands.push_back(parse_math1());
      ops.push_back(op);
    }
    if (operands.empty()) return first;
    ExprPtr e = make(Expr::Kind::compare, pos, std::move(operands));
    e->ops = std::move(ops);
    return e;
  }

  ExprPtr binary(Op op, Pos pos, ExprPtr left, ExprPtr right) {
    ExprPtr e = make(Expr::Kind::binary, pos, kids(std::move(left), std::move(right)));
    e->op = op;
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (at_op("+") || at_op("-")) {
      Op op = cur().text == "+" ? Op::add : Op::sub;
      Pos pos = cur().pos;
      advance();
      left = binary(op, pos, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr first = parse_math2();
    if (!at_op("~")) return first;
    Pos pos = first->pos;
    std::vector<ExprPtr> parts;
    parts.push_back(std::move(first));
    while (at_op("~")) {
      advance();
      parts.push_back(parse_math2());
    }
    return make(Expr::Kind::concat, pos, std::move(parts));
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const std::string& t = cur().text;
      Op op = t == "*" ? Op::mul : t == "/" ? Op::div : t == "//" ? Op::floordiv : Op::mod;
      Pos pos = cur().pos;
      advance();
      left = binary(op, pos, std::move(left), parse_pow());
    }
    return left;
  }

  // Left-associative, as in Jinja: 2 ** 3 ** 2 is 64.
  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (at_op("**")) {
      Pos pos = cur().pos;
      advance();
      left = binary(Op::pow, pos, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr node;
    if (at_op("-") || at_op("+")) {
      Nesting guard(*this, expr_depth_, "expressions");
      Op op = cur().text == "-" ? Op::neg : Op::plus;
      Pos pos = cur().pos;
      advance();
      node = make(Expr::Kind::unary, pos, kids(parse_unary(false)));
      node->op = op;
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr constant(Pos pos, json value) {
    ExprPtr e = make(Expr::Kind::constant, pos);
    e->value = std::move(value);
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    Pos pos = t.pos;
    switch (t.type) {
      case Tok::name: {
        std::string name = t.text;
        advance();
        if (name == "true" || name == "True") return constant(pos, true);
        if (name == "false" || name == "False") return constant(pos, false);
        if (name == "none" || name == "None") return constant(pos, nullptr);
        ExprPtr e = make(Expr::Kind::name, pos);
        e->name = std::move(name);
        return e;
      }
      case Tok::string: {
        // Adjacent string literals join, as in Python.
        std::string s;
        while (cur().type == Tok::string) {
          s += cur().text;
          advance();
        }
        return constant(pos, std::move(s));
      }
      case Tok::integer: {
        std::uint64_t v = t.integer;
        advance();
        if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return constant(pos, static_cast<std::int64_t>(v));
        return constant(pos, v);
      }
      case Tok::floating: {
        double v = t.floating;
        advance();
        return constant(pos, v);
      }
      case Tok::op:
        if (t.text == "(") {
          advance();
          ExprPtr e = parse_expression(true);
          if (at_op(",")) fail(cur(), "tuples are not supported", "use a list: [a, b]");
          expect_op(")");
          return e;
        }
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default:
        break;
    }
    fail(t, "expected an expression, got " + describe(t));
  }

  ExprPtr parse_list() {
    Pos pos = cur().pos;
    advance();
    std::vector<ExprPtr> items;
    while (!at_op("]")) {
      items.push_back(parse_expression(true));
      if (!at_op(",")) break;
      advance();
    }
    expect_op("]");
    return make(Expr::Kind::list, pos, std::move(items));
  }

  ExprPtr parse_dict() {
    Pos pos = cur().pos;
    advance();
    std::vector<ExprPtr> items;
    while (!at_op("}")) {
      items.push_back(parse_expression(true));
      expect_op(":");
      items.push_back(parse_expression(true));
      if (!at_op(",")) break;
      advance();
    }
    expect_op("}");
    return make(Expr::Kind::dict, pos, std::move(items));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (at_op(".")) {
        advance();
        Pos pos = node->pos;
        if (cur().type == Tok::name) {
          std::string name = cur().text;
          advance();
          node = make(Expr::Kind::attr, pos, kids(std::move(node)));
          node->name = std::move(name);
        } else if (cur().type == Tok::integer) {
          ExprPtr index = constant(cur().pos, static_cast<std::int64_t>(std::min<std::uint64_t>(
                                                  cur().integer, std::numeric_limits<std::int64_t>::max())));
          advance();
          node = make(Expr::Kind::item, pos, kids(std::move(node), std::move(index)));
        } else {
          fail(cur(), "expected a name or a number after '.', got " + describe(cur()));
        }
      } else if (at_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (at_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    Pos pos = node->pos;
    advance();
    ExprPtr start;
    if (!at_op(":")) {
      start = parse_expression(true);
      if (at_op(",")) fail(cur(), "tuple subscripts are not supported");
      if (at_op("]")) {
        advance();
        return make(Expr::Kind::item, pos, kids(std::move(node), std::move(start)));
      }
    }
    expect_op(":");
    ExprPtr stop;
    ExprPtr step;
    if (!at_op("]") && !at_op(":")) stop = parse_expression(true);
    if (at_op(":")) {
      advance();
      if (!at_op("]")) step = parse_expression(true);
    }
    expect_op("]");
    std::vector<ExprPtr> parts;
    parts.push_back(std::move(node));
    parts.push_back(std::move(start));
    parts.push_back(std::move(stop));
    parts.push_back(std::move(step));
    return make(Expr::Kind::slice, pos, std::move(parts));
  }

  ExprPtr parse_call(ExprPtr node) {
    const Token& paren = cur();
    if (node->kind == Expr::Kind::attr && (node->name == "items" || node->name == "keys" || node->name == "values") &&
        peek().type == Tok::op && peek().text == ")") {
      advance();
      advance();
      ExprPtr e = make(Expr::Kind::method, node->pos, std::move(node->kids));
      e->name = std::move(node->name);
      return e;
    }
    fail(paren, "function calls are not supported, except .items(), .keys() and .values()",
         "use a filter instead, e.g. {{ name | upper }}");
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (at_op("|"))
        node = parse_filter(std::move(node));
      else if (at_name("is"))
        node = parse_test(std::move(node));
      else if (at_op("("))
        node = parse_call(std::move(node));
      else
        return node;
    }
  }

  // Binds call arguments to parameters: positional first, then name=value.
  std::vector<ExprPtr> parse_args(std::string_view callee, const std::vector<Param>& params) {
    std::vector<ExprPtr> slots(params.size());
    std::string what = std::string(callee) + "()";
    if (at_op("(")) {
      advance();
      std::size_t positional = 0;
      bool keyword_seen = false;
      while (!at_op(")")) {
        const Token& t = cur();
        if (t.type == Tok::name && peek().type == Tok::op && peek().text == "=") {
          auto it = std::find_if(params.begin(), params.end(), [&](const Param& p) { return p.name == t.text; });
          if (it == params.end()) fail(t, what + " got an unexpected keyword argument '" + t.text + "'");
          auto index = static_cast<std::size_t>(it - params.begin());
          if (slots[index]) fail(t, what + " got multiple values for argument '" + t.text + "'");
          advance();
          advance();
          slots[index] = parse_expression(true);
          keyword_seen = true;
        } else {
          if (keyword_seen) fail(t, "positional argument follows keyword argument");
          if (positional >= params.size())
            fail(t, params.empty() ? what + " takes no arguments"
                                   : what + " takes at most " + std::to_string(params.size()) + " argument" +
                                         (params.size() == 1 ? "" : "s"));
          slots[positional++] = parse_expression(true);
        }
        if (!at_op(",")) break;
        advance();
      }
      expect_op(")");
    }
    for (std::size_t k = 0; k < params.size(); ++k)
      if (params[k].required && !slots[k])
        fail(cur(), what + " is missing required argument '" + std::string(params[k].name) + "'");
    return slots;
  }

  ExprPtr parse_filter(ExprPtr node) {
    advance();
    const Token name_tok = cur();
    std::string name = expect_name("a filter name after '|'");
    const FilterSpec* spec = find_filter(name);
    if (!spec) {
      std::string near = util::nearest(name, filter_names());
      fail(name_tok, "unknown filter '" + name + "'",
           near.empty() ? "known filters: " + join(filter_names()) : "did you mean '" + near + "'?");
    }
    std::vector<ExprPtr> parts;
    parts.push_back(std::move(node));
    for (auto& a : parse_args(spec->name, spec->params)) parts.push_back(std::move(a));
    ExprPtr e = make(Expr::Kind::filter, name_tok.pos, std::move(parts));
    e->filter = spec;
    return e;
  }

  ExprPtr parse_test(ExprPtr node) {
    advance();
    bool negated = false;
    if (at_name("not")) {
      negated = true;
      advance();
    }
    const Token name_tok = cur();
    std::string name = expect_name("a test name after 'is'");
    const TestSpec* spec = find_test(name);
    if (!spec) {
      std::string near = util::nearest(name, test_names());
      fail(name_tok, "unknown test '" + name + "'",
           near.empty() ? "known tests: " + join(test_names()) : "did you mean '" + near + "'?");
    }
    std::vector<ExprPtr> parts;
    parts.push_back(std::move(node));
    const Token& t = cur();
    bool bare_argument = (t.type == Tok::name || t.type == Tok::string || t.type == Tok::integer ||
                          t.type == Tok::floating || (t.type == Tok::op && (t.text == "[" || t.text == "{"))) &&
                         !(t.type == Tok::name && (t.text == "else" || t.text == "or" || t.text == "and"));
    if (at_op("(")) {
      for (auto& a : parse_args(spec->name, spec->params)) parts.push_back(std::move(a));
    } else if (bare_argument) {
      // `x is divisibleby 3`: one argument without parentheses.
      if (at_name("is")) fail(t, "tests cannot be chained with 'is'");
      if (spec->params.empty()) fail(t, "test '" + name + "' takes no arguments");
      ExprPtr arg = parse_postfix(parse_primary());
      parts.push_back(std::move(arg));
      for (std::size_t k = 1; k < spec->params.size(); ++k) parts.push_back(nullptr);
    } else {
      for (auto& a : parse_args(spec->name, spec->params)) parts.push_back(std::move(a));
    }
    ExprPtr e = make(Expr::Kind::test, name_tok.pos, std::move(parts));
    e->test = spec;
    e->negated = negated;
    return e;
  }
};

// ---- variables() ----------------------------------------------------------

class FreeVariables {
 public:
  std::set<std::string> found;

  // Names bound inside a block are dropped after it: a read after an if may
  // still fall back to the render variables.
  void scoped(const Body& b) {
    std::size_t mark = bound_.size();
    for (const Node& n : b) node(n);
    bound_.resize(mark);
  }

 private:
  std::vector<std::string> bound_;

  bool is_bound(const std::string& name) const {
    return name == "loop" || std::find(bound_.begin(), bound_.end(), name) != bound_.end();
  }

  void expr(const Expr* e) {
    if (!e) return;
    if (e->kind == Expr::Kind::name && !is_bound(e->name)) found.insert(e->name);
    for (const auto& k : e->kids) expr(k.get());
  }

  void node(const Node& n) {
    switch (n.kind) {
      case Node::Kind::text:
        return;
      case Node::Kind::output:
        expr(n.expr.get());
        return;
      case Node::Kind::if_:
        for (const auto& br : n.branches) {
          expr(br.test.get());
          scoped(br.body);
        }
        scoped(n.else_body);
        return;
      case Node::Kind::for_: {
        expr(n.expr.get());
        std::size_t mark = bound_.size();
        bound_.insert(bound_.end(), n.targets.begin(), n.targets.end());
        expr(n.cond.get());
        scoped(n.body);
        bound_.resize(mark);
        scoped(n.else_body);
        return;
      }
      case Node::Kind::set:
        expr(n.expr.get());
        bound_.insert(bound_.end(), n.targets.begin(), n.targets.end());
        return;
      case Node::Kind::set_block:
        scoped(n.body);
        bound_.insert(bound_.end(), n.targets.begin(), n.targets.end());
        return;
    }
  }
};

}  // namespace

Body parse(std::string_view source) {
  return Parser(tokenize(source)).parse_template();
}

std::set<std::string> free_variables(const Body& body) {
  FreeVariables v;
  v.scoped(body);
  return std::move(v.found);
}

}  // namespace mlops::tmpl::detail
