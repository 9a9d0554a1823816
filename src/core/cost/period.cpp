#include "cost/period.hpp"

#include <cctype>
#include <cstdio>

#include "util/error.hpp"
#include "util/time.hpp"

namespace mlops::cost {

std::optional<Period> parse_period(std::string_view text) {
  if (text == "day") return Period::day;
  if (text == "week") return Period::week;
  if (text == "month") return Period::month;
  return std::nullopt;
}

const char* period_name(Period p) {
  switch (p) {
    case Period::day:
      return "day";
    case Period::week:
      return "week";
    case Period::month:
      return "month";
  }
  return "?";
}

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

// Howard Hinnant's algorithms (http://howardhinnant.github.io/date_algorithms.html).
std::int64_t days_from_civil(int year, unsigned month, unsigned day) {
  std::int64_t y = year - (month <= 2 ? 1 : 0);
  std::int64_t era = floor_div(y, 400);
  std::int64_t yoe = y - era * 400;
  std::int64_t mp = (month + 9) % 12;
  std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  std::int64_t era = floor_div(days, 146097);
  std::int64_t doe = days - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0)), month, day};
}

std::string format_day(std::int64_t ms) {
  auto d = civil_from_days(floor_div(ms, k_day_ms));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

Window period_window(Period p, std::int64_t now_ms) {
  std::int64_t today = floor_div(now_ms, k_day_ms);
  switch (p) {
    case Period::day:
      return {today * k_day_ms, (today + 1) * k_day_ms};
    case Period::week: {
      // 1970-01-01 was a Thursday: Monday-based weekday is (days + 3) mod 7.
      std::int64_t monday = today - (today + 3 - floor_div(today + 3, 7) * 7);
      return {monday * k_day_ms, (monday + 7) * k_day_ms};
    }
    case Period::month: {
      auto d = civil_from_days(today);
      int next_year = d.month == 12 ? d.year + 1 : d.year;
      unsigned next_month = d.month == 12 ? 1 : d.month + 1;
      return {days_from_civil(d.year, d.month, 1) * k_day_ms, days_from_civil(next_year, next_month, 1) * k_day_ms};
    }
  }
  return {};
}

namespace {

// Reads exactly `n` digits at `pos`; false when they are not there.
bool digits(const std::string& s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[pos + i]))) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return true;
}

bool expect(const std::string& s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

std::optional<std::int64_t> parse_iso8601_ms(const std::string& s) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(s, pos, 4, year) || !expect(s, pos, '-') || !digits(s, pos, 2, month) || !expect(s, pos, '-') ||
      !digits(s, pos, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!digits(s, pos, 2, hour) || !expect(s, pos, ':') || !digits(s, pos, 2, minute)) return std::nullopt;
    if (expect(s, pos, ':')) {
      if (!digits(s, pos, 2, second)) return std::nullopt;
      if (expect(s, pos, '.')) {
        int scale = 100;
        std::size_t start = pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
          millis += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      int sign = s[pos++] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!digits(s, pos, 2, oh)) return std::nullopt;
      expect(s, pos, ':');
      if (!digits(s, pos, 2, om)) return std::nullopt;
      offset_min = sign * (oh * 60 + om);
    }
  }
  if (pos != s.size()) return std::nullopt;
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  if (civil_from_days(days).day != static_cast<unsigned>(day)) return std::nullopt;  // 2026-02-30
  return days * k_day_ms + ((hour * 60LL + minute - offset_min) * 60 + second) * 1000 + millis;
}

}  // namespace

std::int64_t parse_instant_ms(const std::string& text, std::int64_t now_ms, std::string_view option) {
  if (auto t = parse_iso8601_ms(text)) return *t;
  bool looks_like_duration = !text.empty() && std::isdigit(static_cast<unsigned char>(text[0])) &&
                             std::isalpha(static_cast<unsigned char>(text.back())) &&
                             text.find('-') == std::string::npos;
  if (looks_like_duration) {
    try {
      return now_ms - util::parse_duration_ns(text) / 1000000;
    } catch (const UsageError&) {
    }
  }
  throw UsageError("invalid " + std::string(option) + " '" + text + "'",
                   "use a duration back from now (90m, 12h, 30d, 2w) or a UTC date or time such as 2026-11-01 or "
                   "2026-11-01T08:00:00Z");
}

}  // namespace mlops::cost
