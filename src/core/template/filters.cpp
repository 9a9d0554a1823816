#include "template/filters.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "template/render.hpp"
#include "template/unicode.hpp"

namespace mlops::tmpl::detail {
namespace {

using Args = std::vector<Value>;

Param opt(std::string_view name, json default_value) {
  return Param{name, std::move(default_value), false};
}
Param req(std::string_view name) {
  return Param{name, nullptr, true};
}

// The input's position for error messages: where the filtered expression starts.
Pos input_pos(const Expr& node) {
  return node.kids[0]->pos;
}

std::optional<std::int64_t> integer_of(const json& j) {
  if (j.is_boolean() || j.is_number_integer() || j.is_number_unsigned()) {
    auto n = to_number(j);
    if (n && !n->is_float) return n->i;
  }
  return std::nullopt;
}

std::int64_t integer_arg(Renderer& r, const Expr& node, const Value& v, const char* what) {
  auto i = integer_of(r.need(v, node.pos));
  if (!i) r.fail(node.pos, std::string(what) + " must be an integer");
  return *i;
}

std::string_view strip_space(std::string_view s) {
  return rstrip(lstrip(s));
}

// Digits in `base` with single underscores between them, as Python's int() and
// float() accept. Appends the digits without underscores to `out`.
bool take_digits(std::string_view& s, int base, std::string& out) {
  auto digit = [&](char c) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'z') ? c - 'a' + 10
            : (c >= 'A' && c <= 'Z') ? c - 'A' + 10
                                     : 99;
    return d < base;
  };
  std::size_t i = 0;
  if (s.empty() || !digit(s[0])) return false;
  while (i < s.size()) {
    if (digit(s[i])) {
      out.push_back(s[i++]);
    } else if (s[i] == '_' && i + 1 < s.size() && digit(s[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  s.remove_prefix(i);
  return true;
}

// Python's int(str, base); nullopt when Python raises ValueError or the value
// does not fit in 64 bits.
std::optional<std::int64_t> parse_int(std::string_view s, std::int64_t base) {
  s = strip_space(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  bool prefixed = false;
  if (s.size() >= 2 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    int prefix_base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefix_base && (base == 0 || base == prefix_base)) {
      base = prefix_base;
      prefixed = true;
      s.remove_prefix(2);
      if (!s.empty() && s[0] == '_') s.remove_prefix(1);
    }
  }
  bool auto_decimal = base == 0;
  if (auto_decimal) base = 10;
  if (base < 2 || base > 36) return std::nullopt;
  std::string digits;
  if (!take_digits(s, static_cast<int>(base), digits) || !s.empty()) return std::nullopt;
  // With base 0 a decimal literal cannot have leading zeros, as in Python source.
  if (auto_decimal && !prefixed && digits.size() > 1 && digits[0] == '0' &&
      digits.find_first_not_of('0') != std::string::npos)
    return std::nullopt;
  std::uint64_t v = 0;
  auto b = static_cast<std::uint64_t>(base);
  for (char c : digits) {
    std::uint64_t d = (c >= '0' && c <= '9') ? static_cast<std::uint64_t>(c - '0')
                                             : static_cast<std::uint64_t>((c | 0x20) - 'a' + 10);
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / b) return std::nullopt;
    v = v * b + d;
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (negative) {
    if (v > max + 1) return std::nullopt;
    return v == max + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(v);
  }
  if (v > max) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

// Python's float(str).
std::optional<double> parse_float(std::string_view s) {
  s = strip_space(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  double v;
  if (lower == "inf" || lower == "infinity") {
    v = std::numeric_limits<double>::infinity();
  } else if (lower == "nan") {
    v = std::numeric_limits<double>::quiet_NaN();
  } else {
    std::string clean;
    bool whole = take_digits(s, 10, clean);
    bool fraction = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      clean.push_back('.');
      fraction = take_digits(s, 10, clean);
    }
    if (!whole && !fraction) return std::nullopt;
    if (!s.empty() && (s[0] == 'e' || s[0] == 'E')) {
      s.remove_prefix(1);
      clean.push_back('e');
      if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        clean.push_back(s[0]);
        s.remove_prefix(1);
      }
      if (!take_digits(s, 10, clean)) return std::nullopt;
    }
    if (!s.empty()) return std::nullopt;
    auto res = std::from_chars(clean.data(), clean.data() + clean.size(), v);
    if (res.ec == std::errc::result_out_of_range) {
      std::size_t e = clean.find('e');
      bool tiny = e != std::string::npos && clean[e + 1] == '-';
      v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (res.ec != std::errc()) {
      return std::nullopt;
    }
  }
  return negative ? -v : v;
}

Value filter_upper(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return string_value(to_upper(r.str(in, input_pos(n))));
}
Value filter_lower(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return string_value(to_lower(r.str(in, input_pos(n))));
}
Value filter_title(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return string_value(to_title(r.str(in, input_pos(n))));
}
Value filter_capitalize(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return string_value(capitalize(r.str(in, input_pos(n))));
}

Value filter_trim(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  std::string s = r.str(in, input_pos(n));
  const json& chars = r.need(a[0], n.pos);
  if (chars.is_null()) return string_value(std::string(strip_space(s)));
  std::string set = r.str(a[0], n.pos);
  auto in_set = [&](std::size_t at, std::size_t len) { return set.find(s.substr(at, len)) != std::string::npos; };
  std::size_t begin = 0;
  while (begin < s.size()) {
    std::size_t len = decode_utf8(s, begin).len;
    if (!in_set(begin, len)) break;
    begin += len;
  }
  std::size_t end = begin;
  for (std::size_t i = begin; i < s.size();) {
    std::size_t len = decode_utf8(s, i).len;
    i += len;
    if (!in_set(i - len, len)) end = i;
  }
  return string_value(s.substr(begin, end - begin));
}

Value filter_default(Renderer& r, const Expr&, const Value& in, const Args& a) {
  if (!in.defined() || (r.truthy(a[1]) && !r.truthy(in))) return a[0];
  return in;
}

Value filter_length(Renderer& r, const Expr& n, const Value& in, const Args&) {
  auto number = [](std::size_t v) { return Value::own(json(static_cast<std::int64_t>(v))); };
  if (!in.defined()) {
    if (!r.lenient(in)) r.fail_undefined(in);
    return number(0);
  }
  if (in.is_loop()) return number(in.loop_state().length);
  const json& j = in.get();
  if (j.is_string()) return number(char_count(j.get_ref<const std::string&>()));
  if (j.is_array() || j.is_object()) return number(j.size());
  r.fail(n.pos, std::string("object of type '") + type_name(j) + "' has no length");
}

Value filter_join(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  std::string sep = r.str(a[0], n.pos);
  std::string out;
  bool first = true;
  for (const Value& item : r.iterate(in, input_pos(n))) {
    if (!first) out += sep;
    first = false;
    r.append_str(out, item, n.pos);
    r.check_size(out.size(), n.pos);
  }
  return string_value(std::move(out));
}

Value filter_replace(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  std::string s = r.str(in, input_pos(n));
  std::string from = r.str(a[0], n.pos);
  std::string to = r.str(a[1], n.pos);
  std::int64_t count = r.need(a[2], n.pos).is_null() ? -1 : integer_arg(r, n, a[2], "replace() count");
  auto limit = count < 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(count);
  std::string out;
  std::size_t done = 0;
  if (from.empty()) {
    // Python inserts the replacement before every character and at the end.
    std::size_t slots = std::min(char_count(s) + 1, limit);
    if (!to.empty() && slots > r.options().max_output_bytes / to.size())
      r.check_size(std::numeric_limits<std::size_t>::max(), n.pos);
    r.check_size(s.size() + slots * to.size(), n.pos);
    for (std::size_t i = 0;; i += decode_utf8(s, i).len) {
      if (done < limit) {
        out += to;
        ++done;
      }
      if (i >= s.size()) break;
      out.append(s, i, decode_utf8(s, i).len);
    }
    return string_value(std::move(out));
  }
  std::size_t pos = 0;
  while (done < limit) {
    std::size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    r.check_size(out.size(), n.pos);
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos);
  return string_value(std::move(out));
}

// Jinja's truncate: strings longer than length + leeway are cut to length,
// counting `end`, at the last space unless killwords.
Value filter_truncate(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  // Jinja measures the value before treating it as a string: lists and dicts
  // short enough come back unchanged, and numbers have no length.
  bool text = in.is_json() && in.get().is_string();
  if (!text && in.defined() && !(in.is_json() && in.get().is_structured()))
    r.fail(n.pos,
           std::string("object of type '") + (in.is_json() ? type_name(in.get()) : "LoopContext") + "' has no length");
  if (!in.defined() && !r.lenient(in)) r.fail_undefined(in);
  std::string s = text ? in.get().get<std::string>() : std::string();
  std::int64_t length = integer_arg(r, n, a[0], "truncate() length");
  bool killwords = r.truthy(a[1]);
  const json& end_json = r.need(a[2], n.pos);
  if (!end_json.is_string()) r.fail(n.pos, "truncate() end must be a string");
  const auto& end = end_json.get_ref<const std::string&>();
  std::int64_t leeway = r.need(a[3], n.pos).is_null() ? 5 : integer_arg(r, n, a[3], "truncate() leeway");
  auto end_len = static_cast<std::int64_t>(char_count(end));
  if (length < end_len)
    r.fail(n.pos, "truncate(): expected length >= " + std::to_string(end_len) + ", got " + std::to_string(length));
  if (leeway < 0) r.fail(n.pos, "truncate(): expected leeway >= 0, got " + std::to_string(leeway));
  auto chars = static_cast<std::int64_t>(text ? char_count(s) : in.is_json() ? in.get().size() : 0);
  if (chars - leeway <= length) return in;
  if (!text) r.fail(n.pos, std::string("cannot truncate a ") + type_name(in.get()) + ": only strings can be cut");
  std::string cut = s.substr(0, char_offset(s, static_cast<std::size_t>(length - end_len)));
  if (!killwords) {
    std::size_t space = cut.rfind(' ');
    if (space != std::string::npos) cut.resize(space);
  }
  return string_value(cut + end);
}

Value filter_tojson(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  if (!in.defined()) r.fail_undefined(in);
  if (in.is_loop()) r.fail(n.pos, "'loop' is not JSON serializable");
  std::optional<std::string> indent;
  const json& ij = r.need(a[0], n.pos);
  if (ij.is_string()) {
    indent = ij.get<std::string>();
  } else if (auto spaces = integer_of(ij)) {
    indent = std::string(static_cast<std::size_t>(std::clamp<std::int64_t>(*spaces, 0, 64)), ' ');
  } else if (!ij.is_null()) {
    r.fail(n.pos, "tojson() indent must be an integer or a string");
  }
  std::string out;
  append_json(out, in.get(), indent, n.pos);
  r.check_size(out.size(), n.pos);
  return string_value(std::move(out));
}

Value first_or_last(Renderer& r, const Expr& n, const Value& in, bool first) {
  const char* which = first ? "first" : "last";
  auto none = [&] { return Value::undefined({}, n.pos, std::string("no ") + which + " item: the sequence is empty"); };
  if (in.is_json() && in.get().is_array()) {
    const json& j = in.get();
    if (j.empty()) return none();
    return in.child(first ? j.front() : j.back());
  }
  if (in.is_json() && in.get().is_string()) {
    const auto& s = in.get().get_ref<const std::string&>();
    if (s.empty()) return none();
    std::size_t at = first ? 0 : char_offset(s, char_count(s) - 1);
    return string_value(s.substr(at, decode_utf8(s, at).len));
  }
  std::vector<Value> items = r.iterate(in, input_pos(n));
  if (items.empty()) return none();
  return first ? items.front() : items.back();
}

Value filter_first(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return first_or_last(r, n, in, true);
}
Value filter_last(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return first_or_last(r, n, in, false);
}

// Jinja's int: int(value, base) for strings, int(value) otherwise, then
// int(float(value)) so that "42.23" gives 42, and the default when both fail.
Value filter_int(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  if (!in.defined()) r.fail_undefined(in);
  if (in.is_loop()) return a[0];
  const json& j = in.get();
  auto from_double = [&](double d) -> Value {
    if (std::isnan(d)) return a[0];
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      r.fail(n.pos, "int(): " + float_repr(d) + " does not fit in a 64-bit integer");
    return Value::own(json(static_cast<std::int64_t>(std::trunc(d))));
  };
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (auto v = parse_int(s, integer_arg(r, n, a[1], "int() base"))) return Value::own(json(*v));
    if (auto d = parse_float(s)) return from_double(*d);
    return a[0];
  }
  if (j.is_number_float()) return from_double(j.get<double>());
  if (j.is_boolean()) return Value::own(json(j.get<bool>() ? 1 : 0));
  if (j.is_number()) return in;
  return a[0];
}

Value filter_float(Renderer& r, const Expr&, const Value& in, const Args& a) {
  if (!in.defined()) r.fail_undefined(in);
  if (!in.is_json()) return a[0];
  const json& j = in.get();
  if (j.is_string()) {
    auto d = parse_float(j.get_ref<const std::string&>());
    return d ? Value::own(json(*d)) : a[0];
  }
  if (auto num = to_number(j)) return Value::own(json(num->as_double()));
  return a[0];
}

Value filter_list(Renderer& r, const Expr& n, const Value& in, const Args&) {
  if (in.is_json() && in.get().is_array()) return in;
  json out = json::array();
  for (const Value& item : r.iterate(in, input_pos(n))) {
    r.charge_copy(item.get(), n.pos);
    out.push_back(item.get());
  }
  return Value::own(std::move(out));
}

Value filter_string(Renderer& r, const Expr& n, const Value& in, const Args&) {
  return string_value(r.str(in, input_pos(n)));
}

// ---- tests ----

bool json_test(const Value& in, bool (*check)(const json&)) {
  return in.is_json() && check(in.get());
}

bool test_defined(Renderer&, const Expr&, const Value& in, const Args&) {
  return in.defined();
}
bool test_undefined(Renderer&, const Expr&, const Value& in, const Args&) {
  return !in.defined();
}
bool test_none(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_null(); });
}
bool test_boolean(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_boolean(); });
}
bool test_true(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_boolean() && j.get<bool>(); });
}
bool test_false(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_boolean() && !j.get<bool>(); });
}
bool test_integer(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_number_integer() || j.is_number_unsigned(); });
}
bool test_float(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_number_float(); });
}
bool test_number(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_number() || j.is_boolean(); });
}
bool test_string(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_string(); });
}
bool test_mapping(Renderer&, const Expr&, const Value& in, const Args&) {
  return json_test(in, [](const json& j) { return j.is_object(); });
}
bool test_sequence(Renderer& r, const Expr&, const Value& in, const Args&) {
  if (!in.defined()) return r.lenient(in);
  return json_test(in, [](const json& j) { return j.is_string() || j.is_array() || j.is_object(); });
}
bool test_iterable(Renderer& r, const Expr&, const Value& in, const Args&) {
  if (!in.defined()) {
    if (!r.lenient(in)) r.fail_undefined(in);
    return true;
  }
  return in.is_loop() || json_test(in, [](const json& j) { return j.is_string() || j.is_array() || j.is_object(); });
}

// value % divisor with Python's sign rules.
double remainder(Renderer& r, const Expr& n, const Value& in, const Value& divisor) {
  if (!in.defined()) r.fail_undefined(in);
  const json& a = r.need(in, n.pos);
  const json& b = r.need(divisor, n.pos);
  auto x = to_number(a);
  auto y = to_number(b);
  if (!x || !y)
    r.fail(n.pos, std::string("unsupported operand types for %: '") + type_name(a) + "' and '" + type_name(b) + "'");
  if (y->as_double() == 0) r.fail(n.pos, "modulo by zero");
  if (!x->is_float && !y->is_float) {
    if (y->i == -1) return 0;
    std::int64_t m = x->i % y->i;
    if (m != 0 && ((m < 0) != (y->i < 0))) m += y->i;
    return static_cast<double>(m);
  }
  double m = std::fmod(x->as_double(), y->as_double());
  if (m != 0 && ((m < 0) != (y->as_double() < 0))) m += y->as_double();
  return m;
}

bool test_odd(Renderer& r, const Expr& n, const Value& in, const Args&) {
  static const json two = 2;
  return remainder(r, n, in, Value::ref(two)) == 1.0;
}
bool test_even(Renderer& r, const Expr& n, const Value& in, const Args&) {
  static const json two = 2;
  return remainder(r, n, in, Value::ref(two)) == 0.0;
}
bool test_divisibleby(Renderer& r, const Expr& n, const Value& in, const Args& a) {
  return remainder(r, n, in, a[0]) == 0.0;
}

const std::vector<FilterSpec>& filters() {
  static const std::vector<FilterSpec> table = {
      {"capitalize", {}, filter_capitalize},
      {"count", {}, filter_length},
      {"d", {opt("default_value", ""), opt("boolean", false)}, filter_default},
      {"default", {opt("default_value", ""), opt("boolean", false)}, filter_default},
      {"first", {}, filter_first},
      {"float", {opt("default", 0.0)}, filter_float},
      {"int", {opt("default", 0), opt("base", 10)}, filter_int},
      {"join", {opt("d", "")}, filter_join},
      {"last", {}, filter_last},
      {"length", {}, filter_length},
      {"list", {}, filter_list},
      {"lower", {}, filter_lower},
      {"replace", {req("old"), req("new"), opt("count", nullptr)}, filter_replace},
      {"string", {}, filter_string},
      {"title", {}, filter_title},
      {"tojson", {opt("indent", nullptr)}, filter_tojson},
      {"trim", {opt("chars", nullptr)}, filter_trim},
      {"truncate",
       {opt("length", 255), opt("killwords", false), opt("end", "..."), opt("leeway", nullptr)},
       filter_truncate},
      {"upper", {}, filter_upper},
  };
  return table;
}

const std::vector<TestSpec>& tests() {
  static const std::vector<TestSpec> table = {
      {"boolean", {}, test_boolean},
      {"defined", {}, test_defined},
      {"divisibleby", {req("num")}, test_divisibleby},
      {"even", {}, test_even},
      {"false", {}, test_false},
      {"float", {}, test_float},
      {"integer", {}, test_integer},
      {"iterable", {}, test_iterable},
      {"mapping", {}, test_mapping},
      {"none", {}, test_none},
      {"number", {}, test_number},
      {"odd", {}, test_odd},
      {"sequence", {}, test_sequence},
      {"string", {}, test_string},
      {"true", {}, test_true},
      {"undefined", {}, test_undefined},
  };
  return table;
}

template <typename Spec>
const Spec* find_in(const std::vector<Spec>& table, std::string_view name) {
  auto it = std::find_if(table.begin(), table.end(), [&](const Spec& s) { return s.name == name; });
  return it == table.end() ? nullptr : &*it;
}

template <typename Spec>
std::vector<std::string> names_of(const std::vector<Spec>& table) {
  std::vector<std::string> names;
  for (const auto& s : table) names.emplace_back(s.name);
  return names;
}

}  // namespace

const FilterSpec* find_filter(std::string_view name) {
  return find_in(filters(), name);
}
const TestSpec* find_test(std::string_view name) {
  return find_in(tests(), name);
}
std::vector<std::string> filter_names() {
  return names_of(filters());
}
std::vector<std::string> test_names() {
  return names_of(tests());
}

}  // namespace mlops::tmpl::detail
