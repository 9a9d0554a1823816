#include "util/time.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "util/error.hpp"

namespace mlops::util {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_rfc3339(std::int64_t unix_ns) {
  std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000);
  int millis = static_cast<int>((unix_ns / 1000000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::int64_t parse_duration_ns(const std::string& text) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used + 1 != text.size() || n < 0)
    throw UsageError("invalid duration '" + text + "'", "use a number and a unit: 45s, 15m, 12h, 30d or 2w");
  const std::int64_t s = 1000000000;
  switch (text.back()) {
    case 's':
      return n * s;
    case 'm':
      return n * 60 * s;
    case 'h':
      return n * 3600 * s;
    case 'd':
      return n * 86400 * s;
    case 'w':
      return n * 7 * 86400 * s;
    default:
      throw UsageError("invalid duration unit in '" + text + "'", "use s, m, h, d or w");
  }
}

}  // namespace mlops::util
