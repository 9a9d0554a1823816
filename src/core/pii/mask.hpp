#pragma once
// pii mask: rewrites text, JSON and JSONL with every finding hidden.
#include <string>
#include <string_view>
#include <vector>

#include "pii/scanner.hpp"

namespace mlops::pii {

enum class MaskMode {
  mask,     // keep the shape, hide the characters: ***@***, ***-**-****
  redact,   // remove the value
  replace,  // <EMAIL>, <KR_RRN>, …
  hash,     // <EMAIL#16 hex of salted sha256>: equal values stay equal within one salt
  partial   // keep the last four letters or digits
};
// Throws UsageError for an unknown name.
MaskMode parse_mask_mode(std::string_view name);

struct MaskOptions {
  MaskMode mode = MaskMode::mask;
  std::string salt;  // hash mode
};

// The replacement for one value found by `rule_id` (placeholder from `rule`).
std::string mask_value(std::string_view value, const Rule& rule, const MaskOptions& options);

struct MaskResult {
  std::string text;
  std::size_t masked = 0;     // values replaced
  std::size_t bad_lines = 0;  // JSONL lines that were not JSON (masked as text)
};

// Findings on lines with an mlops:allow-pii comment are left as they are.
MaskResult mask_text(std::string_view text, const Scanner& scanner, const MaskOptions& options);

// Keys whose values are always masked in JSON, at any depth, compared without
// case, '-' and '_' (a key containing one of them matches: user_email, apiKey).
const std::vector<std::string>& default_sensitive_keys();

// A JSON document, or JSONL (one document per line). Values of sensitive keys
// are masked whole; every other string goes through the detectors.
MaskResult mask_json(std::string_view input, const Scanner& scanner, const MaskOptions& options,
                     const std::vector<std::string>& extra_keys);

}  // namespace mlops::pii
