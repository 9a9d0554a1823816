#include "pii/detectors.hpp"

#include <arpa/inet.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "pii/rules.hpp"
#include "pii/validators.hpp"

namespace mlops::pii::detail {
namespace {

enum Anchor : std::uint8_t { a_none, a_digit, a_at, a_colon, a_eq, a_dash, a_under, a_cap_i, a_z, a_cap_j };

enum Flag : std::uint8_t {
  f_digit = 1,
  f_upper = 2,
  f_lower = 4,
  f_hex = 8,
  f_token = 16,   // [A-Za-z0-9_-]: API key bodies, base64url
  f_local = 32,   // email local part
  f_key = 64,     // a config key name: [A-Za-z0-9_.-]
  f_domain = 128  // [A-Za-z0-9-]
};

struct Tables {
  std::array<std::uint8_t, 256> anchor{};
  std::array<std::uint8_t, 256> flags{};
  std::array<bool, 256> value_end{};  // ends an unquoted secret value
  constexpr Tables() {
    for (int c = 0; c <= ' '; ++c) value_end[c] = true;
    for (char c : std::string_view(",;)}]<>'\"`([")) value_end[static_cast<unsigned char>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) {
      anchor[c] = a_digit;
      flags[c] = f_digit | f_hex | f_token | f_local | f_key | f_domain;
    }
    for (int c = 'A'; c <= 'Z'; ++c) flags[c] = f_upper | f_token | f_local | f_key | f_domain;
    for (int c = 'a'; c <= 'z'; ++c) flags[c] = f_lower | f_token | f_local | f_key | f_domain;
    for (int c = 'A'; c <= 'F'; ++c) flags[c] |= f_hex;
    for (int c = 'a'; c <= 'f'; ++c) flags[c] |= f_hex;
    flags['_'] = f_token | f_local | f_key;
    flags['-'] = f_token | f_local | f_key | f_domain;
    flags['.'] = f_local | f_key;
    flags['+'] = f_local;
    flags['%'] = f_local;
    anchor['@'] = a_at;
    anchor[':'] = a_colon;
    anchor['='] = a_eq;
    anchor['-'] = a_dash;
    anchor['_'] = a_under;
    anchor['I'] = a_cap_i;
    anchor['z'] = a_z;
    anchor['J'] = a_cap_j;
  }
};
constexpr Tables k_tables;

inline bool has(char c, std::uint8_t f) {
  return (k_tables.flags[static_cast<unsigned char>(c)] & f) != 0;
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
inline bool is_alpha(char c) {
  return has(c, f_upper | f_lower);
}
inline bool is_alnum(char c) {
  return has(c, f_upper | f_lower | f_digit);
}
inline char lower(char c) {
  return is_upper(c) ? static_cast<char>(c + 32) : c;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

struct Ctx {
  const char* b;
  std::size_t n;
  ChunkScan& out;

  // The byte at i, or NUL outside the buffer (a boundary for every detector).
  char at(std::ptrdiff_t i) const { return i >= 0 && static_cast<std::size_t>(i) < n ? b[i] : '\0'; }
  std::string_view view(std::size_t from, std::size_t to) const { return {b + from, to - from}; }
  bool starts(std::size_t i, std::string_view s) const { return i + s.size() <= n && view(i, i + s.size()) == s; }
  void add(BuiltinRule rule, float confidence, std::size_t begin, std::size_t end) {
    out.candidates.push_back({rule, confidence, begin, end});
  }
  std::size_t run(std::size_t i, std::uint8_t f, std::size_t max) const {
    std::size_t j = i;
    while (j < n && j - i < max && has(b[j], f)) ++j;
    return j;
  }
  // Context words in the 64 bytes before `begin` (same line or the one before).
  bool context(std::size_t begin, std::span<const std::string_view> words) const {
    std::size_t from = begin > 64 ? begin - 64 : 0;
    std::string_view w = view(from, begin);
    for (auto word : words)
      if (contains_ci(w, word)) return true;
    return false;
  }
};

constexpr std::string_view k_passport_words[] = {"passport", "여권"};
constexpr std::string_view k_license_words[] = {"driver", "licence", "license", "운전", "면허"};
constexpr std::string_view k_ssn_words[] = {"ssn", "social security"};
constexpr std::string_view k_rrn_words[] = {"주민", "외국인", "rrn", "resident", "registration"};
constexpr std::string_view k_brn_words[] = {"business", "brn", "사업자"};

std::size_t skip_digits(const Ctx& c, std::size_t i) {
  while (i < c.n && is_digit(c.b[i])) ++i;
  return i;
}

// ------------------------------------------------------------------ numbers

struct Groups {
  static constexpr int k_max = 8;
  std::size_t begin[k_max];
  std::size_t end[k_max];
  int count = 0;
  char sep = 0;
  std::size_t len(int g) const { return end[g] - begin[g]; }
};

// Digits of the first k groups, concatenated.
struct Digits {
  char d[8 * 24];
  std::size_t size = 0;
  std::string_view view() const { return {d, size}; }
  int value(std::size_t from, std::size_t len) const {
    int v = 0;
    for (std::size_t i = from; i < from + len && i < size; ++i) v = v * 10 + (d[i] - '0');
    return v;
  }
};

bool lens_are(const Groups& g, int k, std::initializer_list<std::size_t> lens) {
  if (static_cast<std::size_t>(k) != lens.size()) return false;
  int i = 0;
  for (auto l : lens)
    if (g.len(i++) != l) return false;
  return true;
}

bool card_grouping(const Groups& g, int k) {
  if (lens_are(g, k, {4, 6, 5}) || lens_are(g, k, {4, 6, 4})) return true;
  // Five groups (19 digits) only with dashes: after spaces, a fifth group is as
  // likely the next number in the sentence.
  if (k < 4 || k > 5 || (k == 5 && g.sep == ' ')) return false;
  for (int i = 0; i + 1 < k; ++i)
    if (g.len(i) != 4) return false;
  return g.len(k - 1) >= 1 && g.len(k - 1) <= 4;
}

bool kr_mobile_prefix(int p3) {
  return p3 == 10 || p3 == 11 || (p3 >= 16 && p3 <= 19);
}
bool kr_area_prefix(int p3) {
  return (p3 >= 31 && p3 <= 33) || (p3 >= 41 && p3 <= 44) || (p3 >= 51 && p3 <= 55) || (p3 >= 61 && p3 <= 64) ||
         p3 == 70;
}

struct Match {
  BuiltinRule rule;
  float confidence;
};

std::optional<Match> match_rrn(std::string_view d, float ok, float failed) {
  auto check = kr_rrn_check(d);
  if (check == RrnCheck::invalid) return std::nullopt;
  BuiltinRule r = kr_rrn_is_foreigner(d) ? k_kr_frn : k_kr_rrn;
  return Match{r, check == RrnCheck::checksum_ok ? ok : failed};
}

// Classifies the first k digit groups (whose digits, all groups', are in dg);
// nullopt when they are nothing we know.
std::optional<Match> match_numeric(const Ctx& c, const Groups& g, int k, const Digits& dg) {
  std::size_t prefix = 0;
  for (int i = 0; i < k; ++i) prefix += g.len(i);
  const std::string_view d = dg.view().substr(0, prefix);
  const std::size_t total = d.size();
  const std::size_t begin = g.begin[0];
  const char sep = k > 1 ? g.sep : 0;

  if (k == 1) {
    if (total >= 13 && total <= 19 && card_issuer_known(d) && luhn_valid(d)) return Match{k_credit_card, 0.85f};
    // Unseparated, a 13-digit number is as likely a millisecond timestamp: context decides.
    if (total == 13) {
      bool ctx = c.context(begin, k_rrn_words);
      return match_rrn(d, ctx ? 0.85f : 0.45f, ctx ? 0.5f : 0.3f);
    }
    if (total == 11 && d.substr(0, 3) == "010") return Match{k_phone_kr, 0.7f};
    if ((total == 10 || total == 11) && d[0] == '0' && kr_mobile_prefix(dg.value(1, 2)))
      return Match{k_phone_kr, 0.55f};
    if (total == 10 && kr_brn_valid(d) && c.context(begin, k_brn_words)) return Match{k_kr_brn, 0.8f};
    if (total == 9 && ssn_valid(d) && c.context(begin, k_ssn_words)) return Match{k_us_ssn, 0.75f};
    return std::nullopt;
  }
  if (sep == '.') {
    if (k == 4) {
      for (int i = 0; i < 4; ++i) {
        if (g.len(i) > 3 || (g.len(i) > 1 && c.b[g.begin[i]] == '0')) return std::nullopt;
        int v = 0;
        for (std::size_t p = g.begin[i]; p < g.end[i]; ++p) v = v * 10 + (c.b[p] - '0');
        if (v > 255) return std::nullopt;
      }
      std::string_view ip = c.view(g.begin[0], g.end[3]);
      bool special = ip.starts_with("0.") || ip == "255.255.255.255" || ip.starts_with("127.");
      return Match{k_ipv4, special ? 0.3f : 0.7f};
    }
  }
  if (lens_are(g, k, {6, 7}) && sep != '.') return match_rrn(d, sep == '-' ? 0.95f : 0.85f, sep == '-' ? 0.65f : 0.5f);
  if (lens_are(g, k, {3, 2, 4}) && sep != '.') {
    if (!ssn_valid(d)) return std::nullopt;
    return Match{k_us_ssn, sep == '-' || c.context(begin, k_ssn_words) ? 0.9f : 0.55f};
  }
  if (lens_are(g, k, {3, 2, 5}) && sep != '.') {
    if (!kr_brn_valid(d)) return std::nullopt;
    return Match{k_kr_brn, sep == '-' || c.context(begin, k_brn_words) ? 0.9f : 0.55f};
  }
  if (lens_are(g, k, {2, 2, 6, 2}) && sep == '-') {
    int region = dg.value(0, 2);
    if (region < 11 || region > 28) return std::nullopt;
    return Match{k_kr_driver_license, c.context(begin, k_license_words) ? 0.9f : 0.6f};
  }
  if (sep != '.' && card_grouping(g, k)) {
    if (total >= 13 && total <= 19 && card_issuer_known(d) && luhn_valid(d)) return Match{k_credit_card, 0.95f};
    return std::nullopt;
  }
  if (k == 3 && d[0] == '0') {
    const int p3 = dg.value(0, 3);
    const std::size_t l0 = g.len(0), l1 = g.len(1), l2 = g.len(2);
    if (l2 != 4) return std::nullopt;
    if (l0 == 3 && p3 == 10 && l1 == 4) return Match{k_phone_kr, 0.9f};
    if (l0 == 3 && kr_mobile_prefix(p3) && p3 != 10 && (l1 == 3 || l1 == 4)) return Match{k_phone_kr, 0.85f};
    if (l0 == 2 && d[1] == '2' && (l1 == 3 || l1 == 4)) return Match{k_phone_kr, 0.85f};
    if (l0 == 3 && kr_area_prefix(p3) && (l1 == 3 || l1 == 4)) return Match{k_phone_kr, 0.85f};
    return std::nullopt;
  }
  if (lens_are(g, k, {3, 3, 4}) && d[0] >= '2' && d[3] >= '2') {
    return Match{k_phone_us, sep == ' ' ? 0.55f : 0.8f};
  }
  return std::nullopt;
}

Groups parse_groups(const Ctx& c, std::size_t i) {
  Groups g;
  std::size_t p = i;
  for (;;) {
    std::size_t s = p;
    while (p < c.n && is_digit(c.b[p]) && p - s < 20) ++p;
    if (p < c.n && is_digit(c.b[p])) {  // a run longer than any identifier we know
      g.count = -1;
      g.end[0] = skip_digits(c, p);
      return g;
    }
    g.begin[g.count] = s;
    g.end[g.count] = p;
    ++g.count;
    if (g.count == Groups::k_max || p + 1 >= c.n) break;
    char ch = c.b[p];
    if ((ch == '-' || ch == ' ' || ch == '.') && is_digit(c.b[p + 1]) && (g.sep == 0 || g.sep == ch)) {
      g.sep = ch;
      ++p;
      continue;
    }
    break;
  }
  return g;
}

std::size_t numeric(Ctx& c, std::size_t i) {
  Groups g = parse_groups(c, i);
  if (g.count < 0) return g.end[0];
  if (g.count == 1 && g.len(0) < 9) return g.end[0];  // a plain short number: nothing to find
  Digits dg;
  for (int k = 0; k < g.count; ++k)
    for (std::size_t p = g.begin[k]; p < g.end[k]; ++p) dg.d[dg.size++] = c.b[p];
  for (int k = g.count; k >= 1; --k) {
    char after = c.at(static_cast<std::ptrdiff_t>(g.end[k - 1]));
    if (is_alpha(after) || after == '_') continue;
    if (k < g.count && g.sep != ' ') continue;  // part of a longer dashed or dotted number
    if (k == g.count && (after == '-' || after == '.') && is_digit(c.at(static_cast<std::ptrdiff_t>(g.end[k - 1]) + 1)))
      continue;
    if (auto m = match_numeric(c, g, k, dg)) {
      c.add(m->rule, m->confidence, g.begin[0], g.end[k - 1]);
      return g.end[k - 1];
    }
  }
  return g.end[0];
}

// +CC… with spaces, dashes, dots or parentheses between digits. A space may
// also separate the number from a count in the prose after it, so the number
// ends at the longest group boundary whose digit count fits the country.
std::size_t e164(Ctx& c, std::size_t i) {
  if (is_alnum(c.at(static_cast<std::ptrdiff_t>(i) - 2))) return 0;
  std::size_t p = i;
  char digits[16];
  std::size_t nd = 0;
  std::size_t ends[16], counts[16], ne = 0;  // after each digit group
  while (p < c.n && nd < 16) {
    if (is_digit(c.b[p])) {
      digits[nd++] = c.b[p++];
      if (p >= c.n || !is_digit(c.b[p])) {
        ends[ne] = p;
        counts[ne++] = nd;
      }
      continue;
    }
    char ch = c.b[p];
    if ((ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')') && p + 1 < c.n &&
        (is_digit(c.b[p + 1]) || (c.b[p + 1] == '(' && ch == ' ') || (ch == ')' && c.b[p + 1] == ' '))) {
      ++p;
      continue;
    }
    break;
  }
  if (nd < 8 || digits[0] == '0') return 0;
  const std::string_view d(digits, nd);
  const bool kr = d.starts_with("82"), us = d[0] == '1';
  for (std::size_t k = ne; k-- > 0;) {
    const std::size_t n = counts[k], end = ends[k];
    bool fits = kr ? n >= 10 && n <= 12 : us ? n == 11 && d[1] >= '2' && d[4] >= '2' : n >= 8 && n <= 13;
    if (!fits || is_alpha(c.at(static_cast<std::ptrdiff_t>(end)))) continue;
    c.add(kr ? k_phone_kr : us ? k_phone_us : k_phone_e164, kr || us ? 0.9f : 0.85f, i - 1, end);
    return end;
  }
  return 0;
}

// (AAA) EEE-NNNN
std::size_t us_paren(Ctx& c, std::size_t i) {
  if (is_alnum(c.at(static_cast<std::ptrdiff_t>(i) - 2))) return 0;
  std::size_t p = i;
  auto digits = [&](std::size_t count) {
    for (std::size_t k = 0; k < count; ++k, ++p)
      if (!is_digit(c.at(static_cast<std::ptrdiff_t>(p)))) return false;
    return true;
  };
  if (!digits(3) || c.at(static_cast<std::ptrdiff_t>(p)) != ')') return 0;
  ++p;
  if (c.at(static_cast<std::ptrdiff_t>(p)) == ' ') ++p;
  std::size_t exch = p;
  if (!digits(3)) return 0;
  char s = c.at(static_cast<std::ptrdiff_t>(p));
  if (s != '-' && s != '.' && s != ' ') return 0;
  ++p;
  if (!digits(4) || is_alnum(c.at(static_cast<std::ptrdiff_t>(p)))) return 0;
  if (c.b[i] < '2' || c.b[exch] < '2') return 0;
  c.add(k_phone_us, 0.85f, i - 1, p);
  return p;
}

// CCkk BBAN, compact or in groups of four.
std::size_t iban(Ctx& c, std::size_t i) {
  if (i < 2 || is_alnum(c.at(static_cast<std::ptrdiff_t>(i) - 3)) || !is_upper(c.b[i - 2])) return 0;
  int len = iban_length(c.view(i - 2, i));
  if (!len) return 0;
  char compact[40];
  std::size_t nc = 0;
  compact[nc++] = c.b[i - 2];
  compact[nc++] = c.b[i - 1];
  std::size_t p = i;
  while (p < c.n && static_cast<int>(nc) < len) {
    char ch = c.b[p];
    if (is_digit(ch) || is_upper(ch)) {
      compact[nc++] = ch;
      ++p;
    } else if (ch == ' ' && p + 1 < c.n && is_alnum(c.b[p + 1]) && (nc - 4) % 4 == 0) {
      ++p;
    } else {
      break;
    }
  }
  if (static_cast<int>(nc) != len || is_alnum(c.at(static_cast<std::ptrdiff_t>(p)))) return 0;
  if (!iban_valid({compact, nc})) return p;  // IBAN-shaped: its digit groups are no card or phone either
  c.add(k_iban, 0.95f, i - 2, p);
  return p;
}

// M12345678 (letters M S R O D G) or the 2020 format M123A4567.
std::size_t passport(Ctx& c, std::size_t i) {
  char kind = c.b[i - 1];
  if (!std::strchr("MSRODG", kind) || is_alnum(c.at(static_cast<std::ptrdiff_t>(i) - 2))) return 0;
  std::size_t p = i;
  while (p < c.n && p - i < 9 && is_digit(c.b[p])) ++p;
  std::size_t end = 0;
  if (p - i == 8 && !is_alnum(c.at(static_cast<std::ptrdiff_t>(p)))) {
    end = p;
  } else if (kind == 'M' && p - i == 3 && is_upper(c.at(static_cast<std::ptrdiff_t>(p)))) {
    std::size_t q = p + 1;
    while (q < c.n && q - p <= 5 && is_digit(c.b[q])) ++q;
    if (q - p - 1 == 4 && !is_alnum(c.at(static_cast<std::ptrdiff_t>(q)))) end = q;
  }
  if (!end) return 0;
  c.add(k_kr_passport, c.context(i - 1, k_passport_words) ? 0.85f : 0.4f, i - 1, end);
  return end;
}

std::size_t on_digit(Ctx& c, std::size_t i) {
  char prev = c.at(static_cast<std::ptrdiff_t>(i) - 1);
  if (is_digit(prev) || prev == '_') return skip_digits(c, i);
  if (is_alpha(prev)) {
    if (is_upper(prev)) {
      if (std::size_t r = iban(c, i)) return r;
      if (std::size_t r = passport(c, i)) return r;
    }
    return skip_digits(c, i);
  }
  if ((prev == '.' || prev == '-') && is_digit(c.at(static_cast<std::ptrdiff_t>(i) - 2))) return skip_digits(c, i);
  if (prev == '+')
    if (std::size_t r = e164(c, i)) return r;
  if (prev == '(')
    if (std::size_t r = us_paren(c, i)) return r;
  return numeric(c, i);
}

// ------------------------------------------------------------------ email

bool file_extension(std::string_view tld) {
  static constexpr std::string_view exts[] = {"png", "jpg", "jpeg", "gif",  "svg",  "webp", "js",  "css", "ts",
                                              "py",  "md",  "txt",  "json", "yaml", "yml",  "ico", "map"};
  for (auto e : exts)
    if (tld.size() == e.size() && contains_ci(tld, e)) return true;
  return false;
}

std::size_t on_at(Ctx& c, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && i - j < 64 && has(c.b[j - 1], f_local)) --j;
  while (j < i && c.b[j] == '.') ++j;
  if (j == i || c.b[i - 1] == '.') return i + 1;
  if (c.at(static_cast<std::ptrdiff_t>(j) - 1) == '/' && c.at(static_cast<std::ptrdiff_t>(j) - 2) == '/') return i + 1;
  std::size_t p = i + 1, tld_begin = 0;
  int labels = 0;
  for (;;) {
    std::size_t s = p;
    if (!is_alnum(c.at(static_cast<std::ptrdiff_t>(p)))) break;
    p = c.run(p, f_domain, 63);
    while (p > s && c.b[p - 1] == '-') --p;
    ++labels;
    tld_begin = s;
    if (c.at(static_cast<std::ptrdiff_t>(p)) == '.' && is_alnum(c.at(static_cast<std::ptrdiff_t>(p) + 1))) {
      ++p;
      continue;
    }
    break;
  }
  if (labels < 2) return i + 1;
  std::string_view tld = c.view(tld_begin, p);
  if (tld.size() < 2 || tld.size() > 24) return i + 1;
  for (char ch : tld)
    if (!is_alpha(ch)) return i + 1;
  if (file_extension(tld)) return i + 1;
  c.add(k_email, 0.9f, j, p);
  return p;
}

// ------------------------------------------------------------------ tokens

bool low_entropy(std::string_view body, double bits) {
  return shannon_entropy(body) < bits;
}

bool has_digit_and_letter(std::string_view s) {
  bool d = false, l = false;
  for (char ch : s) {
    d = d || is_digit(ch);
    l = l || is_alpha(ch);
  }
  return d && l;
}

// sk-…, sk-proj-…, sk-ant-…: the anchor is the '-'.
std::size_t sk_key(Ctx& c, std::size_t i) {
  std::size_t end = c.run(i + 1, f_token, 256);
  std::string_view body = c.view(i + 1, end);
  if (has(c.at(static_cast<std::ptrdiff_t>(end)), f_token)) return end;
  if (body.starts_with("ant-")) {
    std::string_view key = body.substr(4);
    if (key.size() < 24 || low_entropy(key, 3.5) || !has_digit_and_letter(key)) return end;
    c.add(k_anthropic_key, 0.95f, i - 2, end);
    return end;
  }
  std::string_view key = body.starts_with("proj-") ? body.substr(5) : body;
  // Long keys are random enough to lack a digit now and then; short ones must mix.
  if (key.size() < 20 || low_entropy(key, 3.5) || (key.size() < 40 && !has_digit_and_letter(key))) return end;
  c.add(k_openai_key, key.size() >= 40 ? 0.95f : 0.8f, i - 2, end);
  return end;
}

std::size_t slack(Ctx& c, std::size_t i) {
  std::size_t end = c.run(i + 1, f_token, 256);
  std::string_view body = c.view(i + 1, end);
  if (body.size() < 10 || !has_digit_and_letter(body) || low_entropy(body, 3.0)) return end;
  c.add(k_slack_token, 0.9f, i - 4, end);
  return end;
}

// ghp_ gho_ ghu_ ghs_ ghr_ and github_pat_: the anchor is the first '_'.
std::size_t github(Ctx& c, std::size_t i) {
  if (c.at(static_cast<std::ptrdiff_t>(i) - 3) == 'g' && c.at(static_cast<std::ptrdiff_t>(i) - 2) == 'h' &&
      std::strchr("pousr", c.at(static_cast<std::ptrdiff_t>(i) - 1)) && c.at(static_cast<std::ptrdiff_t>(i) - 1) &&
      !has(c.at(static_cast<std::ptrdiff_t>(i) - 4), f_token)) {
    std::size_t end = c.run(i + 1, f_upper | f_lower | f_digit, 256);
    std::string_view body = c.view(i + 1, end);
    if (body.size() < 36 || has(c.at(static_cast<std::ptrdiff_t>(end)), f_token) || low_entropy(body, 3.5))
      return i + 1;
    c.add(k_github_token, body.size() == 36 ? 0.95f : 0.85f, i - 3, end);
    return end;
  }
  if (c.at(static_cast<std::ptrdiff_t>(i) - 1) == 'b' && i >= 6 && c.view(i - 6, i) == "github" &&
      c.starts(i + 1, "pat_") && !has(c.at(static_cast<std::ptrdiff_t>(i) - 7), f_token)) {
    std::size_t end = c.run(i + 5, f_upper | f_lower | f_digit | f_token, 256);
    std::string_view body = c.view(i + 5, end);
    if (body.size() < 50 || low_entropy(body, 3.5)) return i + 1;
    c.add(k_github_token, 0.95f, i - 6, end);
    return end;
  }
  return i + 1;
}

// AKIA/ASIA/ABIA/ACCA + 16: the anchor is the 'I' (or 'C') at index 2.
std::size_t aws(Ctx& c, std::size_t i) {
  if (i < 2 || c.b[i - 2] != 'A' || !c.b[i - 1] || !std::strchr("KSB", c.b[i - 1]) ||
      c.at(static_cast<std::ptrdiff_t>(i) + 1) != 'A')
    return i + 1;
  if (is_alnum(c.at(static_cast<std::ptrdiff_t>(i) - 3))) return i + 1;
  std::size_t end = c.run(i + 2, f_upper | f_digit, 17);
  if (end - (i + 2) != 16 || is_alnum(c.at(static_cast<std::ptrdiff_t>(end)))) return i + 1;
  std::string_view id = c.view(i - 2, end);
  c.add(k_aws_key, id.find("EXAMPLE") != std::string_view::npos ? 0.2f : 0.95f, i - 2, end);
  return end;
}

// AIza + 35: the anchor is the 'z'.
std::size_t google(Ctx& c, std::size_t i) {
  if (i < 2 || c.b[i - 2] != 'A' || c.b[i - 1] != 'I' || c.at(static_cast<std::ptrdiff_t>(i) + 1) != 'a' ||
      has(c.at(static_cast<std::ptrdiff_t>(i) - 3), f_token))
    return i + 1;
  std::size_t end = c.run(i + 2, f_token, 36);
  if (end - (i + 2) != 35 || has(c.at(static_cast<std::ptrdiff_t>(end)), f_token)) return i + 1;
  c.add(k_google_key, 0.95f, i - 2, end);
  return end;
}

// header.payload.signature, each base64url, header and payload starting eyJ.
std::size_t jwt(Ctx& c, std::size_t i) {
  if (i < 2 || c.b[i - 2] != 'e' || c.b[i - 1] != 'y' || has(c.at(static_cast<std::ptrdiff_t>(i) - 3), f_token) ||
      c.at(static_cast<std::ptrdiff_t>(i) - 3) == '.')
    return i + 1;
  std::size_t s = i - 2;
  std::size_t e1 = c.run(s, f_token, 1024);
  if (c.at(static_cast<std::ptrdiff_t>(e1)) != '.' || !c.starts(e1 + 1, "eyJ")) return e1;
  std::size_t e2 = c.run(e1 + 1, f_token, 8192);
  if (c.at(static_cast<std::ptrdiff_t>(e2)) != '.') return e2;
  std::size_t e3 = c.run(e2 + 1, f_token, 1024);
  if (!jwt_header_valid(c.view(s, e1))) return e3;
  c.add(k_jwt, e3 - e2 > 16 ? 0.95f : 0.7f, s, e3);
  return e3;
}

std::size_t private_key(Ctx& c, std::size_t i) {
  std::size_t label = i + 11;
  std::size_t p = label;
  while (p < c.n && p - label < 64 && (is_upper(c.b[p]) || c.b[p] == ' ')) ++p;
  if (!c.starts(p, "-----")) return i + 5;
  std::string_view what = c.view(label, p);
  std::size_t header_end = p + 5;
  if (!what.ends_with("PRIVATE KEY") && what != "PGP PRIVATE KEY BLOCK") return header_end;
  std::size_t limit = std::min(c.n, i + k_max_lookahead);
  const void* found = header_end < limit ? memmem(c.b + header_end, limit - header_end, "-----END ", 9) : nullptr;
  if (found) {
    std::size_t q = static_cast<std::size_t>(static_cast<const char*>(found) - c.b) + 9;
    while (q < c.n && q - header_end < k_max_lookahead && (is_upper(c.b[q]) || c.b[q] == ' ')) ++q;
    if (c.starts(q, "-----")) {
      c.add(k_private_key, 0.99f, i, q + 5);
      return q + 5;
    }
  }
  c.add(k_private_key, 0.8f, i, header_end);
  return header_end;
}

// Six hex pairs joined by `sep`; i is the first separator.
std::size_t mac(Ctx& c, std::size_t i, char sep) {
  if (i < 2 || !has(c.b[i - 1], f_hex) || !has(c.b[i - 2], f_hex)) return 0;
  char before = c.at(static_cast<std::ptrdiff_t>(i) - 3);
  if (is_alnum(before) || before == sep) return 0;
  std::size_t s = i - 2;
  if (s + 17 > c.n) return 0;
  bool zero = true, ones = true;
  for (std::size_t t = 0; t < 17; ++t) {
    char ch = c.b[s + t];
    if (t % 3 == 2) {
      if (ch != sep) return 0;
    } else {
      if (!has(ch, f_hex)) return 0;
      zero = zero && ch == '0';
      ones = ones && (ch == 'f' || ch == 'F');
    }
  }
  char after = c.at(static_cast<std::ptrdiff_t>(s) + 17);
  if (is_alnum(after) || (after == sep && has(c.at(static_cast<std::ptrdiff_t>(s) + 18), f_hex))) return 0;
  c.add(k_mac_address, zero || ones ? 0.3f : 0.8f, s, s + 17);
  return s + 17;
}

std::size_t ipv6(Ctx& c, std::size_t i) {
  auto v6 = [&](char ch) { return has(ch, f_hex) || ch == ':' || ch == '.'; };
  std::size_t s = i;
  while (s > 0 && i - s < 45 && v6(c.b[s - 1])) --s;
  char before = c.at(static_cast<std::ptrdiff_t>(s) - 1);
  if (is_alnum(before) || before == '_') return 0;
  std::size_t e = i;
  while (e < c.n && e - s < 46 && v6(c.b[e])) ++e;
  while (e > i && (c.b[e - 1] == '.' || (c.b[e - 1] == ':' && c.at(static_cast<std::ptrdiff_t>(e) - 2) != ':'))) --e;
  if (e - s > 45 || e - s < 6 || is_alnum(c.at(static_cast<std::ptrdiff_t>(e))) ||
      c.at(static_cast<std::ptrdiff_t>(e)) == '_')
    return 0;
  std::string_view text = c.view(s, e);
  int colons = 0;
  for (char ch : text) colons += ch == ':';
  // Without "::" an address has exactly 7 colons (6 before a dotted IPv4 tail).
  if (colons < 2 || (text.find("::") == std::string_view::npos && colons != 7 && colons != 6)) return 0;
  char z[48];
  std::memcpy(z, text.data(), text.size());
  z[text.size()] = 0;
  unsigned char addr[16];
  if (inet_pton(AF_INET6, z, addr) != 1) return 0;
  bool compressed = text.find("::") != std::string_view::npos;
  if (compressed && colons < 3) return 0;  // ::1, fe80::1 and the like: too short to mean anything
  c.add(k_ipv6, compressed ? 0.75f : 0.85f, s, e);
  return e;
}

// A reference or stand-in rather than a secret; `env_names`: a bare
// UPPER_CASE word counts as the name of a variable holding the value.
bool placeholder(std::string_view v, bool env_names = true) {
  if (v.empty() || std::strchr("$<{*[(", v[0])) return true;
  if (v[0] == '%') {  // %s, %(name)s, %VAR%
    if (v.size() < 3 || v[1] == '(') return true;
    bool var = v.back() == '%';
    for (std::size_t i = 1; var && i + 1 < v.size(); ++i) var = is_alnum(v[i]) || v[i] == '_';
    if (var) return true;
  }
  static constexpr std::string_view words[] = {"***",         "example",  "changeme", "your", "dummy",
                                               "placeholder", "redacted", "...",      "<"};
  for (auto w : words)
    if (contains_ci(v, w)) return true;
  // xxxx and XXXX mark a stand-in; a random value has "xXx" now and then.
  if (v.find("xxxx") != std::string_view::npos || v.find("XXXX") != std::string_view::npos) return true;
  bool same = true;
  for (char ch : v) same = same && ch == v[0];
  if (same) return true;
  bool env_name = env_names && is_upper(v[0]);  // OPENAI_API_KEY: the name of a variable, not its value
  for (char ch : v) env_name = env_name && (is_upper(ch) || is_digit(ch) || ch == '_');
  return env_name;
}

std::size_t url_credentials(Ctx& c, std::size_t i) {
  std::size_t s = i;
  while (s > 0 && i - s < 32 && (is_alnum(c.b[s - 1]) || c.b[s - 1] == '+' || c.b[s - 1] == '.' || c.b[s - 1] == '-'))
    --s;
  if (i - s < 2 || !is_alpha(c.b[s])) return i + 3;
  std::size_t u = i + 3, p = u, colon = 0;
  while (p < c.n && p - u < 256) {
    char ch = c.b[p];
    if (ch == '@' || ch == '/' || ch == '?' || ch == '#' || ch == '"' || ch == '\'' || ch == '<' || ch == '>' ||
        ch == '\\' || static_cast<unsigned char>(ch) <= ' ')
      break;
    if (ch == ':' && !colon) colon = p;
    ++p;
  }
  if (c.at(static_cast<std::ptrdiff_t>(p)) != '@' || !colon || colon + 1 == p) return i + 3;
  std::string_view pw = c.view(colon + 1, p);
  c.add(k_url_credentials, placeholder(pw, false) ? 0.3f : 0.9f, colon + 1, p);
  return p + 1;
}

// key = value, key: value, "key": "value" where the key names a secret.
void generic_secret(Ctx& c, std::size_t i) {
  char op = c.b[i];
  char prev = c.at(static_cast<std::ptrdiff_t>(i) - 1);
  if (op == '=' && (c.at(static_cast<std::ptrdiff_t>(i) + 1) == '=' || std::strchr("=!<>+-*/|&^%~", prev) != nullptr))
    return;
  std::ptrdiff_t j = static_cast<std::ptrdiff_t>(i) - 1;
  for (int k = 0; k < 2 && c.at(j) == ' '; ++k) --j;
  if (c.at(j) == '"' || c.at(j) == '\'') --j;
  std::ptrdiff_t ke = j + 1;
  while (j >= 0 && ke - j <= 64 && has(c.b[j], f_key)) --j;
  std::ptrdiff_t ks = j + 1;
  if (ke - ks < 3 || ke - ks > 64) return;
  char key[64];
  std::size_t kn = 0;
  for (std::ptrdiff_t p = ks; p < ke; ++p)
    if (is_alnum(c.b[p])) key[kn++] = lower(c.b[p]);
  std::string_view k(key, kn);
  static constexpr std::string_view not_values[] = {"env",    "name",    "file",  "path",   "url",    "uri",  "id",
                                                    "type",   "count",   "limit", "length", "size",   "s",    "format",
                                                    "prefix", "header",  "field", "max",    "min",    "ttl",  "timeout",
                                                    "expiry", "expires", "at",    "mode",   "policy", "hash", "kind"};
  for (auto suffix : not_values)
    if (k.ends_with(suffix) && !(suffix == "s" && (k.ends_with("pass") || k.ends_with("credentials")))) return;
  bool password = k.find("password") != std::string_view::npos || k.find("passwd") != std::string_view::npos ||
                  k.find("passphrase") != std::string_view::npos || k.ends_with("pwd") || k.ends_with("pass");
  bool token = false;
  static constexpr std::string_view token_words[] = {"secret",  "token",      "apikey",     "accesskey", "privatekey",
                                                     "authkey", "credential", "signingkey", "clientkey", "sessionkey"};
  for (auto w : token_words) token = token || k.find(w) != std::string_view::npos;
  if (!password && !token) return;

  std::size_t p = i + 1;
  for (int s = 0; s < 2 && c.at(static_cast<std::ptrdiff_t>(p)) == ' '; ++s) ++p;
  char quote = c.at(static_cast<std::ptrdiff_t>(p));
  bool quoted = quote == '"' || quote == '\'' || quote == '`';
  if (quoted) ++p;
  std::size_t vs = p;
  while (p < c.n && p - vs < 256) {
    char ch = c.b[p];
    if (quoted ? (ch == quote || ch == '\n') : k_tables.value_end[static_cast<unsigned char>(ch)]) break;
    ++p;
  }
  std::size_t ve = p;
  std::string_view v = c.view(vs, ve);
  if (quoted ? c.at(static_cast<std::ptrdiff_t>(ve)) != quote
             : (c.at(static_cast<std::ptrdiff_t>(ve)) == '(' || c.at(static_cast<std::ptrdiff_t>(ve)) == '['))
    return;
  if (v.size() > 200 || placeholder(v)) return;
  static constexpr std::string_view literals[] = {"true", "false", "null", "none", "nil", "required", "optional"};
  for (auto l : literals)
    if (v.size() == l.size() && contains_ci(v, l)) return;
  double h = shannon_entropy(v);
  if (password && v.size() >= 6 && h >= 2.0) {
    c.add(k_generic_secret, 0.75f, vs, ve);
  } else if (v.size() >= 16 && h >= 3.5 && has_digit_and_letter(v)) {
    c.add(k_generic_secret, v.size() >= 32 && h >= 4.0 ? 0.85f : 0.8f, vs, ve);
  }
}

std::size_t on_colon(Ctx& c, std::size_t i) {
  if (c.at(static_cast<std::ptrdiff_t>(i) - 1) == 's' && i >= 5 && c.view(i - 5, i) == "mlops" &&
      c.starts(i + 1, "allow-pii")) {
    c.out.markers.push_back(i);
    return i + 10;
  }
  if (c.at(static_cast<std::ptrdiff_t>(i) + 1) == '/' && c.at(static_cast<std::ptrdiff_t>(i) + 2) == '/')
    return url_credentials(c, i);
  if (has(c.at(static_cast<std::ptrdiff_t>(i) - 1), f_hex) || c.at(static_cast<std::ptrdiff_t>(i) + 1) == ':' ||
      c.at(static_cast<std::ptrdiff_t>(i) - 1) == ':') {
    if (std::size_t r = mac(c, i, ':')) return r;
    if (std::size_t r = ipv6(c, i)) return r;
  }
  generic_secret(c, i);
  return i + 1;
}

std::size_t on_dash(Ctx& c, std::size_t i) {
  if (c.at(static_cast<std::ptrdiff_t>(i) + 1) == '-' && c.starts(i, "-----BEGIN ") &&
      c.at(static_cast<std::ptrdiff_t>(i) - 1) != '-')
    return private_key(c, i);
  char p1 = c.at(static_cast<std::ptrdiff_t>(i) - 1);
  if (p1 == 'k' && c.at(static_cast<std::ptrdiff_t>(i) - 2) == 's' &&
      !has(c.at(static_cast<std::ptrdiff_t>(i) - 3), f_token))
    return sk_key(c, i);
  if (c.at(static_cast<std::ptrdiff_t>(i) - 2) == 'x' && i >= 4 && c.view(i - 4, i - 1) == "xox" && p1 &&
      std::strchr("abposr", p1) && !has(c.at(static_cast<std::ptrdiff_t>(i) - 5), f_token))
    return slack(c, i);
  if (has(p1, f_hex))
    if (std::size_t r = mac(c, i, '-')) return r;
  return i + 1;
}

// An anchor: a byte from the table, where the letters count only after the
// letter that precedes them in their prefix (KI/SI/BI of AKIA…, Iz of AIza, yJ
// of eyJ), so that ordinary words do not stop the scan.
inline bool is_anchor(const char* b, std::size_t i) {
  char ch = b[i];
  if (!k_tables.anchor[static_cast<unsigned char>(ch)]) return false;
  char prev = i > 0 ? b[i - 1] : '\0';
  if (ch == 'I') return prev == 'K' || prev == 'S' || prev == 'B';
  if (ch == 'z') return prev == 'I';
  if (ch == 'J') return prev == 'y';
  return true;
}

// The first anchor in [i, to), or `to`. Sixteen bytes at a time with SSE2
// (which every x86-64 has): digits and ':' (0x30-0x3A), '=', '-', '@', '_',
// and I/z/J after their predecessor; the tail byte by byte.
std::size_t next_anchor(const char* b, std::size_t i, std::size_t to) {
#if defined(__SSE2__)
  if (i == 0 && i < to) {
    if (is_anchor(b, 0)) return 0;
    ++i;
  }
  const __m128i lo = _mm_set1_epi8(0x30), span = _mm_set1_epi8(0x3A - 0x30);
  const __m128i eq = _mm_set1_epi8('='), dash = _mm_set1_epi8('-'), at = _mm_set1_epi8('@');
  const __m128i under = _mm_set1_epi8('_'), cap_i = _mm_set1_epi8('I'), z = _mm_set1_epi8('z');
  const __m128i cap_j = _mm_set1_epi8('J'), k = _mm_set1_epi8('K'), s = _mm_set1_epi8('S');
  const __m128i cap_b = _mm_set1_epi8('B'), y = _mm_set1_epi8('y');
  while (i + 16 <= to) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i - 1));  // the byte before each
    __m128i d = _mm_sub_epi8(x, lo);
    __m128i hit = _mm_cmpeq_epi8(_mm_min_epu8(d, span), d);
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(x, eq), _mm_cmpeq_epi8(x, dash)));
    hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(x, at), _mm_cmpeq_epi8(x, under)));
    __m128i after_ksb =
        _mm_or_si128(_mm_cmpeq_epi8(p, k), _mm_or_si128(_mm_cmpeq_epi8(p, s), _mm_cmpeq_epi8(p, cap_b)));
    hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(x, cap_i), after_ksb));
    hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(x, z), _mm_cmpeq_epi8(p, cap_i)));
    hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(x, cap_j), _mm_cmpeq_epi8(p, y)));
    int mask = _mm_movemask_epi8(hit);
    if (mask) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < to && !is_anchor(b, i)) ++i;
  return i;
}

// Appends the offset of every '\n' in [from, to). A separate pass costs less
// than a branch per line in the anchor loop, and glibc's memchr is wider than SSE2.
void collect_newlines(const char* b, std::size_t from, std::size_t to, std::vector<std::size_t>& out) {
  for (std::size_t p = from; p < to;) {
    const void* nl = std::memchr(b + p, '\n', to - p);
    if (!nl) break;
    p = static_cast<std::size_t>(static_cast<const char*>(nl) - b);
    out.push_back(p);
    ++p;
  }
}

}  // namespace

std::size_t scan_builtin(const char* b, std::size_t n, std::size_t from, std::size_t to, ChunkScan& out) {
  Ctx c{b, n, out};
  std::size_t i = from;
  for (;;) {
    i = next_anchor(b, i, to);
    if (i >= to) break;
    std::size_t next;
    switch (k_tables.anchor[static_cast<unsigned char>(b[i])]) {
      case a_digit:
        next = on_digit(c, i);
        break;
      case a_at:
        next = on_at(c, i);
        break;
      case a_colon:
        next = on_colon(c, i);
        break;
      case a_eq:
        generic_secret(c, i);
        next = i + 1;
        break;
      case a_dash:
        next = on_dash(c, i);
        break;
      case a_under:
        next = github(c, i);
        break;
      case a_cap_i:
        next = aws(c, i);
        break;
      case a_z:
        next = google(c, i);
        break;
      case a_cap_j:
        next = jwt(c, i);
        break;
      default:
        next = i + 1;
    }
    i = next > i ? next : i + 1;
  }
  collect_newlines(b, from, i, out.newlines);
  return i;
}

}  // namespace mlops::pii::detail
