#include "pii/rules.hpp"

#include <array>

namespace mlops::pii {

const char* category_name(Category c) {
  switch (c) {
    case Category::contact:
      return "contact";
    case Category::financial:
      return "financial";
    case Category::government:
      return "government";
    case Category::network:
      return "network";
    case Category::secret:
      return "secret";
    case Category::custom:
      return "custom";
  }
  return "?";
}

std::span<const Rule> builtin_rules() {
  using C = Category;
  // Same order as BuiltinRule.
  static const std::array<Rule, k_builtin_count> rules = {{
      {"email", "Email address", C::contact, false, "EMAIL", "An RFC 5321 style address with a dotted domain"},
      {"phone-e164", "International phone number", C::contact, false, "PHONE",
       "+ and 8 to 15 digits (E.164), other than +1 and +82"},
      {"phone-kr", "Korean phone number", C::contact, false, "PHONE",
       "Mobile 010/011/016-019 and landline 02/0ZZ/070 numbers, or +82"},
      {"phone-us", "US phone number", C::contact, false, "PHONE",
       "NANP numbers: (AAA) EEE-NNNN, AAA-EEE-NNNN, AAA.EEE.NNNN or +1"},
      {"credit-card", "Payment card number", C::financial, true, "CREDIT_CARD",
       "13 to 19 digits with a known issuer prefix and a valid Luhn check digit"},
      {"us-ssn", "US Social Security number", C::government, true, "SSN",
       "AAA-GG-SSSS without area 000/666/9xx, group 00 or serial 0000"},
      {"kr-rrn", "Korean resident registration number", C::government, true, "KR_RRN",
       "YYMMDD-GNNNNNN with a valid date; a failed checksum (numbers since October 2020) lowers confidence"},
      {"kr-frn", "Korean foreigner registration number", C::government, true, "KR_FRN",
       "YYMMDD-GNNNNNN with G 5-8 and a valid date; checksum as for kr-rrn"},
      {"kr-brn", "Korean business registration number", C::government, true, "KR_BRN",
       "NNN-NN-NNNNN with a valid check digit"},
      {"kr-passport", "Korean passport number", C::government, false, "KR_PASSPORT",
       "M/S/R/O/D/G and 8 digits or M999A9999; context words such as passport or 여권 raise confidence"},
      {"kr-driver-license", "Korean driver's licence number", C::government, false, "KR_DRIVER_LICENSE",
       "RR-YY-NNNNNN-NN with a region code 11-28; context words raise confidence"},
      {"iban", "IBAN", C::financial, true, "IBAN",
       "Country code, check digits and BBAN of the country's length, mod-97"},
      {"ipv4", "IPv4 address", C::network, true, "IP_ADDRESS", "Dotted quad with octets 0-255"},
      {"ipv6", "IPv6 address", C::network, true, "IP_ADDRESS", "An address that inet_pton accepts, with 3+ groups"},
      {"mac-address", "MAC address", C::network, false, "MAC_ADDRESS", "Six hex pairs separated by : or -"},
      {"url-credentials", "Password in a URL", C::secret, false, "PASSWORD", "scheme://user:password@host"},
      {"jwt", "JSON Web Token", C::secret, true, "JWT", "eyJ… header.payload.signature whose header decodes to JSON"},
      {"private-key", "Private key block", C::secret, true, "PRIVATE_KEY",
       "-----BEGIN … PRIVATE KEY----- through its END line"},
      {"openai-api-key", "OpenAI API key", C::secret, false, "API_KEY", "sk-… and sk-proj-… keys"},
      {"anthropic-api-key", "Anthropic API key", C::secret, false, "API_KEY", "sk-ant-… keys"},
      {"aws-access-key", "AWS access key id", C::secret, false, "API_KEY", "AKIA/ASIA/ABIA and 16 characters"},
      {"github-token", "GitHub token", C::secret, false, "API_KEY", "ghp_/gho_/ghu_/ghs_/ghr_ and github_pat_ tokens"},
      {"slack-token", "Slack token", C::secret, false, "API_KEY", "xoxb-/xoxp-/xoxa-/xoxr-/xoxs-/xoxo- tokens"},
      {"google-api-key", "Google API key", C::secret, false, "API_KEY", "AIza and 35 characters"},
      {"generic-secret", "Secret assigned to a key-like name", C::secret, false, "SECRET",
       "password=, token:, api_key= … followed by a high-entropy value"},
  }};
  return rules;
}

const Rule* find_builtin(std::string_view id) {
  for (const auto& r : builtin_rules())
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace mlops::pii
