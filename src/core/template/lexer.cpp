#include "template/lexer.hpp"

#include <charconv>
#include <cstdio>
#include <limits>

#include "template/template.hpp"
#include "template/unicode.hpp"

namespace mlops::tmpl::detail {
namespace {

constexpr auto npos = std::string_view::npos;

// Jinja treats "\r\n" and a lone "\r" as line breaks and turns them into "\n".
std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}
int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      std::size_t tag = find_tag(pos_);
      if (tag == npos) {
        emit_data(pos_, src_.size(), false);
        break;
      }
      char kind = src_[tag + 1];
      std::size_t after = tag + 2;
      char sign = after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : '\0';
      std::size_t body = 0;
      if (kind == '%' && match_raw_begin(tag, body)) {
        emit_data(pos_, tag, sign == '-');
        lex_raw(tag, body);
        continue;
      }
      emit_data(pos_, tag, sign == '-');
      if (sign) ++after;
      if (kind == '#')
        lex_comment(tag, after);
      else
        lex_tag(tag, after, kind == '{');
    }
    push(Tok::eof, src_.size());
    return std::move(tokens_);
  }

 private:
  std::string src_;
  std::size_t pos_ = 0;
  std::vector<Token> tokens_;
  // Position tracking walks forward only, so computing every token's line and
  // column costs one pass over the source.
  std::size_t track_off_ = 0;
  Pos track_{};

  Pos at(std::size_t off) {
    if (off < track_off_) {
      track_off_ = 0;
      track_ = Pos{};
    }
    for (; track_off_ < off && track_off_ < src_.size(); ++track_off_) {
      auto c = static_cast<unsigned char>(src_[track_off_]);
      if (c == '\n') {
        ++track_.line;
        track_.column = 1;
      } else if ((c & 0xc0) != 0x80) {
        ++track_.column;
      }
    }
    return track_;
  }

  [[noreturn]] void fail(std::size_t off, const std::string& message, const std::string& hint = {}) {
    Pos p = at(off);
    throw TemplateError(p.line, p.column, message, hint);
  }

  Token& push(Tok type, std::size_t off, std::string text = {}) {
    tokens_.push_back(Token{type, at(off), std::move(text)});
    return tokens_.back();
  }

  bool starts_with(std::size_t off, std::string_view what) const {
    return off <= src_.size() && std::string_view(src_).substr(off, what.size()) == what;
  }

  std::size_t skip_space(std::size_t off) const {
    while (off < src_.size()) {
      std::size_t n = space_len(src_, off);
      if (n == 0) break;
      off += n;
    }
    return off;
  }

  std::size_t find_tag(std::size_t from) const {
    for (std::size_t i = src_.find('{', from); i != npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return npos;
  }

  void emit_data(std::size_t begin, std::size_t end, bool strip_trailing_space) {
    std::string_view text = std::string_view(src_).substr(begin, end - begin);
    if (strip_trailing_space) text = rstrip(text);
    if (!text.empty()) push(Tok::data, begin, std::string(text));
  }

  // `{% raw %}`, `{%- raw -%}` and so on: on a match, body is where the raw text starts.
  bool match_raw_begin(std::size_t tag, std::size_t& body) const {
    std::size_t p = tag + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    p = skip_space(p);
    if (!starts_with(p, "raw")) return false;
    p = skip_space(p + 3);
    if (starts_with(p, "-%}")) {
      body = skip_space(p + 3);
      return true;
    }
    if (starts_with(p, "%}")) {
      body = p + 2;
      return true;
    }
    return false;
  }

  void lex_raw(std::size_t tag, std::size_t body) {
    for (std::size_t q = src_.find("{%", body); q != npos; q = src_.find("{%", q + 1)) {
      std::size_t p = q + 2;
      char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : '\0';
      if (sign) ++p;
      p = skip_space(p);
      if (!starts_with(p, "endraw")) continue;
      p = skip_space(p + 6);
      std::size_t end;
      if (starts_with(p, "+%}"))
        end = p + 3;
      else if (starts_with(p, "-%}"))
        end = skip_space(p + 3);
      else if (starts_with(p, "%}"))
        end = p + 2;
      else
        continue;
      emit_data(body, q, sign == '-');
      pos_ = end;
      return;
    }
    fail(tag, "unclosed raw block: missing {% endraw %}");
  }

  void lex_comment(std::size_t tag, std::size_t after) {
    std::size_t q = src_.find("#}", after);
    if (q == npos) fail(tag, "unclosed comment: missing '#}'", "a comment runs from {# to #}");
    pos_ = q + 2;
    if (q > after && src_[q - 1] == '-') pos_ = skip_space(pos_);
  }

  void lex_tag(std::size_t tag, std::size_t after, bool variable) {
    push(variable ? Tok::var_begin : Tok::block_begin, tag);
    std::vector<char> closers;  // brackets still open, innermost last
    std::size_t p = after;
    while (true) {
      if (closers.empty()) {
        if (variable) {
          if (starts_with(p, "-}}")) {
            push(Tok::var_end, p);
            pos_ = skip_space(p + 3);
            return;
          }
          if (starts_with(p, "}}")) {
            push(Tok::var_end, p);
            pos_ = p + 2;
            return;
          }
        } else {
          if (starts_with(p, "-%}")) {
            push(Tok::block_end, p);
            pos_ = skip_space(p + 3);
            return;
          }
          if (starts_with(p, "+%}") || starts_with(p, "%}")) {
            push(Tok::block_end, p);
            pos_ = p + (src_[p] == '+' ? 3 : 2);
            return;
          }
        }
      }
      if (p >= src_.size()) {
        std::string open = variable ? "{{" : "{%";
        std::string close = variable ? "}}" : "%}";
        fail(tag, "unclosed '" + open + "': missing '" + close + "' before the end of the template",
             closers.empty() ? "" : std::string("a '") + closers.back() + "' is also missing");
      }
      if (std::size_t n = space_len(src_, p)) {
        p += n;
        continue;
      }
      char c = src_[p];
      if (is_digit(c))
        p = lex_number(p);
      else if (is_name_start(c))
        p = lex_name(p);
      else if (c == '\'' || c == '"')
        p = lex_string(p);
      else
        p = lex_operator(p, closers);
    }
  }

  std::size_t lex_name(std::size_t p) {
    std::size_t end = p;
    while (end < src_.size() && is_name_char(src_[end])) ++end;
    push(Tok::name, p, src_.substr(p, end - p));
    return end;
  }

  // Matches (\d+_)*\d+ at p; returns the end, or npos when there is no digit.
  std::size_t digits(std::size_t p) const {
    if (p >= src_.size() || !is_digit(src_[p])) return npos;
    while (p < src_.size()) {
      if (is_digit(src_[p]))
        ++p;
      else if (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]))
        ++p;
      else
        break;
    }
    return p;
  }

  // End of a float literal starting at p, or npos. Like Jinja, no float starts
  // right after a '.', so `a.0.1` is two subscripts.
  std::size_t float_end(std::size_t p) const {
    if (p > 0 && src_[p - 1] == '.') return npos;
    std::size_t whole = digits(p);
    if (whole == npos) return npos;
    std::size_t end = whole;
    bool fraction = false;
    if (end < src_.size() && src_[end] == '.') {
      std::size_t f = digits(end + 1);
      if (f != npos) {
        end = f;
        fraction = true;
      }
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      std::size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      std::size_t x = digits(e);
      if (x != npos) return x;
    }
    return fraction ? end : npos;
  }

  std::size_t lex_number(std::size_t p) {
    if (std::size_t end = float_end(p); end != npos) {
      std::string clean;
      for (std::size_t i = p; i < end; ++i)
        if (src_[i] != '_') clean.push_back(src_[i]);
      double v = 0;
      auto r = std::from_chars(clean.data(), clean.data() + clean.size(), v);
      if (r.ec == std::errc::result_out_of_range) {
        // Python's float() gives inf for too large and 0.0 for too small.
        std::size_t e = clean.find_first_of("eE");
        bool huge = e == std::string::npos || clean[e + 1] != '-';
        v = huge ? std::numeric_limits<double>::infinity() : 0.0;
      }
      push(Tok::floating, p).floating = v;
      return end;
    }
    int base = 10;
    std::size_t q = p;
    std::size_t end;
    if (src_[p] == '0' && p + 1 < src_.size()) {
      char x = src_[p + 1];
      base = (x == 'x' || x == 'X') ? 16 : (x == 'o' || x == 'O') ? 8 : (x == 'b' || x == 'B') ? 2 : 10;
    }
    if (base != 10) {
      // 0x(_?[0-9a-f])+ and friends; without a digit it is just the literal 0.
      end = p + 2;
      while (true) {
        std::size_t d = end < src_.size() && src_[end] == '_' ? end + 1 : end;
        if (d >= src_.size() || digit_value(src_[d]) >= base) break;
        end = d + 1;
      }
      if (end == p + 2) {
        base = 10;
        end = p + 1;
      } else {
        q = p + 2;
      }
    }
    if (base == 10) {
      // [1-9](_?\d)* or 0(_?0)*
      bool zero = src_[p] == '0';
      end = p + 1;
      while (true) {
        std::size_t d = end < src_.size() && src_[end] == '_' ? end + 1 : end;
        if (d >= src_.size() || !is_digit(src_[d]) || (zero && src_[d] != '0')) break;
        end = d + 1;
      }
    }
    std::uint64_t v = 0;
    for (std::size_t i = q; i < end; ++i) {
      if (src_[i] == '_') continue;
      auto d = static_cast<std::uint64_t>(digit_value(src_[i]));
      if (v > (std::numeric_limits<std::uint64_t>::max() - d) / static_cast<std::uint64_t>(base))
        fail(p, "integer literal is too large", "integers are 64-bit");
      v = v * static_cast<std::uint64_t>(base) + d;
    }
    push(Tok::integer, p).integer = v;
    return end;
  }

  std::size_t lex_string(std::size_t p) {
    char quote = src_[p];
    std::size_t i = p + 1;
    while (i < src_.size() && src_[i] != quote) i += src_[i] == '\\' ? 2 : 1;
    if (i >= src_.size()) fail(p, "unterminated string literal", std::string("close it with ") + quote);
    std::string value = unescape(p, std::string_view(src_).substr(p + 1, i - p - 1));
    push(Tok::string, p, std::move(value));
    return i + 1;
  }

  // Python's "unicode-escape" decoding, which Jinja applies to string literals.
  std::string unescape(std::size_t at, std::string_view s) {
    std::string out;
    out.reserve(s.size());
    char32_t high_surrogate = 0;
    auto flush = [&] {
      if (high_surrogate) append_utf8(out, 0xfffd);
      high_surrogate = 0;
    };
    auto put = [&](char32_t cp) {
      if (high_surrogate) {
        if (cp >= 0xdc00 && cp <= 0xdfff) {
          append_utf8(out, 0x10000 + ((high_surrogate - 0xd800) << 10) + (cp - 0xdc00));
          high_surrogate = 0;
          return;
        }
        append_utf8(out, 0xfffd);
        high_surrogate = 0;
      }
      if (cp >= 0xd800 && cp <= 0xdbff)
        high_surrogate = cp;
      else
        append_utf8(out, cp);
    };
    auto hex = [&](std::size_t i, std::size_t count, const char* what) {
      char32_t cp = 0;
      for (std::size_t k = 0; k < count; ++k) {
        int d = i + k < s.size() ? digit_value(s[i + k]) : 99;
        if (d >= 16) fail(at, std::string("truncated ") + what + " escape in string literal");
        cp = cp * 16 + static_cast<char32_t>(d);
      }
      if (cp > 0x10ffff) fail(at, "illegal Unicode character in string literal");
      return cp;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\\' || i + 1 >= s.size()) {
        flush();
        out.push_back(s[i]);
        continue;
      }
      char e = s[++i];
      switch (e) {
        case '\n':
          break;
        case '\\':
        case '\'':
        case '"':
          put(static_cast<char32_t>(e));
          break;
        case 'a':
          put(0x07);
          break;
        case 'b':
          put(0x08);
          break;
        case 'f':
          put(0x0c);
          break;
        case 'n':
          put('\n');
          break;
        case 'r':
          put('\r');
          break;
        case 't':
          put('\t');
          break;
        case 'v':
          put(0x0b);
          break;
        case 'x':
          put(hex(i + 1, 2, "\\xXX"));
          i += 2;
          break;
        case 'u':
          put(hex(i + 1, 4, "\\uXXXX"));
          i += 4;
          break;
        case 'U':
          put(hex(i + 1, 8, "\\UXXXXXXXX"));
          i += 8;
          break;
        case 'N':
          fail(at, "\\N{...} escapes are not supported in string literals", "write the character itself");
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k)
              cp = cp * 8 + static_cast<char32_t>(s[++i] - '0');
            put(cp);
          } else {
            flush();
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
    flush();
    return out;
  }

  std::size_t lex_operator(std::size_t p, std::vector<char>& closers) {
    static constexpr std::string_view two[] = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : two) {
      if (starts_with(p, op)) {
        push(Tok::op, p, std::string(op));
        return p + 2;
      }
    }
    char c = src_[p];
    if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == npos) {
      Decoded d = decode_utf8(src_, p);
      std::string shown = src_.substr(p, d.len);
      if (!d.valid || d.cp < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(d.cp & 0xff));
        shown = buf;
      }
      fail(p, "unexpected character '" + shown + "' in a tag");
    }
    if (c == '(' || c == '[' || c == '{') {
      closers.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (closers.empty()) fail(p, std::string("unexpected '") + c + "'");
      if (closers.back() != c) fail(p, std::string("unexpected '") + c + "', expected '" + closers.back() + "'");
      closers.pop_back();
    }
    push(Tok::op, p, std::string(1, c));
    return p + 1;
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace mlops::tmpl::detail
