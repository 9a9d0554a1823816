#pragma once
// Calendar arithmetic for the cost module, all in UTC: budget periods (a day from
// 00:00, a week from Monday 00:00, a month from the 1st) and the instants that
// `cost report --since/--until` accept.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mlops::cost {

inline constexpr std::int64_t k_hour_ms = 3600LL * 1000;
inline constexpr std::int64_t k_day_ms = 24 * k_hour_ms;

enum class Period { day, week, month };
std::optional<Period> parse_period(std::string_view text);
const char* period_name(Period p);

// The half-open interval [start_ms, end_ms) of one calendar period.
struct Window {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};
// The period of kind `p` that holds `now_ms`; end_ms is when it resets.
Window period_window(Period p, std::int64_t now_ms);

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
std::int64_t days_from_civil(int year, unsigned month, unsigned day);
struct CivilDate {
  int year;
  unsigned month;
  unsigned day;
};
CivilDate civil_from_days(std::int64_t days);
// "2026-11-21" for the UTC day holding `ms`.
std::string format_day(std::int64_t ms);

// An instant for --since/--until: a duration back from `now_ms` ("30d", "12h",
// "90m", "2w") or an ISO-8601 date or date-time, UTC unless it carries an offset
// ("2026-11-01", "2026-11-01T08:00", "2026-11-01T08:00:00Z", "…+09:00").
// Throws UsageError naming `option` and the accepted forms.
std::int64_t parse_instant_ms(const std::string& text, std::int64_t now_ms, std::string_view option);

}  // namespace mlops::cost
