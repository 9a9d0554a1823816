#pragma once
// Small text helpers shared by the CLI and core modules.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::util {

std::size_t levenshtein(std::string_view a, std::string_view b);
// The candidate closest to `word` within a distance that makes a typo plausible.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);
std::vector<std::string> split(std::string_view s, char sep);
std::string trim(std::string_view s);
// Words separated by any run of ASCII whitespace.
std::vector<std::string> split_whitespace(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
struct Utf8Char {
  char32_t cp;      // the code point, or the raw byte when !valid
  std::size_t len;  // bytes consumed, at least 1
  bool valid;
};
// Decodes the character starting at byte i (i < s.size()); overlong forms,
// surrogates, truncated sequences and values past U+10FFFF are invalid.
Utf8Char decode_utf8(std::string_view s, std::size_t i);
// Text for HTML and SVG, in element content or a quoted attribute: & < > " ' as
// entities, invalid UTF-8 as U+FFFD.
std::string html_escape(std::string_view s);
bool is_valid_utf8(std::string_view s);
// "1.2 MiB" style sizes.
std::string human_bytes(std::uintmax_t bytes);

}  // namespace mlops::util
