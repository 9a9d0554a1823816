#include "template/unicode.hpp"

#include "util/text.hpp"

namespace mlops::tmpl::detail {

Decoded decode_utf8(std::string_view s, std::size_t i) {
  auto ch = util::decode_utf8(s, i);
  return {ch.cp, ch.len, ch.valid};
}

void append_utf8(std::string& out, char32_t cp) {
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = 0xfffd;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

namespace {

// The characters for which Python's str.isspace() is true.
bool is_space_cp(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// Latin Extended-A alternates upper- and lower-case letters; which of the pair
// comes first changes twice across the block.
bool latin_a_even_upper(char32_t c) {
  return (c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177);
}
bool latin_a_odd_upper(char32_t c) {
  return (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
}

char32_t upper_cp(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 0x20 : c;
  if (c == 0xb5) return 0x39c;
  if (c >= 0xe0 && c <= 0xfe && c != 0xf7) return c - 0x20;
  if (c == 0xff) return 0x178;
  if (latin_a_even_upper(c)) return c & ~char32_t{1};
  if (latin_a_odd_upper(c)) return (c & 1) ? c : c - 1;
  if (c == 0x131) return 'I';
  if (c == 0x17f) return 'S';
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x3b1 && c <= 0x3c9) return c - 0x20;
  if (c >= 0x430 && c <= 0x44f) return c - 0x20;
  if (c >= 0x450 && c <= 0x45f) return c - 0x50;
  return c;
}

char32_t lower_cp(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 0x20;
  if (c == 0x178) return 0xff;
  if (latin_a_even_upper(c)) return c | 1;
  if (latin_a_odd_upper(c)) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}

bool is_cased(char32_t c) {
  return upper_cp(c) != c || lower_cp(c) != c || c == 0xdf;
}

void append_upper(std::string& out, char32_t c) {
  if (c == 0xdf) {
    out += "SS";
  } else if (c == 0x149) {
    append_utf8(out, 0x2bc);
    out.push_back('N');
  } else {
    append_utf8(out, upper_cp(c));
  }
}

// Appends the lower-case form of the character at `at`; Greek capital sigma
// becomes final sigma at the end of a word, as in Python.
void append_lower(std::string& out, std::string_view s, std::size_t at, const Decoded& d, bool after_cased) {
  if (d.cp == 0x130) {
    out.push_back('i');
    append_utf8(out, 0x307);
    return;
  }
  if (d.cp == 0x3a3 && after_cased) {
    std::size_t next = at + d.len;
    bool before_cased = false;
    if (next < s.size()) {
      Decoded n = decode_utf8(s, next);
      before_cased = n.valid && is_cased(n.cp);
    }
    append_utf8(out, before_cased ? 0x3c3 : 0x3c2);
    return;
  }
  append_utf8(out, lower_cp(d.cp));
}

template <typename Fn>
void for_each_char(std::string_view s, Fn&& fn) {
  for (std::size_t i = 0; i < s.size();) {
    Decoded d = decode_utf8(s, i);
    fn(i, d);
    i += d.len;
  }
}

}  // namespace

std::size_t space_len(std::string_view s, std::size_t i) {
  Decoded d = decode_utf8(s, i);
  return d.valid && is_space_cp(d.cp) ? d.len : 0;
}

std::string_view lstrip(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t n = space_len(s, i);
    if (n == 0) break;
    i += n;
  }
  return s.substr(i);
}

std::string_view rstrip(std::string_view s) {
  std::size_t keep = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = space_len(s, i);
    if (n == 0) {
      i += decode_utf8(s, i).len;
      keep = i;
    } else {
      i += n;
    }
  }
  return s.substr(0, keep);
}

std::size_t char_count(std::string_view s) {
  std::size_t n = 0;
  for_each_char(s, [&](std::size_t, const Decoded&) { ++n; });
  return n;
}

std::size_t char_offset(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  while (i < s.size() && n > 0) {
    i += decode_utf8(s, i).len;
    --n;
  }
  return i;
}

std::string to_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_char(s, [&](std::size_t, const Decoded& d) {
    if (d.valid)
      append_upper(out, d.cp);
    else
      out.push_back(static_cast<char>(d.cp));
  });
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool after_cased = false;
  for_each_char(s, [&](std::size_t i, const Decoded& d) {
    if (d.valid)
      append_lower(out, s, i, d, after_cased);
    else
      out.push_back(static_cast<char>(d.cp));
    after_cased = d.valid && is_cased(d.cp);
  });
  return out;
}

std::string to_title(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool word_start = true;
  bool after_cased = false;
  for_each_char(s, [&](std::size_t i, const Decoded& d) {
    if (!d.valid) {
      out.push_back(static_cast<char>(d.cp));
      word_start = false;
      after_cased = false;
      return;
    }
    bool separator = is_space_cp(d.cp) || d.cp == '-' || d.cp == '(' || d.cp == '{' || d.cp == '[' || d.cp == '<';
    if (separator) {
      append_utf8(out, d.cp);
      word_start = true;
      after_cased = false;
      return;
    }
    if (word_start)
      append_upper(out, d.cp);
    else
      append_lower(out, s, i, d, after_cased);
    word_start = false;
    after_cased = is_cased(d.cp);
  });
  return out;
}

std::string capitalize(std::string_view s) {
  if (s.empty()) return {};
  Decoded first = decode_utf8(s, 0);
  std::string out;
  if (!first.valid)
    out.push_back(static_cast<char>(first.cp));
  else if (first.cp == 0xdf)
    out += "Ss";
  else
    append_upper(out, first.cp);
  bool after_cased = first.valid && is_cased(first.cp);
  std::string_view rest = s.substr(first.len);
  for_each_char(rest, [&](std::size_t i, const Decoded& d) {
    if (d.valid)
      append_lower(out, rest, i, d, after_cased);
    else
      out.push_back(static_cast<char>(d.cp));
    after_cased = d.valid && is_cased(d.cp);
  });
  return out;
}

}  // namespace mlops::tmpl::detail
