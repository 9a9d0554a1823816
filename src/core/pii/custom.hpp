#pragma once
// Custom detectors from mlops.yaml (pii.rules): a PCRE2 regex each, optional
// context keywords, a validator and a confidence. Compiled once (JIT when
// available); never consulted when none are configured, so the built-in pass
// stays regex-free.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "pii/detectors.hpp"
#include "pii/rules.hpp"

namespace mlops::pii {

struct CustomRuleSpec {
  std::string id;
  std::string name;
  std::string regex;
  std::vector<std::string> keywords;  // one must appear within 64 bytes before the match
  std::string validator = "none";     // none, luhn, mod97, kr-rrn, kr-brn
  double confidence = 0.8;
  std::string placeholder;  // replace mode; default: the id upper-cased
};

// Parses the YAML list under pii.rules; `origin` ("mlops.yaml:12") names the
// place in every ConfigError.
std::vector<CustomRuleSpec> parse_custom_rules(const std::string& yaml, const std::string& origin);

class CustomRules {
 public:
  // Throws ConfigError naming the rule and the regex error's offset.
  CustomRules(std::vector<CustomRuleSpec> specs, std::string origin);
  ~CustomRules();
  CustomRules(const CustomRules&) = delete;
  CustomRules& operator=(const CustomRules&) = delete;

  const std::vector<Rule>& rules() const { return rules_; }
  // Appends matches starting in [from, to) of b[0, n); candidate rule numbers
  // are k_builtin_count + the rule's index.
  void find(const char* b, std::size_t n, std::size_t from, std::size_t to, std::vector<detail::Candidate>& out) const;

 private:
  struct Compiled;
  std::vector<CustomRuleSpec> specs_;
  std::vector<Rule> rules_;
  std::vector<std::unique_ptr<Compiled>> compiled_;
};

}  // namespace mlops::pii
