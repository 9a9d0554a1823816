#include "metrics/unicode.hpp"

#include <locale.h>
#include <wctype.h>

#include "util/text.hpp"

namespace mlops::metrics::detail {

std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto ch = util::decode_utf8(s, i);
    out.push_back(ch.cp);
    i += ch.len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

bool is_js_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

bool is_py_space(char32_t cp) {
  if (cp == 0xfeff) return false;
  return is_js_space(cp) || (cp >= 0x1c && cp <= 0x1f) || cp == 0x85;
}

namespace {
// glibc's built-in C.UTF-8 locale carries the Unicode simple case mappings; it
// needs no locale files, and towlower_l leaves the process locale alone.
locale_t utf8_locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}
}  // namespace

bool is_upper(char32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  locale_t loc = utf8_locale();
  return loc && iswupper_l(static_cast<wint_t>(cp), loc);
}

bool is_lower(char32_t cp) {
  if (cp < 0x80) return cp >= 'a' && cp <= 'z';
  locale_t loc = utf8_locale();
  return loc && iswlower_l(static_cast<wint_t>(cp), loc);
}

bool is_alnum(char32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  locale_t loc = utf8_locale();
  return loc && iswalnum_l(static_cast<wint_t>(cp), loc);
}

bool is_punctuation(char32_t cp) {
  if (cp < 0x80) {
    static constexpr std::string_view k_ascii = "!\"#%&'()*,-./:;?@[\\]_{}";
    return k_ascii.find(static_cast<char>(cp)) != std::string_view::npos;
  }
  locale_t loc = utf8_locale();
  return loc && iswpunct_l(static_cast<wint_t>(cp), loc) && !iswalnum_l(static_cast<wint_t>(cp), loc);
}

char32_t code_point_before(std::string_view s, std::size_t i) {
  std::size_t start = i - 1;
  while (start > 0 && i - start < 4 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) --start;
  auto ch = util::decode_utf8(s, start);
  return start + ch.len == i ? ch.cp : static_cast<unsigned char>(s[i - 1]);
}

char32_t code_point_at(std::string_view s, std::size_t i) {
  return i < s.size() ? util::decode_utf8(s, i).cp : 0;
}

std::string to_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  locale_t loc = utf8_locale();
  for (std::size_t i = 0; i < s.size();) {
    auto ch = util::decode_utf8(s, i);
    if (!ch.valid) {
      out += s[i];
    } else if (ch.cp < 0x80) {
      out += static_cast<char>(ch.cp >= 'A' && ch.cp <= 'Z' ? ch.cp + 32 : ch.cp);
    } else {
      char32_t lower = loc ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(ch.cp), loc)) : ch.cp;
      append_utf8(out, lower);
    }
    i += ch.len;
  }
  return out;
}

std::vector<std::string> split_words(std::string_view s, bool (*is_space)(char32_t)) {
  std::vector<std::string> out;
  std::size_t start = std::string_view::npos;
  for (std::size_t i = 0; i < s.size();) {
    auto ch = util::decode_utf8(s, i);
    bool space = ch.valid && is_space(ch.cp);
    if (space && start != std::string_view::npos) {
      out.emplace_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (!space && start == std::string_view::npos) {
      start = i;
    }
    i += ch.len;
  }
  if (start != std::string_view::npos) out.emplace_back(s.substr(start));
  return out;
}

}  // namespace mlops::metrics::detail
