#pragma once
// Checksums and structural checks behind the validated detectors. Each takes
// the compact form (digits only, or the IBAN without spaces) and never throws.
#include <string_view>

namespace mlops::pii {

bool luhn_valid(std::string_view digits);
// Known issuer prefix (IIN) for the length: Visa, Mastercard, Amex, Discover,
// JCB, Diners, UnionPay.
bool card_issuer_known(std::string_view digits);
// US SSN rules: area not 000, 666 or 900-999; group not 00; serial not 0000.
bool ssn_valid(std::string_view digits9);

enum class RrnCheck { invalid, checksum_ok, checksum_failed };
// Korean resident (G 1-4, 9, 0) or foreigner (G 5-8) registration number: the
// date YYMMDD must exist; the check digit is verified but, since numbers issued
// from October 2020 carry none, a failure is reported rather than rejected.
RrnCheck kr_rrn_check(std::string_view digits13);
bool kr_rrn_is_foreigner(std::string_view digits13);
// Korean business registration number check digit.
bool kr_brn_valid(std::string_view digits10);

// Registered IBAN length for a country code, 0 when the country has no IBAN.
int iban_length(std::string_view country);
// Country length and ISO 13616 mod-97 == 1.
bool iban_valid(std::string_view compact);

// Shannon entropy in bits per character.
double shannon_entropy(std::string_view s);
// The first JWT segment decodes (base64url) to a JSON object naming "alg" or "typ".
bool jwt_header_valid(std::string_view segment);

}  // namespace mlops::pii
