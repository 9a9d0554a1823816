#include "eval/assertions.hpp"

#include <algorithm>
#include <cctype>

#include "template/template.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace mlops::eval {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string render(const std::string& text, const json& vars) {
  if (text.find("{{") == std::string::npos && text.find("{%") == std::string::npos) return text;
  return tmpl::Template::parse(text).render(vars, {.strict_undefined = false});
}

std::vector<std::string> list_of(const json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& x : v) out.push_back(x.is_string() ? x.get<std::string>() : x.dump());
  } else if (v.is_string()) {  // promptfoo: a comma-separated string
    for (auto& part : util::split(v.get<std::string>(), ',')) out.push_back(util::trim(part));
  }
  return out;
}

std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); i += util::decode_utf8(s, i).len) ++n;
  return n;
}

std::string clip(const std::string& s, std::size_t n = 80) {
  if (s.size() <= n) return s;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole characters
  return s.substr(0, cut) + "…";
}

// Index one past the bracket that closes the one at `start`, honouring strings; npos if none.
std::size_t closing(const std::string& t, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < t.size(); ++i) {
    char c = t[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string::npos;
}

}  // namespace

std::vector<json> extract_json(const std::string& text) {
  std::vector<json> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = text.find_first_of("{[", i);
    if (start == std::string::npos) break;
    std::size_t end = closing(text, start);
    if (end != std::string::npos) {
      json j = json::parse(text.begin() + static_cast<std::ptrdiff_t>(start),
                           text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
      if (!j.is_discarded()) {
        out.push_back(std::move(j));
        i = end;
        continue;
      }
    }
    i = start + 1;
  }
  return out;
}

json Evaluator::value_for(const AssertionSpec& a, const json& vars) const {
  if (a.value.is_string()) return render(a.value.get<std::string>(), vars);
  if (a.value.is_array()) {
    json out = json::array();
    for (const auto& x : a.value) out.push_back(x.is_string() ? json(render(x.get<std::string>(), vars)) : x);
    return out;
  }
  return a.value;
}

const std::regex& Evaluator::regex_for(const std::string& pattern) {
  auto it = regexes_.find(pattern);
  if (it == regexes_.end())
    it = regexes_.emplace(pattern, std::make_unique<std::regex>(pattern, std::regex::ECMAScript)).first;
  return *it->second;
}

AssertionResult Evaluator::evaluate(const AssertionSpec& a, const Output& out, const json& vars) {
  AssertionResult r;
  r.type = (a.negate ? "not-" : "") + a.type;
  r.weight = a.weight;
  r.metric = a.metric;
  const std::string& o = out.text;
  json v;
  try {
    v = value_for(a, vars);
  } catch (const tmpl::TemplateError& e) {
    r.reason = "assertion value: " + std::string(e.what());
    return r;  // fails whether negated or not: the assertion itself is broken
  }
  bool pass = false;
  double score = -1;  // -1: binary (1 or 0)
  std::string why;
  if (a.type == "equals") {
    if (v.is_object() || v.is_array()) {
      json parsed = json::parse(o, nullptr, false);
      pass = !parsed.is_discarded() && parsed == v;
    } else {
      pass = o == text_of(v);
    }
    why = "expected output to equal \"" + clip(text_of(v)) + "\"";
  } else if (a.type == "contains") {
    pass = o.find(text_of(v)) != std::string::npos;
    why = "expected output to contain \"" + clip(text_of(v)) + "\"";
  } else if (a.type == "icontains") {
    pass = lower(o).find(lower(text_of(v))) != std::string::npos;
    why = "expected output to contain \"" + clip(text_of(v)) + "\" (any case)";
  } else if (a.type == "contains-any" || a.type == "icontains-any" || a.type == "contains-all" ||
             a.type == "icontains-all") {
    bool fold = a.type[0] == 'i';
    bool all = a.type.size() > 4 && a.type.compare(a.type.size() - 4, 4, "-all") == 0;
    std::string hay = fold ? lower(o) : o;
    auto items = list_of(v);
    std::vector<std::string> missing;
    std::size_t found = 0;
    for (const auto& item : items) {
      if (hay.find(fold ? lower(item) : item) != std::string::npos) ++found;
      else missing.push_back(item);
    }
    pass = all ? missing.empty() : found > 0;
    why = all ? "missing: " + util::join(missing, ", ") : "none of: " + util::join(items, ", ");
  } else if (a.type == "starts-with") {
    pass = o.rfind(text_of(v), 0) == 0;
    why = "expected output to start with \"" + clip(text_of(v)) + "\"";
  } else if (a.type == "regex") {
    pass = std::regex_search(o, regex_for(text_of(v)));
    why = "expected output to match /" + text_of(v) + "/";
  } else if (a.type == "is-json") {
    pass = json::accept(o);
    why = "expected output to be JSON";
  } else if (a.type == "contains-json") {
    pass = !extract_json(o).empty();
    why = "expected output to contain JSON";
  } else if (a.type == "levenshtein") {
    double limit = a.threshold.value_or(5);
    std::size_t d = util::levenshtein(o, text_of(v));
    pass = static_cast<double>(d) <= limit;
    why = "edit distance " + std::to_string(d) + " > " + util::trim(std::to_string(limit));
  } else if (a.type == "latency") {
    if (out.cache_hit) {  // as promptfoo: a cached answer has no latency to judge
      r.reason = "latency is not measured for a cached response; run with --no-cache";
      return r;
    }
    pass = out.latency_ms <= *a.threshold;
    why = "latency " + std::to_string(static_cast<long>(out.latency_ms)) + " ms > " +
          std::to_string(static_cast<long>(*a.threshold)) + " ms";
  } else if (a.type == "cost") {
    if (!out.cost_usd) {
      r.reason = "the cost of this call is unknown (no price for the model; see mlopsctl cost pricing)";
      return r;
    }
    pass = *out.cost_usd <= *a.threshold;
    why = "cost $" + std::to_string(*out.cost_usd) + " > $" + std::to_string(*a.threshold);
  } else if (a.type == "length") {
    std::size_t n = code_points(o);
    bool ok_min = !v.contains("min") || n >= v["min"].get<std::size_t>();
    bool ok_max = !v.contains("max") || n <= v["max"].get<std::size_t>();
    pass = ok_min && ok_max;
    why = "length " + std::to_string(n) + " outside " + v.dump();
  } else {
    r.reason = "assertion type '" + a.type + "' cannot be evaluated here";
    return r;
  }
  if (a.negate) {
    pass = !pass;
    why = "expected the opposite: " + why;
  }
  r.pass = pass;
  r.score = score >= 0 ? (a.negate ? 1 - score : score) : (pass ? 1.0 : 0.0);
  if (!pass) r.reason = why;
  return r;
}

std::string rubric_system_prompt() {
  return "You are grading output according to a user-specified rubric. If the statement in the rubric is true, "
         "then the output passes the test. Respond with a JSON object with this structure: "
         "{\"reason\": string, \"pass\": boolean, \"score\": number} where score is between 0.0 and 1.0. "
         "Respond with that JSON object only.";
}

std::string rubric_user_prompt(const std::string& rubric, const std::string& output) {
  return "<Output>\n" + output + "\n</Output>\n<Rubric>\n" + rubric + "\n</Rubric>";
}

AssertionResult grade_from_rubric(const AssertionSpec& a, const std::string& answer) {
  AssertionResult r;
  r.type = (a.negate ? "not-" : "") + a.type;
  r.weight = a.weight;
  r.metric = a.metric;
  std::optional<json> verdict;
  for (auto& j : extract_json(answer))
    if (j.is_object() && j.contains("pass")) {
      verdict = std::move(j);
      break;
    }
  if (!verdict) {
    r.reason = "the grader's answer has no {\"pass\": …} JSON: " + clip(answer, 200);
    return r;
  }
  bool pass = (*verdict)["pass"].is_boolean() ? (*verdict)["pass"].get<bool>() : false;
  double score = (*verdict).contains("score") && (*verdict)["score"].is_number() ? (*verdict)["score"].get<double>()
                                                                                  : (pass ? 1.0 : 0.0);
  std::string reason = (*verdict).contains("reason") ? text_of((*verdict)["reason"]) : "";
  if (a.threshold) pass = score >= *a.threshold;
  if (a.negate) {
    pass = !pass;
    score = 1 - score;
  }
  r.pass = pass;
  r.score = std::clamp(score, 0.0, 1.0);
  r.reason = reason;
  return r;
}

Verdict combine(const std::vector<AssertionResult>& results, const std::optional<double>& threshold) {
  Verdict v;
  double total_w = 0, sum = 0;
  bool all = true;
  for (const auto& r : results) {
    if (r.weight <= 0) continue;
    total_w += r.weight;
    sum += r.weight * r.score;
    all = all && r.pass;
  }
  v.score = total_w > 0 ? sum / total_w : 1.0;
  v.pass = threshold ? v.score >= *threshold : all;
  return v;
}

}  // namespace mlops::eval
