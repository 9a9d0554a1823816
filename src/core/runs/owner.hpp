#pragma once
// Which process owns a running run, and whether it is still alive. A pid alone
// can be reused after the owner dies, so the owner's start time (from
// /proc/PID/stat) is recorded too and must still match.
#include <cstdint>
#include <string>

namespace mlops::runs {

std::string this_host();
// The start time of `pid` since boot in clock ticks, or "" when unknown.
std::string process_start_token(std::int64_t pid);
// False only when the process is known to be gone (or its pid now names another
// process); true when alive or when this cannot be told.
bool process_alive(std::int64_t pid, const std::string& start_token);

}  // namespace mlops::runs
