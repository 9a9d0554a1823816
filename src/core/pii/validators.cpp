#include "pii/validators.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

namespace mlops::pii {
namespace {

int digit(char c) {
  return c - '0';
}

int prefix_value(std::string_view d, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n && i < d.size(); ++i) v = v * 10 + digit(d[i]);
  return v;
}

bool date_exists(int yy_century, int mm, int dd) {
  if (mm < 1 || mm > 12 || dd < 1) return false;
  static constexpr std::array<int, 12> days = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (dd > days[mm - 1]) return false;
  if (mm == 2 && dd == 29) {
    int y = yy_century;
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  }
  return true;
}

}  // namespace

bool luhn_valid(std::string_view d) {
  int sum = 0;
  bool dbl = false;
  for (auto it = d.rbegin(); it != d.rend(); ++it) {
    int v = digit(*it);
    if (dbl) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    dbl = !dbl;
  }
  return !d.empty() && sum % 10 == 0;
}

bool card_issuer_known(std::string_view d) {
  const std::size_t n = d.size();
  const int p1 = prefix_value(d, 1), p2 = prefix_value(d, 2), p3 = prefix_value(d, 3), p4 = prefix_value(d, 4);
  const int p6 = prefix_value(d, 6);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                         // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                  // Amex
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 ||                  // Discover
      (p6 >= 622126 && p6 <= 622925))
    return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;                                      // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return n >= 14 && n <= 19;  // Diners
  if (p2 == 62) return n >= 16 && n <= 19;                                                      // UnionPay
  return false;
}

bool ssn_valid(std::string_view d) {
  if (d.size() != 9) return false;
  int area = prefix_value(d, 3), group = prefix_value(d.substr(3), 2), serial = prefix_value(d.substr(5), 4);
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool kr_rrn_is_foreigner(std::string_view d) {
  return d.size() == 13 && d[6] >= '5' && d[6] <= '8';
}

RrnCheck kr_rrn_check(std::string_view d) {
  if (d.size() != 13) return RrnCheck::invalid;
  int g = digit(d[6]);
  int century = (g == 1 || g == 2 || g == 5 || g == 6) ? 1900 : (g == 3 || g == 4 || g == 7 || g == 8) ? 2000 : 1800;
  int yy = prefix_value(d, 2), mm = prefix_value(d.substr(2), 2), dd = prefix_value(d.substr(4), 2);
  if (!date_exists(century + yy, mm, dd)) return RrnCheck::invalid;
  static constexpr std::array<int, 12> w = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (std::size_t i = 0; i < 12; ++i) sum += digit(d[i]) * w[i];
  int check = kr_rrn_is_foreigner(d) ? (13 - sum % 11) % 10 : (11 - sum % 11) % 10;
  return check == digit(d[12]) ? RrnCheck::checksum_ok : RrnCheck::checksum_failed;
}

bool kr_brn_valid(std::string_view d) {
  if (d.size() != 10) return false;
  static constexpr std::array<int, 9> w = {1, 3, 7, 1, 3, 7, 1, 3, 5};
  int sum = 0;
  for (std::size_t i = 0; i < 9; ++i) sum += digit(d[i]) * w[i];
  sum += digit(d[8]) * 5 / 10;
  return (10 - sum % 10) % 10 == digit(d[9]);
}

int iban_length(std::string_view cc) {
  struct Entry {
    const char* cc;
    int len;
  };
  static constexpr Entry table[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
      {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20},
      {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
      {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
      {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27},
      {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19},
      {"SK", 24}, {"SM", 27}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20},
  };
  for (const auto& e : table)
    if (cc == e.cc) return e.len;
  return 0;
}

bool iban_valid(std::string_view s) {
  if (s.size() < 15 || static_cast<int>(s.size()) != iban_length(s.substr(0, 2))) return false;
  int rem = 0;
  auto feed = [&](char c) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + digit(c)) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    } else {
      rem = -1000000;
    }
  };
  for (std::size_t i = 4; i < s.size(); ++i) feed(s[i]);
  for (std::size_t i = 0; i < 4; ++i) feed(s[i]);
  return rem == 1;
}

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  // H = log2(n) - sum(c * log2(c)) / n, with c * log2(c) from a table for short tokens.
  static const std::array<double, 257> clogc = [] {
    std::array<double, 257> t{};
    for (int c = 1; c <= 256; ++c) t[static_cast<std::size_t>(c)] = c * std::log2(static_cast<double>(c));
    return t;
  }();
  std::array<std::uint32_t, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double sum = 0;
  for (unsigned char c : s) {  // each distinct byte once, then zeroed
    if (std::uint32_t k = counts[c]) {
      sum += k <= 256 ? clogc[k] : k * std::log2(static_cast<double>(k));
      counts[c] = 0;
    }
  }
  const double n = static_cast<double>(s.size());
  return std::log2(n) - sum / n;
}

bool jwt_header_valid(std::string_view seg) {
  if (seg.size() < 8 || seg.size() > 1024) return false;
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : seg) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return out.size() > 2 && out[0] == '{' &&
         (out.find("\"alg\"") != std::string::npos || out.find("\"typ\"") != std::string::npos);
}

}  // namespace mlops::pii
