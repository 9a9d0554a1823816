#include "metrics/schema.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <regex>

#include "metrics/unicode.hpp"
#include "util/error.hpp"

namespace mlops::metrics {

using nlohmann::json;

namespace {

enum TypeBit : unsigned {
  t_null = 1,
  t_boolean = 2,
  t_object = 4,
  t_array = 8,
  t_number = 16,
  t_string = 32,
  t_integer = 64,
};

constexpr std::pair<const char*, unsigned> k_type_names[] = {
    {"null", t_null},     {"boolean", t_boolean}, {"object", t_object},   {"array", t_array},
    {"number", t_number}, {"string", t_string},   {"integer", t_integer},
};

bool is_integral(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool has_type(const json& v, unsigned types) {
  if ((types & t_null) && v.is_null()) return true;
  if ((types & t_boolean) && v.is_boolean()) return true;
  if ((types & t_object) && v.is_object()) return true;
  if ((types & t_array) && v.is_array()) return true;
  if ((types & t_number) && v.is_number()) return true;
  if ((types & t_string) && v.is_string()) return true;
  return (types & t_integer) && is_integral(v);
}

std::string type_list(unsigned types) {
  std::string out;
  for (auto [name, bit] : k_type_names)
    if (types & bit) out += (out.empty() ? "" : " or ") + std::string(name);
  return out;
}

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string brief(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// ---- formats ---------------------------------------------------------------------

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  for (std::size_t i = at; i < at + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}
int number_at(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool valid_date(std::string_view s) {
  if (s.size() != 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2))
    return false;
  int y = number_at(s, 0, 4), m = number_at(s, 5, 2), d = number_at(s, 8, 2);
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= k_days[m - 1] + (m == 2 && leap ? 1 : 0);
}

// RFC 3339 full-time: hh:mm:ss[.frac](Z|+hh:mm|-hh:mm).
bool valid_time(std::string_view s) {
  if (!digits(s, 0, 2) || s.size() < 9 || s[2] != ':' || !digits(s, 3, 2) || s[5] != ':' || !digits(s, 6, 2))
    return false;
  if (number_at(s, 0, 2) > 23 || number_at(s, 3, 2) > 59 || number_at(s, 6, 2) > 59) return false;
  std::size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return false;
  return s.size() == i + 6 && digits(s, i + 1, 2) && s[i + 3] == ':' && digits(s, i + 4, 2) &&
         number_at(s, i + 1, 2) <= 23 && number_at(s, i + 4, 2) <= 59;
}

bool valid_date_time(std::string_view s) {
  return s.size() > 11 && (s[10] == 'T' || s[10] == 't') && valid_date(s.substr(0, 10)) && valid_time(s.substr(11));
}

bool valid_email(std::string_view s) {
  std::size_t at = s.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= s.size() || s.find('@', at + 1) != std::string_view::npos)
    return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= ' ') return false;
  return true;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// An absolute URI (RFC 3986): a scheme, ':', then only URI characters and
// well-formed percent escapes.
bool valid_uri(std::string_view s) {
  std::size_t colon = s.find(':');
  if (colon == 0 || colon == std::string_view::npos || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  static constexpr std::string_view k_allowed = "-._~:/?#[]@!$&'()*+,;=";
  for (std::size_t i = colon + 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex_digit(s[i + 1]) || !is_hex_digit(s[i + 2])) return false;
      i += 2;
    } else if (!std::isalnum(static_cast<unsigned char>(c)) && k_allowed.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex_digit(s[i])) return false;
  }
  return true;
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) ++i;
    std::size_t len = i - start;
    if (len == 0 || (len > 1 && s[start] == '0') || number_at(s, start, len) > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

using FormatCheck = bool (*)(std::string_view);
FormatCheck format_check(const std::string& name) {
  static const std::map<std::string, FormatCheck> k_formats = {
      {"email", valid_email}, {"date-time", valid_date_time}, {"date", valid_date}, {"time", valid_time},
      {"uri", valid_uri},     {"uuid", valid_uuid},           {"ipv4", valid_ipv4}};
  auto it = k_formats.find(name);
  return it == k_formats.end() ? nullptr : it->second;
}

}  // namespace

// ---- compiled form -------------------------------------------------------------------

namespace detail {
struct SchemaPattern {
  std::string source;
  std::regex re;
};
struct SchemaNode {
  std::optional<bool> boolean;  // a `true` or `false` schema
  std::string at;               // JSON pointer of the schema, for messages
  int ref = -1;
  unsigned types = 0;
  std::optional<json> enum_values, const_value;
  std::vector<std::pair<std::string, int>> properties;
  std::vector<std::pair<SchemaPattern, int>> pattern_properties;
  int additional_properties = -1, property_names = -1;
  std::vector<std::string> required;
  std::optional<std::size_t> min_properties, max_properties;
  std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
  std::vector<std::pair<std::string, int>> dependent_schemas;
  const char* dependent_required_keyword = "dependentRequired";
  std::vector<int> prefix_items;
  int rest_items = -1;  // applies to items after prefix_items
  const char* rest_keyword = "items";
  // A false rest schema is one error about the array (draft-07
  // additionalItems, 2020-12 items), not one per item (draft-07 items).
  bool rest_whole = false;
  int contains = -1;
  std::optional<std::size_t> min_items, max_items, min_length, max_length;
  bool unique_items = false;
  std::optional<SchemaPattern> pattern;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  bool minimum_exclusive = false, maximum_exclusive = false;  // draft-04 boolean forms
  std::optional<json> multiple_of;
  std::vector<int> all_of, any_of, one_of;
  int not_schema = -1, if_schema = -1, then_schema = -1, else_schema = -1;
  std::string format;
  FormatCheck format_ok = nullptr;
};

}  // namespace detail

struct JsonSchema::Compiled {
  using Pattern = detail::SchemaPattern;
  using Node = detail::SchemaNode;

  json root;
  std::string origin;
  bool draft07 = true;  // items-array tuples, $ref overriding its siblings
  std::vector<Node> nodes;
  std::map<std::string, int> by_pointer;

  [[noreturn]] void fail(const std::string& at, const std::string& what) const {
    throw ConfigError(origin + " at " + (at.empty() ? "/" : at) + ": " + what,
                      "see https://json-schema.org/understanding-json-schema for the keywords");
  }

  std::size_t count_of(const json& v, const std::string& at) const {
    if (!v.is_number() || !is_integral(v) || v.get<double>() < 0) fail(at, "must be a non-negative integer");
    return static_cast<std::size_t>(v.get<double>());
  }
  double number_of(const json& v, const std::string& at) const {
    if (!v.is_number()) fail(at, "must be a number");
    return v.get<double>();
  }
  Pattern pattern_of(const json& v, const std::string& at) const {
    if (!v.is_string()) fail(at, "must be a string (a regular expression)");
    try {
      return {v.get<std::string>(), std::regex(v.get<std::string>(), std::regex::ECMAScript)};
    } catch (const std::regex_error& e) {
      fail(at, "invalid regular expression " + v.dump() + ": " + e.what());
    }
  }
  std::vector<std::string> names_of(const json& v, const std::string& at) const {
    if (!v.is_array()) fail(at, "must be an array of property names");
    std::vector<std::string> out;
    for (const auto& n : v) {
      if (!n.is_string()) fail(at, "must be an array of property names");
      out.push_back(n.get<std::string>());
    }
    return out;
  }
  std::vector<int> list_of(const json& v, const std::string& at) {
    if (!v.is_array() || v.empty()) fail(at, "must be a non-empty array of schemas");
    std::vector<int> out;
    for (std::size_t i = 0; i < v.size(); ++i) out.push_back(compile(v[i], at + "/" + std::to_string(i)));
    return out;
  }

  int resolve(const std::string& ref, const std::string& at) {
    if (ref.empty() || ref[0] != '#')
      fail(at, "only references within the schema (\"#/...\") are supported, not " + json(ref).dump());
    std::string pointer;
    for (std::size_t i = 1; i < ref.size(); ++i) {
      if (ref[i] == '%' && i + 2 < ref.size() && is_hex_digit(ref[i + 1]) && is_hex_digit(ref[i + 2])) {
        pointer += static_cast<char>(std::stoi(ref.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        pointer += ref[i];
      }
    }
    if (auto it = by_pointer.find(pointer); it != by_pointer.end()) return it->second;
    try {
      json::json_pointer ptr(pointer);
      if (!root.contains(ptr)) fail(at, "$ref " + json(ref).dump() + " points to nothing");
      return compile(root.at(ptr), pointer);
    } catch (const json::exception&) {
      fail(at, "$ref " + json(ref).dump() + " is not a JSON pointer");
    }
  }

  int compile(const json& s, const std::string& at) {
    if (auto it = by_pointer.find(at); it != by_pointer.end()) return it->second;
    const int index = static_cast<int>(nodes.size());
    by_pointer[at] = index;
    nodes.emplace_back();
    Node n;
    n.at = at;
    if (s.is_boolean()) {
      n.boolean = s.get<bool>();
    } else if (!s.is_object()) {
      fail(at, "a schema must be an object or a boolean, not " + brief(s));
    } else if (s.contains("$ref") && draft07) {
      n.ref = resolve_ref(s["$ref"], at);
    } else {
      compile_keywords(s, at, n);
    }
    nodes[static_cast<std::size_t>(index)] = std::move(n);
    return index;
  }

  int resolve_ref(const json& ref, const std::string& at) {
    if (!ref.is_string()) fail(at + "/$ref", "must be a string");
    return resolve(ref.get<std::string>(), at + "/$ref");
  }

  void compile_keywords(const json& s, const std::string& at, Node& n) {
    auto sub = [&](const char* key) { return compile(s[key], at + "/" + escape_pointer(key)); };
    auto where = [&](const char* key) { return at + "/" + key; };
    if (s.contains("$ref")) n.ref = resolve_ref(s["$ref"], at);
    if (s.contains("type")) {
      const json& t = s["type"];
      for (const auto& name : t.is_array() ? t : json::array({t})) {
        bool known = false;
        for (auto [tn, bit] : k_type_names)
          if (name.is_string() && name == tn) {
            n.types |= bit;
            known = true;
          }
        if (!known) fail(where("type"), "unknown type " + brief(name));
      }
    }
    if (s.contains("enum")) {
      if (!s["enum"].is_array()) fail(where("enum"), "must be an array");
      n.enum_values = s["enum"];
    }
    if (s.contains("const")) n.const_value = s["const"];
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) fail(where("properties"), "must be an object of schemas");
      for (const auto& [name, schema] : s["properties"].items())
        n.properties.emplace_back(name, compile(schema, where("properties") + "/" + escape_pointer(name)));
    }
    if (s.contains("patternProperties")) {
      if (!s["patternProperties"].is_object()) fail(where("patternProperties"), "must be an object of schemas");
      for (const auto& [re, schema] : s["patternProperties"].items()) {
        std::string p = where("patternProperties") + "/" + escape_pointer(re);
        n.pattern_properties.emplace_back(pattern_of(json(re), p), compile(schema, p));
      }
    }
    if (s.contains("additionalProperties")) n.additional_properties = sub("additionalProperties");
    if (s.contains("propertyNames")) n.property_names = sub("propertyNames");
    if (s.contains("required")) n.required = names_of(s["required"], where("required"));
    if (s.contains("minProperties")) n.min_properties = count_of(s["minProperties"], where("minProperties"));
    if (s.contains("maxProperties")) n.max_properties = count_of(s["maxProperties"], where("maxProperties"));
    const char* dependencies = draft07 ? "dependencies" : "dependentRequired";
    n.dependent_required_keyword = dependencies;
    for (const char* key : {dependencies, draft07 ? "dependencies" : "dependentSchemas"}) {
      if (!s.contains(key)) continue;
      if (!s[key].is_object()) fail(where(key), "must be an object");
      for (const auto& [name, dep] : s[key].items()) {
        std::string p = where(key) + "/" + escape_pointer(name);
        if (dep.is_array() && std::string_view(key) != "dependentSchemas")
          n.dependent_required.emplace_back(name, names_of(dep, p));
        else if (std::string_view(key) != "dependentRequired")
          n.dependent_schemas.emplace_back(name, compile(dep, p));
        else
          fail(p, "must be an array of property names");
      }
      if (draft07) break;
    }
    if (s.contains("prefixItems") && !draft07) n.prefix_items = list_of(s["prefixItems"], where("prefixItems"));
    if (s.contains("items")) {
      if (s["items"].is_array() && draft07) {
        for (std::size_t i = 0; i < s["items"].size(); ++i)
          n.prefix_items.push_back(compile(s["items"][i], where("items") + "/" + std::to_string(i)));
        if (s.contains("additionalItems")) {
          n.rest_items = sub("additionalItems");
          n.rest_keyword = "additionalItems";
          n.rest_whole = true;
        }
      } else {
        n.rest_items = sub("items");
        n.rest_whole = !draft07;
      }
    }
    if (s.contains("contains")) n.contains = sub("contains");
    if (s.contains("minItems")) n.min_items = count_of(s["minItems"], where("minItems"));
    if (s.contains("maxItems")) n.max_items = count_of(s["maxItems"], where("maxItems"));
    if (s.contains("uniqueItems")) {
      if (!s["uniqueItems"].is_boolean()) fail(where("uniqueItems"), "must be true or false");
      n.unique_items = s["uniqueItems"].get<bool>();
    }
    if (s.contains("minLength")) n.min_length = count_of(s["minLength"], where("minLength"));
    if (s.contains("maxLength")) n.max_length = count_of(s["maxLength"], where("maxLength"));
    if (s.contains("pattern")) n.pattern = pattern_of(s["pattern"], where("pattern"));
    if (s.contains("minimum")) n.minimum = number_of(s["minimum"], where("minimum"));
    if (s.contains("maximum")) n.maximum = number_of(s["maximum"], where("maximum"));
    for (auto [key, bound, flag] : {std::tuple{"exclusiveMinimum", &n.exclusive_minimum, &n.minimum_exclusive},
                                    std::tuple{"exclusiveMaximum", &n.exclusive_maximum, &n.maximum_exclusive}}) {
      if (!s.contains(key)) continue;
      if (s[key].is_boolean())
        *flag = s[key].get<bool>();
      else
        *bound = number_of(s[key], where(key));
    }
    if (s.contains("multipleOf")) {
      if (number_of(s["multipleOf"], where("multipleOf")) <= 0) fail(where("multipleOf"), "must be greater than 0");
      n.multiple_of = s["multipleOf"];
    }
    if (s.contains("allOf")) n.all_of = list_of(s["allOf"], where("allOf"));
    if (s.contains("anyOf")) n.any_of = list_of(s["anyOf"], where("anyOf"));
    if (s.contains("oneOf")) n.one_of = list_of(s["oneOf"], where("oneOf"));
    if (s.contains("not")) n.not_schema = sub("not");
    if (s.contains("if")) {
      n.if_schema = sub("if");
      if (s.contains("then")) n.then_schema = sub("then");
      if (s.contains("else")) n.else_schema = sub("else");
    }
    if (s.contains("format")) {
      if (!s["format"].is_string()) fail(where("format"), "must be a string");
      n.format = s["format"].get<std::string>();
      n.format_ok = format_check(n.format);
    }
  }
};

// ---- validation ----------------------------------------------------------------------

namespace {

constexpr int k_max_depth = 256;

// The running verdict of one schema: keep(passed) records a keyword's result
// and says whether to go on (always when collecting every error).
struct Outcome {
  explicit Outcome(bool collecting) : collecting(collecting) {}
  bool keep(bool passed) {
    ok = ok && passed;
    return passed || collecting;
  }
  bool collecting, ok = true;
};

class Validator {
 public:
  using Node = detail::SchemaNode;
  Validator(const std::vector<Node>& nodes, std::vector<SchemaError>* out) : nodes_(nodes), out_(out) {}

  // False as soon as an error is found when out_ is null (a yes/no check).
  bool check(int index, const json& v, int depth = 0) {
    if (depth > k_max_depth)
      throw ConfigError("JSON schema: $ref recursion deeper than " + std::to_string(k_max_depth) + " levels at " +
                        (path_.empty() ? "/" : path_));
    const Node& n = nodes_[static_cast<std::size_t>(index)];
    if (n.boolean) return *n.boolean || error("false", "no value is allowed here (the schema is false)");
    Outcome result(out_ != nullptr);
    auto keep = [&](bool passed) { return result.keep(passed); };
    if (n.ref >= 0 && !keep(check(n.ref, v, depth + 1))) return false;
    if (n.types && !has_type(v, n.types) && !keep(error("type", brief(v) + " is not of type " + type_list(n.types))))
      return false;
    if (n.enum_values && !contains(*n.enum_values, v) &&
        !keep(error("enum", brief(v) + " is not one of " + brief(*n.enum_values))))
      return false;
    if (n.const_value && !(*n.const_value == v) && !keep(error("const", "expected " + brief(*n.const_value))))
      return false;
    if (v.is_object() && !keep(check_object(n, v, depth))) return false;
    if (v.is_array() && !keep(check_array(n, v, depth))) return false;
    if (v.is_string() && !keep(check_string(n, v.get_ref<const std::string&>()))) return false;
    if (v.is_number() && !keep(check_number(n, v))) return false;
    for (int s : n.all_of)
      if (!keep(check(s, v, depth + 1))) return false;
    if (!n.any_of.empty()) {
      bool any = false;
      for (int s : n.any_of) any = any || quiet(s, v, depth);
      if (!any && !keep(error("anyOf", brief(v) + " is not valid under any of the given schemas"))) return false;
    }
    if (!n.one_of.empty()) {
      int valid = 0;
      for (int s : n.one_of) valid += quiet(s, v, depth) ? 1 : 0;
      if (valid != 1 &&
          !keep(error("oneOf", brief(v) + (valid == 0 ? " is not valid under any of the given schemas"
                                                      : " is valid under more than one of the given schemas"))))
        return false;
    }
    if (n.not_schema >= 0 && quiet(n.not_schema, v, depth) &&
        !keep(error("not", brief(v) + " should not be valid under the \"not\" schema")))
      return false;
    if (n.if_schema >= 0) {
      int branch = quiet(n.if_schema, v, depth) ? n.then_schema : n.else_schema;
      if (branch >= 0 && !keep(check(branch, v, depth + 1))) return false;
    }
    return result.ok;
  }

 private:
  bool error(const char* keyword, std::string message) {
    if (out_) out_->push_back({path_, keyword, std::move(message)});
    return false;
  }

  bool quiet(int index, const json& v, int depth) {
    Validator probe(nodes_, nullptr);
    probe.path_ = path_;
    return probe.check(index, v, depth + 1);
  }

  bool descend(int index, const json& v, const std::string& segment, int depth) {
    std::size_t size = path_.size();
    path_ += "/" + segment;
    bool ok = check(index, v, depth + 1);
    path_.resize(size);
    return ok;
  }

  static bool contains(const json& list, const json& v) {
    for (const auto& item : list)
      if (item == v) return true;
    return false;
  }

  bool check_object(const Node& n, const json& v, int depth) {
    Outcome result(out_ != nullptr);
    auto keep = [&](bool passed) { return result.keep(passed); };
    for (const auto& [name, s] : n.properties)
      if (auto it = v.find(name); it != v.end() && !keep(descend(s, *it, escape_pointer(name), depth))) return false;
    std::vector<std::string> extras;
    for (const auto& [key, value] : v.items()) {
      bool matched = false;
      for (const auto& [name, s] : n.properties) matched = matched || name == key;
      for (const auto& [p, s] : n.pattern_properties) {
        if (!std::regex_search(key, p.re)) continue;
        matched = true;
        if (!keep(descend(s, value, escape_pointer(key), depth))) return false;
      }
      if (!matched) extras.push_back(key);
    }
    if (n.additional_properties >= 0 && !extras.empty()) {
      const Node& ap = nodes_[static_cast<std::size_t>(n.additional_properties)];
      if (ap.boolean) {
        std::string list;
        for (const auto& e : extras) list += (list.empty() ? "" : ", ") + json(e).dump();
        if (!*ap.boolean &&
            !keep(error("additionalProperties", "additional properties are not allowed (" + list +
                                                    (extras.size() == 1 ? " was" : " were") + " unexpected)")))
          return false;
      } else {
        for (const auto& e : extras)
          if (!keep(descend(n.additional_properties, v[e], escape_pointer(e), depth))) return false;
      }
    }
    for (const auto& name : n.required)
      if (!v.contains(name) && !keep(error("required", json(name).dump() + " is a required property"))) return false;
    if (n.property_names >= 0)
      for (const auto& [key, value] : v.items())
        if (!keep(check(n.property_names, json(key), depth + 1))) return false;
    if (n.min_properties && v.size() < *n.min_properties &&
        !keep(error("minProperties", "expected at least " + std::to_string(*n.min_properties) + " properties")))
      return false;
    if (n.max_properties && v.size() > *n.max_properties &&
        !keep(error("maxProperties", "expected at most " + std::to_string(*n.max_properties) + " properties")))
      return false;
    for (const auto& [name, needed] : n.dependent_required) {
      if (!v.contains(name)) continue;
      for (const auto& other : needed)
        if (!v.contains(other) &&
            !keep(error(n.dependent_required_keyword, json(other).dump() + " is a dependency of " + json(name).dump())))
          return false;
    }
    for (const auto& [name, s] : n.dependent_schemas)
      if (v.contains(name) && !keep(check(s, v, depth + 1))) return false;
    return result.ok;
  }

  bool check_array(const Node& n, const json& v, int depth) {
    Outcome result(out_ != nullptr);
    auto keep = [&](bool passed) { return result.keep(passed); };
    const std::size_t prefix = std::min(n.prefix_items.size(), v.size());
    for (std::size_t i = 0; i < prefix; ++i)
      if (!keep(descend(n.prefix_items[i], v[i], std::to_string(i), depth))) return false;
    if (n.rest_items >= 0 && v.size() > n.prefix_items.size()) {
      const Node& rest = nodes_[static_cast<std::size_t>(n.rest_items)];
      if (rest.boolean && n.rest_whole) {
        if (!*rest.boolean &&
            !keep(error(n.rest_keyword, "expected at most " + std::to_string(n.prefix_items.size()) + " items")))
          return false;
      } else {
        for (std::size_t i = n.prefix_items.size(); i < v.size(); ++i)
          if (!keep(descend(n.rest_items, v[i], std::to_string(i), depth))) return false;
      }
    }
    if (n.contains >= 0) {
      bool found = false;
      for (const auto& item : v) found = found || quiet(n.contains, item, depth);
      if (!found && !keep(error("contains", "no item is valid under the \"contains\" schema"))) return false;
    }
    if (n.min_items && v.size() < *n.min_items &&
        !keep(error("minItems", "expected at least " + std::to_string(*n.min_items) + " items")))
      return false;
    if (n.max_items && v.size() > *n.max_items &&
        !keep(error("maxItems", "expected at most " + std::to_string(*n.max_items) + " items")))
      return false;
    if (n.unique_items) {
      bool unique = true;
      for (std::size_t i = 0; i < v.size() && unique; ++i)
        for (std::size_t j = i + 1; j < v.size() && unique; ++j) unique = !(v[i] == v[j]);
      if (!unique && !keep(error("uniqueItems", "the items are not unique"))) return false;
    }
    return result.ok;
  }

  bool check_string(const Node& n, const std::string& s) {
    Outcome result(out_ != nullptr);
    auto keep = [&](bool passed) { return result.keep(passed); };
    if (n.min_length || n.max_length) {
      const std::size_t len = detail::code_points(s).size();
      if (n.min_length && len < *n.min_length &&
          !keep(error("minLength", "expected at least " + std::to_string(*n.min_length) + " characters")))
        return false;
      if (n.max_length && len > *n.max_length &&
          !keep(error("maxLength", "expected at most " + std::to_string(*n.max_length) + " characters")))
        return false;
    }
    if (n.pattern && !std::regex_search(s, n.pattern->re) &&
        !keep(error("pattern", brief(json(s)) + " does not match " + json(n.pattern->source).dump())))
      return false;
    if (n.format_ok && !n.format_ok(s) && !keep(error("format", brief(json(s)) + " is not a valid " + n.format)))
      return false;
    return result.ok;
  }

  bool check_number(const Node& n, const json& v) {
    Outcome result(out_ != nullptr);
    auto keep = [&](bool passed) { return result.keep(passed); };
    const double x = v.get<double>();
    if (n.minimum && (n.minimum_exclusive ? x <= *n.minimum : x < *n.minimum) &&
        !keep(error("minimum", brief(v) + " is less than " + (n.minimum_exclusive ? "or equal to " : "") +
                                   json(*n.minimum).dump())))
      return false;
    if (n.maximum && (n.maximum_exclusive ? x >= *n.maximum : x > *n.maximum) &&
        !keep(error("maximum", brief(v) + " is greater than " + (n.maximum_exclusive ? "or equal to " : "") +
                                   json(*n.maximum).dump())))
      return false;
    if (n.exclusive_minimum && x <= *n.exclusive_minimum &&
        !keep(error("exclusiveMinimum", brief(v) + " is less than or equal to " + json(*n.exclusive_minimum).dump())))
      return false;
    if (n.exclusive_maximum && x >= *n.exclusive_maximum &&
        !keep(
            error("exclusiveMaximum", brief(v) + " is greater than or equal to " + json(*n.exclusive_maximum).dump())))
      return false;
    if (n.multiple_of && !multiple(v, *n.multiple_of) &&
        !keep(error("multipleOf", brief(v) + " is not a multiple of " + n.multiple_of->dump())))
      return false;
    return result.ok;
  }

  // Integers exactly; otherwise the quotient must be a whole number, as in
  // python-jsonschema and Ajv (so 0.3 is not a multiple of 0.1).
  static bool multiple(const json& v, const json& divisor) {
    if (v.is_number_integer() && divisor.is_number_integer()) {
      if (v.is_number_unsigned() || divisor.is_number_unsigned())
        return v.get<std::uint64_t>() % divisor.get<std::uint64_t>() == 0;
      return v.get<std::int64_t>() % divisor.get<std::int64_t>() == 0;
    }
    const double q = v.get<double>() / divisor.get<double>();
    return std::isfinite(q) && std::trunc(q) == q;
  }

  const std::vector<Node>& nodes_;
  std::vector<SchemaError>* out_;
  std::string path_;
};

}  // namespace

JsonSchema::JsonSchema(const json& schema, const std::string& origin) : impl_(std::make_unique<Compiled>()) {
  impl_->root = schema;
  impl_->origin = origin;
  if (schema.is_object() && schema.contains("$schema") && schema["$schema"].is_string()) {
    const auto& uri = schema["$schema"].get_ref<const std::string&>();
    impl_->draft07 = uri.find("2019-09") == std::string::npos && uri.find("2020-12") == std::string::npos;
  }
  impl_->compile(schema, "");
}

JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;

std::vector<SchemaError> JsonSchema::validate(const json& instance) const {
  std::vector<SchemaError> errors;
  Validator(impl_->nodes, &errors).check(0, instance);
  return errors;
}

bool JsonSchema::is_valid(const json& instance) const {
  return Validator(impl_->nodes, nullptr).check(0, instance);
}

}  // namespace mlops::metrics
