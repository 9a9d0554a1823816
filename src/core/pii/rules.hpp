#pragma once
// The detector catalogue: one row per built-in rule. Rule ids are a stable
// interface (SARIF ruleId, baselines, --types, replace placeholders): never
// rename one, only add.
#include <span>
#include <string>
#include <string_view>

namespace mlops::pii {

enum class Category { contact, financial, government, network, secret, custom };
const char* category_name(Category c);

struct Rule {
  std::string id;    // "email", "kr-rrn", …
  std::string name;  // "Email address"
  Category category;
  bool validated;           // a checksum or structural validator decides, not the shape alone
  std::string placeholder;  // replace mode writes <PLACEHOLDER>
  std::string description;  // one sentence: what matches and how it is validated
};

// Index of each built-in rule in builtin_rules(); candidates carry these.
enum BuiltinRule : std::uint8_t {
  k_email,
  k_phone_e164,
  k_phone_kr,
  k_phone_us,
  k_credit_card,
  k_us_ssn,
  k_kr_rrn,
  k_kr_frn,
  k_kr_brn,
  k_kr_passport,
  k_kr_driver_license,
  k_iban,
  k_ipv4,
  k_ipv6,
  k_mac_address,
  k_url_credentials,
  k_jwt,
  k_private_key,
  k_openai_key,
  k_anthropic_key,
  k_aws_key,
  k_github_token,
  k_slack_token,
  k_google_key,
  k_generic_secret,
  k_builtin_count
};

std::span<const Rule> builtin_rules();
const Rule* find_builtin(std::string_view id);

}  // namespace mlops::pii
