#include "metrics/tokenize.hpp"

#include <array>
#include <cctype>

#include "metrics/unicode.hpp"
#include "util/text.hpp"

namespace mlops::metrics::detail {
namespace {

bool is_space_or_nel(char32_t cp) {
  return is_js_space(cp) || cp == 0x85;
}

// ---- treebank tokenizer ------------------------------------------------------------

bool is_decimal_digit(char32_t cp) {
  return (cp >= '0' && cp <= '9') || (cp >= 0x660 && cp <= 0x669) || (cp >= 0x6f0 && cp <= 0x6f9) ||
         (cp >= 0x966 && cp <= 0x96f) || (cp >= 0xff10 && cp <= 0xff19);
}
bool is_open_punct(char32_t cp) {
  return cp == '(' || cp == '[' || cp == '{' || cp == 0x201a || cp == 0x201e || cp == 0x2045 || cp == 0x207d ||
         cp == 0x208d || (cp >= 0x3008 && cp <= 0x3016 && cp % 2 == 0) || cp == 0xff08 || cp == 0xff3b || cp == 0xff5b;
}
// \p{ID_Continue} plus ZWNJ/ZWJ, as the contraction rules bound words.
bool is_id_continue(char32_t cp) {
  return cp == '_' || is_alnum(cp) || (cp >= 0x300 && cp <= 0x36f) || cp == 0x200c || cp == 0x200d;
}

// Step 1: straight double quotes and `` / '' become opening `` or closing ''.
std::string mark_quotes(const std::string& t) {
  std::string r;
  r.reserve(t.size() + 16);
  bool open = false;
  for (std::size_t i = 0; i < t.size();) {
    const bool doubled = (t[i] == '`' || t[i] == '\'') && i + 1 < t.size() && t[i + 1] == t[i];
    std::size_t len = doubled ? 2 : t[i] == '"' ? 1 : 0;
    if (len == 0) {
      r += t[i++];
      continue;
    }
    char32_t prev = i > 0 ? code_point_before(t, i) : 0;
    bool placed = i + len < t.size() || i == 0 || is_js_space(prev) || is_open_punct(prev) || prev == '<';
    bool may_open = !open && (i == 0 || is_js_space(prev) || is_punctuation(prev) || prev == '<' ||
                              (i >= 2 && t.compare(i - 2, 2, "``") == 0));
    bool after_terminal = prev == '.' || prev == '!' || prev == '?';
    bool opening_kind = t[i] == '"';
    if (!opening_kind && i > 0 && t.compare(i, 2, "''") == 0) {
      char32_t after = code_point_at(t, i + 2);
      std::size_t q = t.find_first_of("`'\"", i + 2);
      while (q != std::string::npos && t[q] != '"' && t.compare(q, 2, "``") != 0 && t.compare(q, 2, "''") != 0)
        q = t.find_first_of("`'\"", q + 1);
      opening_kind = (is_alnum(after) || is_open_punct(after) || after == '$') && q != std::string::npos &&
                     t.compare(q, 2, "''") == 0;
    }
    open = t.compare(i, 2, "``") == 0 || (placed && may_open && !after_terminal && opening_kind);
    r += open ? " `` " : " '' ";
    i += len;
  }
  return r;
}

std::string space_around(const std::string& s, std::string_view chars) {
  if (s.find_first_of(chars) == std::string::npos) return s;
  std::array<bool, 256> spaced{};
  for (char c : chars) spaced[static_cast<unsigned char>(c)] = true;
  std::string r;
  r.reserve(s.size() + 8);
  for (char c : s) {
    if (spaced[static_cast<unsigned char>(c)]) {
      r += ' ';
      r += c;
      r += ' ';
    } else {
      r += c;
    }
  }
  return r;
}

std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
  std::string r;
  r.reserve(s.size() + 8);
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    r.append(s, pos, hit - pos);
    r += to;
  }
  r.append(s, pos);
  return r;
}

// ':' and ',' apart, except before a digit ("1,000", "10:30").
std::string split_colons_commas(const std::string& s) {
  std::string r;
  r.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == ':' || s[i] == ',') && !is_decimal_digit(code_point_at(s, i + 1))) {
      r += ' ';
      r += s[i];
      r += ' ';
    } else {
      r += s[i];
    }
  }
  return r;
}

bool is_word_byte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_ascii_letter(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

// The text's final period, when only closing brackets, quotes and spaces
// follow it, becomes its own token, unless it ends an acronym ("U.S.").
std::string split_final_period(const std::string& s) {
  std::size_t end = s.size();
  while (end > 0 && std::string_view("])}>' \t\n\r\f\v").find(s[end - 1]) != std::string_view::npos) --end;
  if (end < 2 || s[end - 1] != '.' || s[end - 2] == '.') return s;
  std::size_t dot = end - 1;
  if (dot >= 3 && is_ascii_letter(s[dot - 1]) && s[dot - 2] == '.' && is_ascii_letter(s[dot - 3]) &&
      (dot == 3 || !is_word_byte(s[dot - 4])))
    return s;
  return s.substr(0, dot) + " " + s.substr(dot) + " ";
}

// "x' " -> "x ' " (a closing single quote or possessive apostrophe).
std::string split_closing_apostrophes(const std::string& s) {
  std::string r;
  r.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 2 < s.size() && s[i] != '\'' && s[i + 1] == '\'' && s[i + 2] == ' ') {
      r += s[i];
      r += " ' ";
      i += 3;
    } else {
      r += s[i++];
    }
  }
  return r;
}

// "'s ", "'m ", "'d " -> " 's " and so on.
std::string split_clitics(const std::string& s) {
  std::string r;
  r.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 2 < s.size() && s[i] == '\'' && std::string_view("sSmMdD").find(s[i + 1]) != std::string_view::npos &&
        s[i + 2] == ' ') {
      r += " '";
      r += s[i + 1];
      r += ' ';
      i += 3;
    } else {
      r += s[i++];
    }
  }
  return r;
}

// "'ll ", "'re ", "'ve ", "n't " (either all lower or all upper case) apart.
std::string split_suffixes(const std::string& s) {
  static constexpr std::array<std::string_view, 8> k_suffixes = {"'ll", "'LL", "'re", "'RE",
                                                                 "'ve", "'VE", "n't", "N'T"};
  std::string r;
  r.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    bool hit = false;
    const bool may_start = s[i] == '\'' || s[i] == 'n' || s[i] == 'N';
    for (auto suffix : k_suffixes) {
      if (may_start && s.compare(i, 3, suffix) == 0 && i + 3 < s.size() && s[i + 3] == ' ') {
        r += ' ';
        r += suffix;
        r += ' ';
        i += 4;
        hit = true;
        break;
      }
    }
    if (!hit) r += s[i++];
  }
  return r;
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool iequals_ascii(std::string_view s, std::size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k)
    if (ascii_lower(s[at + k]) != word[k]) return false;
  return true;
}

// "cannot" -> "can not", "gonna" -> "gon na", "'tis" -> "'t is" and the rest of
// the treebank's uncommon contractions, matched as whole words in any case.
std::string split_contractions(std::string s) {
  struct Rule {
    std::string_view first, second;
    bool needs_space_after;
  };
  static constexpr std::array<Rule, 10> k_rules = {{{"can", "not", false},
                                                    {"d", "'ye", false},
                                                    {"gim", "me", false},
                                                    {"gon", "na", false},
                                                    {"got", "ta", false},
                                                    {"lem", "me", false},
                                                    {"more", "'n", false},
                                                    {"wan", "na", true},
                                                    {"'t", "is", false},
                                                    {"'t", "was", false}}};
  std::string lower;
  for (char c : s) lower += ascii_lower(c);
  for (const auto& rule : k_rules) {
    std::string word(rule.first);
    word += rule.second;
    if (lower.find(word) == std::string::npos) continue;
    std::size_t len = word.size();
    std::string r;
    r.reserve(s.size() + 8);
    std::size_t i = 0;
    while (i < s.size()) {
      bool hit = ascii_lower(s[i]) == rule.first[0] && iequals_ascii(s, i, rule.first) &&
                 iequals_ascii(s, i + rule.first.size(), rule.second) &&
                 (i == 0 || !is_id_continue(code_point_before(s, i))) && !is_id_continue(code_point_at(s, i + len)) &&
                 (!rule.needs_space_after || code_point_at(s, i + len) == ' ');
      if (hit) {
        r += ' ';
        r.append(s, i, rule.first.size());
        r += ' ';
        r.append(s, i + rule.first.size(), rule.second.size());
        r += ' ';
        i += len;
      } else {
        r += s[i++];
      }
    }
    s = std::move(r);
    lower.clear();
    for (char c : s) lower += ascii_lower(c);
  }
  return s;
}

}  // namespace

std::vector<std::string> treebank_tokenize(std::string_view text) {
  std::string t;
  bool pending_space = false;
  for (std::size_t i = 0; i < text.size();) {
    auto ch = util::decode_utf8(text, i);
    if (ch.valid && is_space_or_nel(ch.cp)) {
      pending_space = !t.empty();
    } else {
      if (pending_space) t += ' ';
      pending_space = false;
      t.append(text, i, ch.len);
    }
    i += ch.len;
  }
  if (t.empty()) return {};
  std::string r = mark_quotes(t);
  r = replace_all(r, "...", " ... ");
  r = split_colons_commas(r);
  r = space_around(r, ";@#$%&");
  r = split_final_period(r);
  r = space_around(r, "?!");
  r = space_around(r, "[](){}<>");
  r = replace_all(r, "--", " -- ");
  r = " " + r + " ";
  if (r.find('\'') != std::string::npos) {
    r = split_closing_apostrophes(r);
    r = split_clitics(r);
    r = split_suffixes(r);
  }
  r = split_contractions(std::move(r));
  std::vector<std::string> tokens;
  std::size_t i = 0;
  while (i < r.size()) {
    while (i < r.size() && r[i] == ' ') ++i;
    std::size_t start = i;
    while (i < r.size() && r[i] != ' ') ++i;
    if (i > start) tokens.emplace_back(r, start, i - start);
  }
  return tokens;
}

}  // namespace mlops::metrics::detail
