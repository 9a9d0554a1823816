#include "template/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "template/template.hpp"
#include "template/unicode.hpp"

namespace mlops::tmpl::detail {
namespace {

constexpr int k_max_value_depth = 512;

void check_depth(int depth, Pos where) {
  if (depth > k_max_value_depth)
    throw TemplateError(where.line, where.column,
                        "value is nested too deeply (more than " + std::to_string(k_max_value_depth) + " levels)");
}

void append_hex(std::string& out, const char* prefix, unsigned value, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, width, value);
  out += buf;
}

// Characters Python's repr() escapes although they are not ASCII controls: the C1
// controls, the separators other than space and the common format characters.
bool is_unprintable(char32_t c) {
  return (c >= 0x80 && c <= 0xa0) || c == 0xad || (c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd ||
         c == 0x70f || c == 0x180e || c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
         (c >= 0x205f && c <= 0x2064) || (c >= 0x2066 && c <= 0x206f) || c == 0x3000 || (c >= 0xe000 && c <= 0xf8ff) ||
         c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) || c == 0xfffe || c == 0xffff || c == 0xe0001 ||
         (c >= 0xe0020 && c <= 0xe007f) || c >= 0xf0000;
}

void append_string_repr(std::string& out, std::string_view s) {
  char quote = '\'';
  if (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) quote = '"';
  out.push_back(quote);
  for (std::size_t i = 0; i < s.size();) {
    Decoded d = decode_utf8(s, i);
    i += d.len;
    char32_t c = d.cp;
    if (!d.valid) {
      append_hex(out, "\\x", c, 2);
    } else if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      append_hex(out, "\\x", c, 2);
    } else if (is_unprintable(c)) {
      if (c < 0x100)
        append_hex(out, "\\x", c, 2);
      else if (c < 0x10000)
        append_hex(out, "\\u", c, 4);
      else
        append_hex(out, "\\U", c, 8);
    } else {
      append_utf8(out, c);
    }
  }
  out.push_back(quote);
}

void repr_rec(std::string& out, const json& j, Pos where, int depth) {
  check_depth(depth, where);
  switch (j.type()) {
    case json::value_t::string:
      append_string_repr(out, j.get_ref<const std::string&>());
      return;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += ", ";
        first = false;
        repr_rec(out, e, where, depth + 1);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ", ";
        first = false;
        append_string_repr(out, k);
        out += ": ";
        repr_rec(out, v, where, depth + 1);
      }
      out.push_back('}');
      return;
    }
    case json::value_t::boolean:
      out += j.get<bool>() ? "True" : "False";
      return;
    case json::value_t::number_integer:
      out += std::to_string(j.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned:
      out += std::to_string(j.get<std::uint64_t>());
      return;
    case json::value_t::number_float:
      out += float_repr(j.get<double>());
      return;
    default:
      out += "None";
      return;
  }
}

void json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    Decoded d = decode_utf8(s, i);
    i += d.len;
    char32_t c = d.valid ? d.cp : 0xfffd;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '<':
      case '>':
      case '&':
      case '\'':
        append_hex(out, "\\u", c, 4);
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            append_hex(out, "\\u", 0xd800 + (v >> 10), 4);
            append_hex(out, "\\u", 0xdc00 + (v & 0x3ff), 4);
          } else {
            append_hex(out, "\\u", c, 4);
          }
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void json_rec(std::string& out, const json& j, const std::optional<std::string>& indent, int level, Pos where) {
  check_depth(level, where);
  auto newline = [&](int lvl) {
    out.push_back('\n');
    for (int k = 0; k < lvl; ++k) out += *indent;
  };
  switch (j.type()) {
    case json::value_t::string:
      json_string(out, j.get_ref<const std::string&>());
      return;
    case json::value_t::array:
    case json::value_t::object: {
      bool object = j.is_object();
      if (j.empty()) {
        out += object ? "{}" : "[]";
        return;
      }
      out.push_back(object ? '{' : '[');
      if (indent) newline(level + 1);
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it != j.begin()) {
          out.push_back(',');
          if (indent)
            newline(level + 1);
          else
            out.push_back(' ');
        }
        if (object) {
          json_string(out, it.key());
          out += ": ";
        }
        json_rec(out, *it, indent, level + 1, where);
      }
      if (indent) newline(level);
      out.push_back(object ? '}' : ']');
      return;
    }
    case json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_float: {
      double d = j.get<double>();
      if (std::isnan(d))
        out += "NaN";
      else if (std::isinf(d))
        out += d > 0 ? "Infinity" : "-Infinity";
      else
        out += float_repr(d);
      return;
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      repr_rec(out, j, where, level);
      return;
    default:
      out += "null";
      return;
  }
}

bool equal_rec(const json& a, const json& b, Pos where, int depth) {
  check_depth(depth, where);
  auto na = to_number(a);
  auto nb = to_number(b);
  if (na && nb) {
    if (!na->is_float && !nb->is_float) return na->i == nb->i;
    return na->as_double() == nb->as_double();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case json::value_t::string:
      return a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
    case json::value_t::array:
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!equal_rec(a[i], b[i], where, depth + 1)) return false;
      return true;
    case json::value_t::object:
      if (a.size() != b.size()) return false;
      for (const auto& [k, v] : a.items()) {
        auto it = b.find(k);
        if (it == b.end() || !equal_rec(v, *it, where, depth + 1)) return false;
      }
      return true;
    case json::value_t::null:
      return true;
    default:
      return a == b;
  }
}

std::optional<std::partial_ordering> compare_rec(const json& a, const json& b, Pos where, int depth) {
  check_depth(depth, where);
  auto na = to_number(a);
  auto nb = to_number(b);
  if (na && nb) {
    if (!na->is_float && !nb->is_float) return na->i <=> nb->i;
    return na->as_double() <=> nb->as_double();
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c <=> 0;
  }
  if (a.is_array() && b.is_array()) {
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i)
      if (!equal_rec(a[i], b[i], where, depth + 1)) return compare_rec(a[i], b[i], where, depth + 1);
    return a.size() <=> b.size();
  }
  return std::nullopt;
}

}  // namespace

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::string:
      return "str";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::null:
      return "NoneType";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "dict";
    default:
      return "object";
  }
}

std::optional<Number> to_number(const json& j) {
  switch (j.type()) {
    case json::value_t::boolean:
      return Number{false, j.get<bool>() ? 1 : 0, 0};
    case json::value_t::number_integer:
      return Number{false, j.get<std::int64_t>(), 0};
    case json::value_t::number_unsigned: {
      auto u = j.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return Number{false, static_cast<std::int64_t>(u), 0};
      return Number{true, 0, static_cast<double>(u)};
    }
    case json::value_t::number_float:
      return Number{true, 0, j.get<double>()};
    default:
      return std::nullopt;
  }
}

json from_number(const Number& n) {
  return n.is_float ? json(n.f) : json(n.i);
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits.push_back(c);
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  // Python's repr: shortest round-trip digits, positional between 1e-4 and 1e16.
  int point = exp + 1;
  auto ndigits = static_cast<int>(digits.size());
  if (point > 16 || point < -3) {
    out.push_back(digits[0]);
    if (ndigits > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += ebuf;
  } else if (point <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-point), '0');
    out += digits;
  } else if (point >= ndigits) {
    out += digits;
    out.append(static_cast<std::size_t>(point - ndigits), '0');
    out += ".0";
  } else {
    out.append(digits, 0, static_cast<std::size_t>(point));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(point));
  }
  return out;
}

void append_str(std::string& out, const json& j, Pos where) {
  if (j.is_string())
    out += j.get_ref<const std::string&>();
  else
    repr_rec(out, j, where, 0);
}

void append_repr(std::string& out, const json& j, Pos where) {
  repr_rec(out, j, where, 0);
}

bool truthy(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return j.get<bool>();
    case json::value_t::number_integer:
      return j.get<std::int64_t>() != 0;
    case json::value_t::number_unsigned:
      return j.get<std::uint64_t>() != 0;
    case json::value_t::number_float:
      return j.get<double>() != 0.0;
    case json::value_t::string:
      return !j.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return !j.empty();
    default:
      return true;
  }
}

std::size_t copy_cost(const json& j, std::size_t cap) {
  auto own_cost = [](const json& v) {
    return sizeof(json) + (v.is_string() ? v.get_ref<const std::string&>().size() : 0);
  };
  if (!j.is_structured()) return own_cost(j);
  std::size_t cost = 0;
  std::vector<const json*> pending{&j};
  while (!pending.empty() && cost <= cap) {
    const json* v = pending.back();
    pending.pop_back();
    cost += own_cost(*v);
    if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) {
        cost += it.key().size() + sizeof(json);
        pending.push_back(&*it);
      }
    } else if (v->is_array()) {
      for (const auto& e : *v) pending.push_back(&e);
    }
  }
  return cost;
}

bool equal(const json& a, const json& b, Pos where) {
  return equal_rec(a, b, where, 0);
}

std::optional<std::partial_ordering> compare(const json& a, const json& b, Pos where) {
  return compare_rec(a, b, where, 0);
}

void append_json(std::string& out, const json& j, const std::optional<std::string>& indent, Pos where) {
  json_rec(out, j, indent, 0, where);
}

}  // namespace mlops::tmpl::detail
