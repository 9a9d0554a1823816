#pragma once
#include <cstdint>
#include <string>

namespace mlops::util {

// Nanoseconds since the Unix epoch (wall clock).
std::int64_t now_ns();
// RFC 3339 UTC with millisecond precision: 2026-11-21T06:48:00.123Z
std::string format_rfc3339(std::int64_t unix_ns);
// Parses a duration like "30d", "12h", "15m", "45s", "2w" into nanoseconds; throws UsageError.
std::int64_t parse_duration_ns(const std::string& text);

}  // namespace mlops::util
