#pragma once
// UTF-8 helpers with Python's str semantics, for the template filters: lengths and
// slices count code points, whitespace is str.isspace(), case mapping follows
// str.upper()/str.lower() for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
// (other characters are left as they are). Invalid UTF-8 never fails: each bad
// byte counts as one character and is copied through unchanged.
#include <cstddef>
#include <string>
#include <string_view>

namespace mlops::tmpl::detail {

struct Decoded {
  char32_t cp;      // the code point, or the raw byte when !valid
  std::size_t len;  // bytes consumed, at least 1
  bool valid;
};
// Decodes the character starting at byte i (i < s.size()).
Decoded decode_utf8(std::string_view s, std::size_t i);
// Appends cp as UTF-8; surrogates and values past U+10FFFF become U+FFFD.
void append_utf8(std::string& out, char32_t cp);

// Byte length of the whitespace character at i, or 0 when s[i] is not whitespace.
std::size_t space_len(std::string_view s, std::size_t i);
std::string_view lstrip(std::string_view s);
std::string_view rstrip(std::string_view s);

std::size_t char_count(std::string_view s);
// Byte offset of character number n (s.size() when n >= char_count(s)).
std::size_t char_offset(std::string_view s, std::size_t n);

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// Jinja's `title`: every word that starts after a space, '-', '(', '{', '[' or '<'
// gets an upper-case first letter and lower-case rest.
std::string to_title(std::string_view s);
// str.capitalize(): upper-case first character, the rest lower-case.
std::string capitalize(std::string_view s);

}  // namespace mlops::tmpl::detail
