#pragma once
// Code-point helpers the text metrics share (internal to the metrics module).
// Invalid UTF-8 never fails: each bad byte is one character, copied through.
#include <string>
#include <string_view>
#include <vector>

namespace mlops::metrics::detail {

// The code points of s (an invalid byte becomes its own value).
std::vector<char32_t> code_points(std::string_view s);
// Appends the code point cp as UTF-8.
void append_utf8(std::string& out, char32_t cp);
// JavaScript's \s: ASCII blanks, U+00A0, U+1680, U+2000-200A, U+2028/9,
// U+202F, U+205F, U+3000, U+FEFF.
bool is_js_space(char32_t cp);
// Python's str.isspace(): is_js_space plus U+001C-001F and U+0085, less U+FEFF.
bool is_py_space(char32_t cp);
// Unicode character classes (glibc's C.UTF-8 tables; exact for ASCII).
bool is_upper(char32_t cp);  // upper or title case letter
bool is_lower(char32_t cp);
bool is_alnum(char32_t cp);
// JavaScript's \p{Punctuation}: exact for ASCII, approximated elsewhere by
// "punctuation or symbol".
bool is_punctuation(char32_t cp);
// The code point ending just before byte i (i > 0).
char32_t code_point_before(std::string_view s, std::size_t i);
// The code point starting at byte i, or 0 at or past the end.
char32_t code_point_at(std::string_view s, std::size_t i);
// Simple (one-to-one) Unicode lower-case mapping of every code point.
std::string to_lower(std::string_view s);
// Words between runs of characters for which is_space is true; leading and
// trailing runs are ignored, so blank text has no words.
std::vector<std::string> split_words(std::string_view s, bool (*is_space)(char32_t));

}  // namespace mlops::metrics::detail
