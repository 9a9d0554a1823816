#include "metrics/json.hpp"

#include <algorithm>
#include <utility>

namespace mlops::metrics {
namespace {

struct Span {
  std::size_t begin, end;
};

struct ScanResult {
  bool ok = false;
  std::size_t end = 0;       // one past the value when ok
  std::size_t error_at = 0;  // start of the offending token when !ok
  std::vector<Span> closed;  // every object/array that closed, inner first
};

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Length of the JSON string token at i (text[i] == '"'), or 0 when malformed.
std::size_t string_token(std::string_view t, std::size_t i) {
  std::size_t k = i + 1;
  while (k < t.size()) {
    auto c = static_cast<unsigned char>(t[k]);
    if (c == '"') return k + 1 - i;
    if (c < 0x20) return 0;
    if (c == '\\') {
      if (k + 1 >= t.size()) return 0;
      char e = t[k + 1];
      if (e == 'u') {
        if (k + 6 > t.size()) return 0;
        for (std::size_t h = k + 2; h < k + 6; ++h)
          if (!is_hex(t[h])) return 0;
        k += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        k += 2;
      } else {
        return 0;
      }
    } else {
      ++k;
    }
  }
  return 0;
}

// Length of the number token at i, or 0.
std::size_t number_token(std::string_view t, std::size_t i) {
  std::size_t k = i;
  if (k < t.size() && t[k] == '-') ++k;
  if (k >= t.size() || !is_digit(t[k])) return 0;
  if (t[k] == '0') {
    ++k;
  } else {
    while (k < t.size() && is_digit(t[k])) ++k;
  }
  if (k < t.size() && t[k] == '.') {
    if (k + 1 >= t.size() || !is_digit(t[k + 1])) return 0;
    k += 2;
    while (k < t.size() && is_digit(t[k])) ++k;
  }
  if (k < t.size() && (t[k] == 'e' || t[k] == 'E')) {
    std::size_t e = k + 1;
    if (e < t.size() && (t[e] == '+' || t[e] == '-')) ++e;
    if (e >= t.size() || !is_digit(t[e])) return 0;
    while (e < t.size() && is_digit(t[e])) ++e;
    k = e;
  }
  return k - i;
}

// Checks the JSON grammar of the object or array starting at `start`.
ScanResult scan(std::string_view t, std::size_t start) {
  enum class Expect { value, value_or_close, key, key_or_close, colon, comma_or_close };
  ScanResult r;
  std::vector<std::pair<char, std::size_t>> open;  // bracket, position
  Expect expect = Expect::value;
  std::size_t i = start;
  auto fail = [&](std::size_t at) {
    r.error_at = at;
    return r;
  };
  while (true) {
    while (i < t.size() && is_ws(t[i])) ++i;
    if (i >= t.size()) return fail(t.size());
    const char c = t[i];
    bool value_done = false;
    switch (expect) {
      case Expect::colon:
        if (c != ':') return fail(i);
        ++i;
        expect = Expect::value;
        continue;
      case Expect::key:
      case Expect::key_or_close:
        if (c == '}' && expect == Expect::key_or_close) break;
        if (c != '"') return fail(i);
        if (std::size_t len = string_token(t, i); len > 0) {
          i += len;
          expect = Expect::colon;
          continue;
        }
        return fail(i);
      case Expect::comma_or_close:
        if (c == ',') {
          ++i;
          expect = open.back().first == '{' ? Expect::key : Expect::value;
          continue;
        }
        break;
      case Expect::value:
      case Expect::value_or_close:
        if (c == ']' && expect == Expect::value_or_close) break;
        if (c == '{' || c == '[') {
          open.emplace_back(c, i);
          ++i;
          expect = c == '{' ? Expect::key_or_close : Expect::value_or_close;
          continue;
        }
        std::size_t len = c == '"'                                                       ? string_token(t, i)
                          : (c == '-' || is_digit(c))                                    ? number_token(t, i)
                          : t.compare(i, 4, "true") == 0 || t.compare(i, 4, "null") == 0 ? 4
                          : t.compare(i, 5, "false") == 0                                ? 5
                                                                                         : 0;
        if (len == 0) return fail(i);
        i += len;
        value_done = true;
        break;
    }
    if (!value_done) {
      // A closing bracket, which must match the innermost open one.
      const char want = open.back().first == '{' ? '}' : ']';
      if (c != want) return fail(i);
      r.closed.push_back({open.back().second, i + 1});
      open.pop_back();
      ++i;
      if (open.empty()) {
        r.ok = true;
        r.end = i;
        return r;
      }
    }
    expect = Expect::comma_or_close;
  }
}

void take(std::string_view text, Span span, std::vector<nlohmann::json>& out) {
  // The grammar is checked; this can still refuse invalid UTF-8 in a string.
  auto value = nlohmann::json::parse(text.substr(span.begin, span.end - span.begin), nullptr, false);
  if (!value.is_discarded()) out.push_back(std::move(value));
}

}  // namespace

std::optional<nlohmann::json> parse_json(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") return std::nullopt;
  auto value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

std::vector<nlohmann::json> extract_json_values(std::string_view text) {
  std::vector<nlohmann::json> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = text.find_first_of("{[", i);
    if (start == std::string_view::npos) break;
    ScanResult r = scan(text, start);
    if (r.ok) {
      take(text, {start, r.end}, out);
      i = r.end;
      continue;
    }
    // Spans nest or are disjoint; the outermost ones, in order of position.
    std::sort(r.closed.begin(), r.closed.end(), [](Span a, Span b) { return a.begin < b.begin; });
    std::size_t covered = 0;
    for (Span s : r.closed) {
      if (s.begin < covered) continue;
      take(text, s, out);
      covered = s.end;
    }
    i = std::max(r.error_at, start + 1);
  }
  return out;
}

}  // namespace mlops::metrics
