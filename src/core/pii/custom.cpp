#include "pii/custom.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml-cpp/yaml.h>

#include <cstring>

#include "pii/validators.hpp"
#include "util/error.hpp"

namespace mlops::pii {
namespace {

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || !(id[0] >= 'a' && id[0] <= 'z')) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool validate(const std::string& validator, std::string_view match) {
  if (validator == "none") return true;
  std::string compact;
  for (char c : match)
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) compact.push_back(c);
  if (validator == "luhn") return luhn_valid(compact);
  if (validator == "mod97") return iban_valid(compact);
  if (validator == "kr-rrn") return kr_rrn_check(compact) == RrnCheck::checksum_ok;
  if (validator == "kr-brn") return kr_brn_valid(compact);
  return false;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

}  // namespace

struct CustomRules::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

std::vector<CustomRuleSpec> parse_custom_rules(const std::string& yaml, const std::string& origin) {
  const std::string hint = "each rule needs id: and regex:, e.g. {id: employee-id, regex: 'EMP-[0-9]{6}'}";
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw ConfigError(origin + ": pii.rules: " + e.msg, hint);
  }
  if (root.IsNull()) return {};
  if (!root.IsSequence()) throw ConfigError(origin + ": pii.rules must be a list of rules", hint);
  std::vector<CustomRuleSpec> out;
  for (std::size_t i = 0; i < root.size(); ++i) {
    const YAML::Node& r = root[i];
    const std::string where = origin + ": pii.rules[" + std::to_string(i) + "]";
    if (!r.IsMap()) throw ConfigError(where + " must be a mapping", hint);
    CustomRuleSpec s;
    try {
      for (const auto& kv : r) {
        const std::string key = kv.first.as<std::string>();
        if (key == "id") {
          s.id = kv.second.as<std::string>();
        } else if (key == "name") {
          s.name = kv.second.as<std::string>();
        } else if (key == "regex") {
          s.regex = kv.second.as<std::string>();
        } else if (key == "keywords") {
          if (kv.second.IsScalar())
            s.keywords.push_back(kv.second.as<std::string>());
          else
            s.keywords = kv.second.as<std::vector<std::string>>();
        } else if (key == "validator") {
          s.validator = kv.second.as<std::string>();
        } else if (key == "confidence") {
          s.confidence = kv.second.as<double>();
        } else if (key == "placeholder") {
          s.placeholder = kv.second.as<std::string>();
        } else {
          throw ConfigError(where + ": unknown key '" + key + "'",
                            "known keys: id, name, regex, keywords, validator, confidence, placeholder");
        }
      }
    } catch (const YAML::Exception& e) {
      throw ConfigError(where + ": " + e.msg, hint);
    }
    if (!valid_id(s.id))
      throw ConfigError(where + ": id '" + s.id + "' must be lowercase letters, digits and dashes", hint);
    if (find_builtin(s.id))
      throw ConfigError(where + ": id '" + s.id + "' is a built-in rule", "pick another id, e.g. custom-" + s.id);
    for (const auto& prev : out)
      if (prev.id == s.id) throw ConfigError(where + ": id '" + s.id + "' is used twice", "give each rule its own id");
    if (s.regex.empty()) throw ConfigError(where + " (" + s.id + "): regex is missing", hint);
    if (s.validator != "none" && s.validator != "luhn" && s.validator != "mod97" && s.validator != "kr-rrn" &&
        s.validator != "kr-brn")
      throw ConfigError(where + " (" + s.id + "): unknown validator '" + s.validator + "'",
                        "use one of none, luhn, mod97, kr-rrn, kr-brn");
    if (!(s.confidence > 0 && s.confidence <= 1))
      throw ConfigError(where + " (" + s.id + "): confidence must be in (0, 1]", "e.g. confidence: 0.8");
    for (auto& k : s.keywords) k = lower_ascii(k);
    out.push_back(std::move(s));
  }
  return out;
}

CustomRules::CustomRules(std::vector<CustomRuleSpec> specs, std::string origin) : specs_(std::move(specs)) {
  for (const auto& s : specs_) {
    auto c = std::make_unique<Compiled>();
    int err = 0;
    PCRE2_SIZE off = 0;
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(s.regex.data()), s.regex.size(), 0, &err, &off, nullptr);
    if (!c->code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw ConfigError(origin + ": pii.rules (" + s.id + "): regex error at offset " + std::to_string(off) + ": " +
                            reinterpret_cast<const char*>(msg),
                        "fix the regex (PCRE2 syntax)");
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
    compiled_.push_back(std::move(c));
    std::string placeholder = s.placeholder;
    if (placeholder.empty())
      for (char ch : s.id) placeholder.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(ch)));
    rules_.push_back({s.id, s.name.empty() ? s.id : s.name, Category::custom, s.validator != "none", placeholder,
                      "Custom rule from mlops.yaml: " + s.regex});
  }
}

CustomRules::~CustomRules() = default;

void CustomRules::find(const char* b, std::size_t n, std::size_t from, std::size_t to,
                       std::vector<detail::Candidate>& out) const {
  for (std::size_t r = 0; r < specs_.size(); ++r) {
    const auto& spec = specs_[r];
    const auto& c = *compiled_[r];
    // Match data per call: one Scanner serves many threads.
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(c.code, nullptr), &pcre2_match_data_free);
    std::size_t start = from;
    while (start < to) {
      int rc = pcre2_match(c.code, reinterpret_cast<PCRE2_SPTR>(b), n, start, 0, data.get(), nullptr);
      if (rc < 0) break;
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
      std::size_t ms = ov[0], me = ov[1];
      if (ms >= to) break;
      start = me > ms ? me : ms + 1;
      if (me == ms) continue;
      if (!validate(spec.validator, {b + ms, me - ms})) continue;
      if (!spec.keywords.empty()) {
        std::size_t ctx = ms > 64 ? ms - 64 : 0;
        std::string window = lower_ascii({b + ctx, me - ctx});
        bool hit = false;
        for (const auto& k : spec.keywords) hit = hit || window.find(k) != std::string::npos;
        if (!hit) continue;
      }
      out.push_back({static_cast<std::uint32_t>(k_builtin_count + r), static_cast<float>(spec.confidence), ms, me});
    }
  }
}

}  // namespace mlops::pii
