#include "eval/assertions.hpp"

#include <algorithm>
#include <cctype>

#include "metrics/json.hpp"
#include "metrics/text.hpp"
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

}  // namespace

json Evaluator::value_for(const AssertionSpec& a, const json& vars) const {
  if (a.value.is_string()) return render(a.value.get<std::string>(), vars);
  if (a.value.is_array()) {
    json out = json::array();
    for (const auto& x : a.value) out.push_back(x.is_string() ? json(render(x.get<std::string>(), vars)) : x);
    return out;
  }
  return a.value;
}

const metrics::JsonSchema& Evaluator::schema_for(const json& schema) {
  std::string key = schema.dump();
  auto it = schemas_.find(key);
  if (it == schemas_.end()) it = schemas_.emplace(key, std::make_unique<metrics::JsonSchema>(schema)).first;
  return *it->second;
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
  } else if (a.type == "is-json" || a.type == "json-schema") {
    auto parsed = metrics::parse_json(o);
    pass = parsed.has_value();
    why = "expected output to be JSON";
    if (pass && !v.is_null()) {
      auto errors = schema_for(v).validate(*parsed);
      pass = errors.empty();
      if (!pass) why = "JSON does not match the schema: " + errors.front().instance_path + " " + errors.front().message;
    }
  } else if (a.type == "contains-json") {
    auto found = metrics::extract_json_values(o);
    pass = !found.empty();
    why = "expected output to contain JSON";
    if (pass && !v.is_null()) {
      const auto& schema = schema_for(v);
      pass = std::any_of(found.begin(), found.end(), [&](const json& j) { return schema.is_valid(j); });
      why = "no JSON in the output matches the schema";
    }
  } else if (a.type == "levenshtein") {
    // promptfoo: threshold is the largest edit distance that passes (default 5).
    auto limit = static_cast<std::size_t>(std::max(0.0, a.threshold.value_or(metrics::k_levenshtein_threshold)));
    std::size_t d = metrics::levenshtein(o, text_of(v), limit);
    pass = d <= limit;
    why = "edit distance is more than " + std::to_string(limit);
  } else if (a.type == "bleu" || a.type == "rouge-n" || a.type == "rouge-l" || a.type == "token-f1") {
    std::vector<std::string> refs = v.is_array() ? list_of(v) : std::vector<std::string>{text_of(v)};
    if (refs.empty()) {
      r.reason = a.type + " needs at least one reference text";
      return r;
    }
    double def = a.type == "bleu" ? metrics::k_bleu_threshold : metrics::k_rouge_threshold;
    if (a.type == "bleu") score = metrics::bleu(o, refs);
    else if (a.type == "rouge-n") score = metrics::rouge_n(o, refs.front(), 1);
    else if (a.type == "rouge-l") score = metrics::rouge_l(o, refs.front());
    else score = metrics::token_f1(o, refs.front());
    double threshold = a.threshold.value_or(a.type == "token-f1" ? 0.5 : def);
    pass = score >= threshold;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %.4f < %.4f", a.type.c_str(), score, threshold);
    why = buf;
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
  if (!pass && !a.negate && (a.type == "equals" || a.type == "levenshtein") && v.is_string())
    r.expected = clip(v.get<std::string>(), 4096);
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
  for (auto& j : metrics::extract_json_values(answer))
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
