#include "template/render.hpp"

#include <cmath>
#include <limits>

#include "template/filters.hpp"
#include "template/parser.hpp"
#include "template/unicode.hpp"

namespace mlops::tmpl::detail {
namespace {

const char* op_symbol(Op op) {
  switch (op) {
    case Op::add:
    case Op::plus:
      return "+";
    case Op::sub:
    case Op::neg:
      return "-";
    case Op::mul:
      return "*";
    case Op::div:
      return "/";
    case Op::floordiv:
      return "//";
    case Op::mod:
      return "%";
    case Op::pow:
      return "**";
    case Op::eq:
      return "==";
    case Op::ne:
      return "!=";
    case Op::lt:
      return "<";
    case Op::le:
      return "<=";
    case Op::gt:
      return ">";
    case Op::ge:
      return ">=";
    case Op::in:
      return "in";
    case Op::not_in:
      return "not in";
  }
  return "?";
}

// An integer index (bools count, as in Python); nullopt for anything else.
std::optional<std::int64_t> as_index(const json& j) {
  if (j.is_boolean() || j.is_number_integer() || j.is_number_unsigned()) {
    auto n = to_number(j);
    if (n && !n->is_float) return n->i;
  }
  return std::nullopt;
}

// Python's float floor division and modulo (Objects/floatobject.c: float_divmod).
double py_float_mod(double a, double b) {
  double mod = std::fmod(a, b);
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = std::copysign(0.0, b);
  }
  return mod;
}

double py_float_floordiv(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double floordiv = std::floor(div);
  if (div - floordiv > 0.5) floordiv += 1.0;
  return floordiv;
}

}  // namespace

Value bool_value(bool b) {
  static const json t(true);
  static const json f(false);
  return Value::ref(b ? t : f);
}

Value string_value(std::string s) {
  return Value::own(json(std::move(s)));
}

// ---- services ---------------------------------------------------------------

void Renderer::fail(Pos where, const std::string& message, const std::string& hint) const {
  throw TemplateError(where.line, where.column, message, hint);
}

void Renderer::fail_undefined(const Value& v) const {
  const UndefinedInfo* info = v.undefined_info();
  if (!info) fail(Pos{}, "undefined value");
  if (!info->reason.empty()) fail(info->pos, info->reason);
  fail(info->pos, "undefined variable '" + info->name + "'",
       "pass a value for it, or give a fallback: {{ " + info->name + " | default('') }}");
}

bool Renderer::lenient(const Value& v) const {
  const UndefinedInfo* info = v.undefined_info();
  return !options_.strict_undefined || !info || info->lenient;
}

const json& Renderer::need(const Value& v, Pos where) const {
  static const json empty = "";
  if (v.is_json()) return v.get();
  if (v.is_loop()) fail(where, "'loop' cannot be used as a value here", "use one of its attributes, e.g. loop.index");
  if (lenient(v)) return empty;
  fail_undefined(v);
}

void Renderer::append_str(std::string& out, const Value& v, Pos where) const {
  if (v.is_json()) {
    detail::append_str(out, v.get(), where);
  } else if (v.is_loop()) {
    const LoopState& s = v.loop_state();
    out += "<LoopContext " + std::to_string(s.index0 + 1) + "/" + std::to_string(s.length) + ">";
  } else if (!lenient(v)) {
    fail_undefined(v);
  }
}

std::string Renderer::str(const Value& v, Pos where) const {
  std::string s;
  append_str(s, v, where);
  return s;
}

bool Renderer::truthy(const Value& v) const {
  if (v.is_json()) return detail::truthy(v.get());
  if (v.is_loop()) return true;
  if (!lenient(v)) fail_undefined(v);
  return false;
}

std::vector<Value> Renderer::iterate(const Value& v, Pos where) const {
  std::vector<Value> items;
  if (!v.defined()) {
    if (!lenient(v)) fail_undefined(v);
    return items;
  }
  if (v.is_loop()) fail(where, "cannot iterate over 'loop'");
  const json& j = v.get();
  if (j.is_array()) {
    items.reserve(j.size());
    for (const auto& e : j) items.push_back(v.child(e));
  } else if (j.is_object()) {
    items.reserve(j.size());
    charge(j.size() * (sizeof(Value) + sizeof(json)), where);
    for (auto it = j.begin(); it != j.end(); ++it) items.push_back(string_value(it.key()));
  } else if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    charge(s.size() * (sizeof(Value) + sizeof(json)), where);
    for (std::size_t i = 0; i < s.size();) {
      std::size_t n = decode_utf8(s, i).len;
      items.push_back(string_value(s.substr(i, n)));
      i += n;
    }
  } else {
    fail(where, std::string("'") + type_name(j) + "' object is not iterable");
  }
  return items;
}

void Renderer::check_size(std::size_t bytes, Pos where) const {
  if (bytes > options_.max_output_bytes)
    fail(where, "the result would exceed the render limit of " + std::to_string(options_.max_output_bytes) + " bytes");
}

void Renderer::check_nesting(int nesting, Pos where) const {
  if (nesting > k_max_nesting)
    fail(where, "lists and dicts nested too deeply (more than " + std::to_string(k_max_nesting) + " levels)");
}

std::size_t Renderer::budget() const {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  return options_.max_output_bytes > max / 4 ? max : options_.max_output_bytes * 4;
}

void Renderer::charge(std::size_t bytes, Pos where) const {
  std::size_t budget = this->budget();
  if (bytes > budget - std::min(charged_, budget))
    fail(where, "the template builds more than " + std::to_string(budget) + " bytes of strings and lists",
         "the limit is four times Options::max_output_bytes");
  charged_ += bytes;
}

void Renderer::charge_copy(const json& j, Pos where) const {
  charge(copy_cost(j, budget()), where);
}

// ---- statements ---------------------------------------------------------------

void Renderer::emit(std::string_view text, Pos where) {
  out_ += text;
  if (out_.size() > options_.max_output_bytes)
    fail(where, "rendered output exceeds the limit of " + std::to_string(options_.max_output_bytes) + " bytes");
}

void Renderer::assign(std::string_view name, Value v) {
  for (std::size_t i = bindings_.size(); i > scope_start_; --i) {
    if (bindings_[i - 1].name == name) {
      bindings_[i - 1].value = std::move(v);
      return;
    }
  }
  bindings_.push_back(Binding{name, std::move(v)});
}

void Renderer::bind_targets(const std::vector<std::string>& targets, const Value& item, const Value* second,
                            Pos where) {
  if (targets.size() == 1) {
    if (second) {
      json pair = json::array({copy_for_container(item, where), copy_for_container(*second, where)});
      assign(targets[0], Value::own(std::move(pair), second->nesting() + 1));
    } else {
      assign(targets[0], item);
    }
    return;
  }
  if (second && targets.size() == 2) {
    assign(targets[0], item);
    assign(targets[1], *second);
    return;
  }
  std::vector<Value> parts;
  if (second) {
    parts = {item, *second};
  } else if (item.is_json() && (item.get().is_array() || item.get().is_string())) {
    parts = iterate(item, where);
  } else {
    const char* type = item.is_json() ? type_name(item.get()) : "LoopContext";
    fail(where, std::string("cannot unpack non-iterable ") + type + " object");
  }
  if (parts.size() != targets.size())
    fail(where,
         "cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(targets.size()) + " names");
  for (std::size_t k = 0; k < targets.size(); ++k) assign(targets[k], parts[k]);
}

void Renderer::render_body(const Body& body) {
  for (const Node& n : body) {
    switch (n.kind) {
      case Node::Kind::text:
        emit(n.text, n.pos);
        break;
      case Node::Kind::output: {
        Value v = eval(*n.expr);
        append_str(out_, v, n.expr->pos);
        emit({}, n.pos);
        break;
      }
      case Node::Kind::if_: {
        const Body* chosen = &n.else_body;
        for (const Branch& b : n.branches) {
          if (truthy(eval(*b.test))) {
            chosen = &b.body;
            break;
          }
        }
        render_body(*chosen);
        break;
      }
      case Node::Kind::for_:
        render_for(n);
        break;
      case Node::Kind::set: {
        Value v = eval(*n.expr);
        if (n.targets.size() == 1)
          assign(n.targets[0], std::move(v));
        else
          bind_targets(n.targets, v, nullptr, n.pos);
        break;
      }
      case Node::Kind::set_block: {
        std::string outer = std::move(out_);
        out_.clear();
        render_body(n.body);
        std::string captured = std::move(out_);
        out_ = std::move(outer);
        charge(captured.size(), n.pos);
        assign(n.targets[0], string_value(std::move(captured)));
        break;
      }
    }
  }
}

void Renderer::render_for(const Node& n) {
  std::vector<Value> items;
  std::vector<Value> seconds;  // values when iterating obj.items() into two names
  const Expr& source = *n.expr;
  if (source.kind == Expr::Kind::method && source.name == "items" && n.targets.size() == 2) {
    Value obj = eval(*source.kids[0]);
    if (!obj.defined()) fail_undefined(obj);
    if (!obj.is_json() || !obj.get().is_object())
      fail(source.pos, std::string("'") + (obj.is_json() ? type_name(obj.get()) : "LoopContext") +
                           "' object has no attribute 'items'");
    const json& j = obj.get();
    for (auto it = j.begin(); it != j.end(); ++it) {
      items.push_back(string_value(it.key()));
      seconds.push_back(obj.child(*it));
    }
  } else {
    items = iterate(eval(source), source.pos);
  }
  bool pairs = !seconds.empty();

  std::size_t outer_scope = scope_start_;
  auto enter = [&] { scope_start_ = bindings_.size(); };
  auto leave = [&] {
    bindings_.erase(bindings_.begin() + static_cast<std::ptrdiff_t>(scope_start_), bindings_.end());
    scope_start_ = outer_scope;
  };
  auto tick = [&] {
    if (++iterations_ > options_.max_loop_iterations)
      fail(n.pos, "more than " + std::to_string(options_.max_loop_iterations) + " loop iterations",
           "a prompt template should not need that many; check the loop's data");
  };

  if (n.cond) {
    std::vector<Value> kept;
    std::vector<Value> kept_seconds;
    for (std::size_t i = 0; i < items.size(); ++i) {
      tick();
      enter();
      bind_targets(n.targets, items[i], pairs ? &seconds[i] : nullptr, n.pos);
      bool keep = truthy(eval(*n.cond));
      leave();
      if (!keep) continue;
      kept.push_back(std::move(items[i]));
      if (pairs) kept_seconds.push_back(std::move(seconds[i]));
    }
    items = std::move(kept);
    seconds = std::move(kept_seconds);
  }

  if (items.empty()) {
    render_body(n.else_body);
    return;
  }
  LoopState state;
  state.length = items.size();
  state.items = &items;
  state.seconds = pairs ? &seconds : nullptr;
  for (std::size_t i = 0; i < items.size(); ++i) {
    tick();
    state.index0 = i;
    enter();
    bind_targets(n.targets, items[i], pairs ? &seconds[i] : nullptr, n.pos);
    bindings_.push_back(Binding{"loop", Value::loop(state)});
    render_body(n.body);
    leave();
  }
}

// ---- expressions --------------------------------------------------------------

std::string Renderer::path(const Expr& e) const {
  switch (e.kind) {
    case Expr::Kind::name:
      return e.name;
    case Expr::Kind::attr:
      return path(*e.kids[0]) + "." + e.name;
    case Expr::Kind::method:
      return path(*e.kids[0]) + "." + e.name + "()";
    case Expr::Kind::item: {
      std::string index = "…";
      if (e.kids[1]->kind == Expr::Kind::constant) {
        index.clear();
        append_repr(index, e.kids[1]->value, e.pos);
      }
      return path(*e.kids[0]) + "[" + index + "]";
    }
    default:
      return "(expression)";
  }
}

Value Renderer::lookup(const Expr& e) const {
  for (std::size_t i = bindings_.size(); i > 0; --i)
    if (bindings_[i - 1].name == e.name) return bindings_[i - 1].value;
  if (vars_.is_object()) {
    auto it = vars_.find(e.name);
    if (it != vars_.end()) return Value::ref(*it);
  }
  return Value::undefined(e.name, e.pos);
}

Value Renderer::loop_attribute(const Value& loop, const std::string& name, const std::string& path, Pos where) const {
  const LoopState& s = loop.loop_state();
  auto number = [](std::size_t n) { return Value::own(json(static_cast<std::int64_t>(n))); };
  auto item_at = [&](std::size_t i) {
    if (!s.seconds) return (*s.items)[i];
    json pair = json::array({copy_for_container((*s.items)[i], where), copy_for_container((*s.seconds)[i], where)});
    return Value::own(std::move(pair), (*s.seconds)[i].nesting() + 1);
  };
  if (name == "index") return number(s.index0 + 1);
  if (name == "index0") return number(s.index0);
  if (name == "revindex") return number(s.length - s.index0);
  if (name == "revindex0") return number(s.length - s.index0 - 1);
  if (name == "first") return bool_value(s.index0 == 0);
  if (name == "last") return bool_value(s.index0 + 1 == s.length);
  if (name == "length") return number(s.length);
  if (name == "depth") return number(1);
  if (name == "depth0") return number(0);
  if (name == "previtem") {
    if (s.index0 == 0) return Value::undefined(path, where, "there is no previous item (loop.previtem)");
    return item_at(s.index0 - 1);
  }
  if (name == "nextitem") {
    if (s.index0 + 1 >= s.length) return Value::undefined(path, where, "there is no next item (loop.nextitem)");
    return item_at(s.index0 + 1);
  }
  return Value::undefined(path, where);
}

Value Renderer::get_attr(const Expr& e) {
  Value base = eval(*e.kids[0]);
  if (!base.defined()) fail_undefined(base);
  if (base.is_loop()) return loop_attribute(base, e.name, path(e), e.pos);
  const json& j = base.get();
  if (j.is_object()) {
    auto it = j.find(e.name);
    if (it != j.end()) return base.child(*it);
  }
  return Value::undefined(path(e), e.pos);
}

Value Renderer::get_item(const Expr& e) {
  Value base = eval(*e.kids[0]);
  if (!base.defined()) fail_undefined(base);
  Value key_value = eval(*e.kids[1]);
  const json& key = need(key_value, e.kids[1]->pos);
  auto undefined = [&] {
    std::string index;
    append_repr(index, key, e.pos);
    return Value::undefined(path(*e.kids[0]) + "[" + index + "]", e.pos);
  };
  if (base.is_loop()) {
    if (!key.is_string()) return undefined();
    return loop_attribute(base, key.get<std::string>(), path(*e.kids[0]) + "." + key.get<std::string>(), e.pos);
  }
  const json& j = base.get();
  if (j.is_object()) {
    if (!key.is_string()) return undefined();
    auto it = j.find(key.get_ref<const std::string&>());
    return it != j.end() ? base.child(*it) : undefined();
  }
  auto index = as_index(key);
  if (!index) return undefined();
  if (j.is_array()) {
    auto n = static_cast<std::int64_t>(j.size());
    std::int64_t i = *index < 0 ? *index + n : *index;
    if (i < 0 || i >= n) return undefined();
    return base.child(j[static_cast<std::size_t>(i)]);
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    auto n = static_cast<std::int64_t>(char_count(s));
    std::int64_t i = *index < 0 ? *index + n : *index;
    if (i < 0 || i >= n) return undefined();
    std::size_t at = char_offset(s, static_cast<std::size_t>(i));
    return string_value(s.substr(at, decode_utf8(s, at).len));
  }
  return undefined();
}

Value Renderer::get_slice(const Expr& e) {
  Value base = eval(*e.kids[0]);
  if (!base.defined()) fail_undefined(base);
  if (!base.is_json() || !(base.get().is_array() || base.get().is_string()))
    return Value::undefined(path(*e.kids[0]) + "[…:…]", e.pos);
  const json& j = base.get();
  std::vector<std::size_t> offsets;  // character starts, for strings
  std::int64_t length;
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    for (std::size_t i = 0; i < s.size(); i += decode_utf8(s, i).len) offsets.push_back(i);
    offsets.push_back(s.size());
    length = static_cast<std::int64_t>(offsets.size() - 1);
  } else {
    length = static_cast<std::int64_t>(j.size());
  }
  std::optional<std::int64_t> bounds[3];
  for (int k = 0; k < 3; ++k) {
    const Expr* part = e.kids[static_cast<std::size_t>(k) + 1].get();
    if (!part) continue;
    Value v = eval(*part);
    const json& pj = need(v, part->pos);
    if (pj.is_null()) continue;
    bounds[k] = as_index(pj);
    if (!bounds[k]) fail(part->pos, "slice indices must be integers or none");
  }
  std::int64_t step = bounds[2].value_or(1);
  if (step == 0) fail(e.pos, "slice step cannot be zero");
  // PySlice_AdjustIndices
  auto adjust = [&](std::optional<std::int64_t> b, std::int64_t if_missing) {
    if (!b) return if_missing;
    std::int64_t v = *b;
    if (v < 0) {
      v += length;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= length) {
      v = step < 0 ? length - 1 : length;
    }
    return v;
  };
  std::int64_t start = adjust(bounds[0], step < 0 ? length - 1 : 0);
  std::int64_t stop = adjust(bounds[1], step < 0 ? -1 : length);
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    std::string out;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop;) {
      auto k = static_cast<std::size_t>(i);
      out.append(s, offsets[k], offsets[k + 1] - offsets[k]);
      if (__builtin_add_overflow(i, step, &i)) break;
    }
    charge(out.size(), e.pos);
    return string_value(std::move(out));
  }
  json out = json::array();
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop;) {
    const json& element = j[static_cast<std::size_t>(i)];
    charge_copy(element, e.pos);
    out.push_back(element);
    if (__builtin_add_overflow(i, step, &i)) break;
  }
  return Value::own(std::move(out), base.nesting());
}

Value Renderer::call_method(const Expr& e) {
  Value base = eval(*e.kids[0]);
  if (!base.defined()) fail_undefined(base);
  if (!base.is_json() || !base.get().is_object())
    fail(e.pos, std::string("'") + (base.is_json() ? type_name(base.get()) : "LoopContext") +
                    "' object has no method '" + e.name + "'");
  const json& j = base.get();
  charge_copy(j, e.pos);
  json out = json::array();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (e.name == "keys")
      out.push_back(it.key());
    else if (e.name == "values")
      out.push_back(*it);
    else
      out.push_back(json::array({it.key(), *it}));
  }
  int nesting = base.nesting() + (e.name == "items" ? 1 : 0);
  check_nesting(nesting, e.pos);
  return Value::own(std::move(out), nesting);
}

json Renderer::copy_for_container(const Value& v, Pos where) const {
  if (v.is_json()) {
    charge_copy(v.get(), where);
    return v.get();
  }
  if (v.is_loop()) fail(where, "'loop' cannot be stored in a list or dict");
  fail_undefined(v);
}

Value Renderer::build_list(const Expr& e) {
  json out = json::array();
  int nesting = 0;
  for (const auto& k : e.kids) {
    Value v = eval(*k);
    out.push_back(copy_for_container(v, k->pos));
    nesting = std::max(nesting, v.nesting());
  }
  check_nesting(nesting + 1, e.pos);
  return Value::own(std::move(out), nesting + 1);
}

Value Renderer::build_dict(const Expr& e) {
  json out = json::object();
  int nesting = 0;
  for (std::size_t i = 0; i + 1 < e.kids.size(); i += 2) {
    Value key = eval(*e.kids[i]);
    const json& k = need(key, e.kids[i]->pos);
    if (!k.is_string()) fail(e.kids[i]->pos, std::string("dict keys must be strings, not '") + type_name(k) + "'");
    Value v = eval(*e.kids[i + 1]);
    out[k.get<std::string>()] = copy_for_container(v, e.kids[i + 1]->pos);
    nesting = std::max(nesting, v.nesting());
  }
  check_nesting(nesting + 1, e.pos);
  return Value::own(std::move(out), nesting + 1);
}

Value Renderer::unary(const Expr& e) {
  Value v = eval(*e.kids[0]);
  if (!v.defined()) fail_undefined(v);
  const json& j = need(v, e.pos);
  auto n = to_number(j);
  if (!n) fail(e.pos, std::string("bad operand type for unary ") + op_symbol(e.op) + ": '" + type_name(j) + "'");
  if (e.op == Op::plus) return Value::own(from_number(*n));
  if (n->is_float) return Value::own(json(-n->f));
  if (n->i == std::numeric_limits<std::int64_t>::min()) fail(e.pos, "integer overflow", "integers are 64-bit");
  return Value::own(json(-n->i));
}

Value Renderer::binary(const Expr& e) {
  Value lv = eval(*e.kids[0]);
  Value rv = eval(*e.kids[1]);
  if (!lv.defined()) fail_undefined(lv);
  if (!rv.defined()) fail_undefined(rv);
  const json& a = need(lv, e.kids[0]->pos);
  const json& b = need(rv, e.kids[1]->pos);
  Pos pos = e.pos;
  auto type_error = [&]() -> Value {
    fail(pos, std::string("unsupported operand types for ") + op_symbol(e.op) + ": '" + type_name(a) + "' and '" +
                  type_name(b) + "'");
  };
  auto overflow = [&]() -> Value { fail(pos, "integer overflow", "integers are 64-bit"); };
  auto na = to_number(a);
  auto nb = to_number(b);
  if (na && nb) {
    // Unsigned values past the int64 range only come from the variables; keep them
    // exact when printed, but do not silently round them in arithmetic.
    if ((a.is_number_unsigned() && na->is_float) || (b.is_number_unsigned() && nb->is_float)) return overflow();
    bool ints = !na->is_float && !nb->is_float;
    std::int64_t x = na->i, y = nb->i, r = 0;
    double fx = na->as_double(), fy = nb->as_double();
    switch (e.op) {
      case Op::add:
        if (!ints) return Value::own(json(fx + fy));
        if (__builtin_add_overflow(x, y, &r)) return overflow();
        return Value::own(json(r));
      case Op::sub:
        if (!ints) return Value::own(json(fx - fy));
        if (__builtin_sub_overflow(x, y, &r)) return overflow();
        return Value::own(json(r));
      case Op::mul:
        if (!ints) return Value::own(json(fx * fy));
        if (__builtin_mul_overflow(x, y, &r)) return overflow();
        return Value::own(json(r));
      case Op::div:
        if (fy == 0) fail(pos, "division by zero");
        return Value::own(json(fx / fy));
      case Op::floordiv:
        if (ints) {
          if (y == 0) fail(pos, "integer division by zero");
          if (y == -1) {
            if (x == std::numeric_limits<std::int64_t>::min()) return overflow();
            return Value::own(json(-x));
          }
          r = x / y;
          if (x % y != 0 && ((x < 0) != (y < 0))) --r;
          return Value::own(json(r));
        }
        if (fy == 0) fail(pos, "float floor division by zero");
        return Value::own(json(py_float_floordiv(fx, fy)));
      case Op::mod:
        if (ints) {
          if (y == 0) fail(pos, "integer modulo by zero");
          if (y == -1) return Value::own(json(0));
          r = x % y;
          if (r != 0 && ((r < 0) != (y < 0))) r += y;
          return Value::own(json(r));
        }
        if (fy == 0) fail(pos, "float modulo by zero");
        return Value::own(json(py_float_mod(fx, fy)));
      case Op::pow: {
        if (ints && y >= 0) {
          std::int64_t result = 1, base = x;
          for (std::int64_t p = y; p > 0; p >>= 1) {
            if ((p & 1) && __builtin_mul_overflow(result, base, &result)) return overflow();
            if (p > 1 && __builtin_mul_overflow(base, base, &base)) return overflow();
          }
          return Value::own(json(result));
        }
        if (fx == 0 && fy < 0) fail(pos, "0.0 cannot be raised to a negative power");
        if (fx < 0 && fy != std::floor(fy)) fail(pos, "a negative number cannot be raised to a fractional power");
        double p = std::pow(fx, fy);
        if (std::isinf(p) && std::isfinite(fx) && std::isfinite(fy)) fail(pos, "numeric overflow in '**'");
        return Value::own(json(p));
      }
      default:
        return type_error();
    }
  }
  if (e.op == Op::add && a.is_string() && b.is_string()) {
    const auto& sa = a.get_ref<const std::string&>();
    const auto& sb = b.get_ref<const std::string&>();
    check_size(sa.size() + sb.size(), pos);
    charge(sa.size() + sb.size(), pos);
    return string_value(sa + sb);
  }
  if (e.op == Op::add && a.is_array() && b.is_array()) {
    charge_copy(a, pos);
    charge_copy(b, pos);
    json out = a;
    out.insert(out.end(), b.begin(), b.end());
    return Value::own(std::move(out), std::max(lv.nesting(), rv.nesting()));
  }
  if (e.op == Op::mul) {
    bool left_seq = a.is_string() || a.is_array();
    const json& seq = left_seq ? a : b;
    const json& count_json = left_seq ? b : a;
    auto count = as_index(count_json);
    if ((seq.is_string() || seq.is_array()) && count) {
      std::int64_t times = std::max<std::int64_t>(*count, 0);
      // nlohmann's empty() is false for every string, so test the string itself.
      if (seq.is_string() ? seq.get_ref<const std::string&>().empty() : seq.empty()) times = 0;
      std::size_t unit =
          seq.is_string() ? seq.get_ref<const std::string&>().size() : copy_cost(seq, options_.max_output_bytes);
      if (times > 0 && static_cast<std::uint64_t>(times) > options_.max_output_bytes / unit)
        check_size(std::numeric_limits<std::size_t>::max(), pos);
      std::size_t total = unit * static_cast<std::size_t>(times);
      check_size(total, pos);
      charge(total, pos);
      if (seq.is_string()) {
        const auto& s = seq.get_ref<const std::string&>();
        std::string out;
        out.reserve(total);
        for (std::int64_t k = 0; k < times; ++k) out += s;
        return string_value(std::move(out));
      }
      json out = json::array();
      for (std::int64_t k = 0; k < times; ++k) out.insert(out.end(), seq.begin(), seq.end());
      return Value::own(std::move(out), (left_seq ? lv : rv).nesting());
    }
  }
  if (e.op == Op::mod && a.is_string())
    fail(pos, "string formatting with '%' is not supported", "build strings with ~ instead");
  return type_error();
}

Value Renderer::concat(const Expr& e) {
  std::string out;
  for (const auto& k : e.kids) {
    Value v = eval(*k);
    append_str(out, v, k->pos);
    check_size(out.size(), e.pos);
  }
  charge(out.size(), e.pos);
  return string_value(std::move(out));
}

bool Renderer::contains(const Value& container, const Value& item, Pos where) const {
  for (const Value* v : {&container, &item}) {
    if (!v->defined()) {
      if (!lenient(*v)) fail_undefined(*v);
      return false;
    }
    if (v->is_loop()) fail(where, "'loop' cannot be used with 'in'");
  }
  const json& c = container.get();
  const json& x = item.get();
  if (c.is_string()) {
    if (!x.is_string())
      fail(where, std::string("'in <string>' requires a string as left operand, not '") + type_name(x) + "'");
    return c.get_ref<const std::string&>().find(x.get_ref<const std::string&>()) != std::string::npos;
  }
  if (c.is_array()) {
    for (const auto& e : c)
      if (equal(e, x, where)) return true;
    return false;
  }
  if (c.is_object()) return x.is_string() && c.contains(x.get_ref<const std::string&>());
  fail(where, std::string("argument of type '") + type_name(c) + "' is not iterable");
}

bool Renderer::compare(Op op, const Value& a, const Value& b, Pos where) const {
  if (op == Op::in) return contains(b, a, where);
  if (op == Op::not_in) return !contains(b, a, where);
  if (op == Op::eq || op == Op::ne) {
    bool same;
    if (!a.defined() || !b.defined()) {
      if (!a.defined() && !lenient(a)) fail_undefined(a);
      if (!b.defined() && !lenient(b)) fail_undefined(b);
      same = !a.defined() && !b.defined();
    } else if (a.is_loop() || b.is_loop()) {
      same = a.is_loop() && b.is_loop() && &a.loop_state() == &b.loop_state();
    } else {
      same = equal(a.get(), b.get(), where);
    }
    return op == Op::eq ? same : !same;
  }
  for (const Value* v : {&a, &b}) {
    if (!v->defined()) fail_undefined(*v);
    if (v->is_loop()) fail(where, std::string("'") + op_symbol(op) + "' is not supported for 'loop'");
  }
  auto order = detail::compare(a.get(), b.get(), where);
  if (!order)
    fail(where, std::string("'") + op_symbol(op) + "' not supported between instances of '" + type_name(a.get()) +
                    "' and '" + type_name(b.get()) + "'");
  switch (op) {
    case Op::lt:
      return *order == std::partial_ordering::less;
    case Op::le:
      return *order == std::partial_ordering::less || *order == std::partial_ordering::equivalent;
    case Op::gt:
      return *order == std::partial_ordering::greater;
    default:
      return *order == std::partial_ordering::greater || *order == std::partial_ordering::equivalent;
  }
}

Value Renderer::eval(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::constant:
      return Value::ref(e.value);
    case Expr::Kind::list:
      return build_list(e);
    case Expr::Kind::dict:
      return build_dict(e);
    case Expr::Kind::name:
      return lookup(e);
    case Expr::Kind::attr:
      return get_attr(e);
    case Expr::Kind::item:
      return get_item(e);
    case Expr::Kind::slice:
      return get_slice(e);
    case Expr::Kind::method:
      return call_method(e);
    case Expr::Kind::unary:
      return unary(e);
    case Expr::Kind::binary:
      return binary(e);
    case Expr::Kind::concat:
      return concat(e);
    case Expr::Kind::and_: {
      Value left = eval(*e.kids[0]);
      return truthy(left) ? eval(*e.kids[1]) : left;
    }
    case Expr::Kind::or_: {
      Value left = eval(*e.kids[0]);
      return truthy(left) ? left : eval(*e.kids[1]);
    }
    case Expr::Kind::not_:
      return bool_value(!truthy(eval(*e.kids[0])));
    case Expr::Kind::compare: {
      Value left = eval(*e.kids[0]);
      for (std::size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.kids[i + 1]);
        if (!compare(e.ops[i], left, right, e.kids[i + 1]->pos)) return bool_value(false);
        left = std::move(right);
      }
      return bool_value(true);
    }
    case Expr::Kind::filter:
    case Expr::Kind::test: {
      Value input = eval(*e.kids[0]);
      const std::vector<Param>& params = e.filter ? e.filter->params : e.test->params;
      std::vector<Value> args;
      args.reserve(params.size());
      for (std::size_t k = 0; k < params.size(); ++k) {
        const Expr* arg = e.kids[k + 1].get();
        args.push_back(arg ? eval(*arg) : Value::ref(params[k].default_value));
      }
      if (e.filter) {
        Value result = e.filter->fn(*this, e, input, args);
        if (result.owned() && result.get().is_string())
          charge(result.get().get_ref<const std::string&>().size(), e.pos);
        return result;
      }
      bool result = e.test->fn(*this, e, input, args);
      return bool_value(e.negated ? !result : result);
    }
    case Expr::Kind::cond:
      if (truthy(eval(*e.kids[1]))) return eval(*e.kids[0]);
      if (e.kids[2]) return eval(*e.kids[2]);
      // Jinja gives a plain (never strict) Undefined here: it prints as "".
      return Value::undefined({}, e.pos, "the inline if-expression was false and has no else", true);
  }
  return Value();
}

}  // namespace mlops::tmpl::detail
