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

// Masks input as it arrives, so `tail -f app.log | mlopsctl pii mask` prints each
// line while it is fresh and memory stays flat for endless streams. feed() returns
// the masked text of every complete line so far; finish() the rest. Cuts fall only
// between lines, and an open PEM block ("-----BEGIN …" without its END yet) is held
// back until it closes (up to `k_max_pem`), so a private key is masked whole. A line longer than
// `k_max_held` is cut at its last blank. With `json_keys`, the stream is JSONL
// (masked line by line) unless its first line is not a complete JSON value but
// starts one ('{' or '['): then it is one document, masked at finish().
class MaskStream {
 public:
  static constexpr std::size_t k_max_held = 1 << 20;
  static constexpr std::size_t k_max_pem = 64 << 10;  // an 8192-bit RSA key is 6.5 KiB

  MaskStream(const Scanner& scanner, const MaskOptions& options, const std::vector<std::string>* json_keys = nullptr);
  std::string feed(std::string_view data);
  std::string finish();
  std::size_t masked() const { return masked_; }
  std::size_t bad_lines() const { return bad_lines_; }

 private:
  enum class Json { off, unknown, lines, document };
  std::size_t safe_cut() const;
  std::string process(std::string_view text);

  const Scanner& scanner_;
  MaskOptions options_;
  std::vector<std::string> keys_;
  Json json_;
  std::string pending_;
  std::size_t masked_ = 0;
  std::size_t bad_lines_ = 0;
};

}  // namespace mlops::pii
