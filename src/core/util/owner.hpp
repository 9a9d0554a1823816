#pragma once
// Which process owns a long-running job (a tracked run, an eval run, an A/B
// run, a training directory), and whether it is still alive. A pid alone can be
// reused after the owner dies, so the owner's start time (from /proc/PID/stat)
// is recorded too and must still match.
#include <cstdint>
#include <string>

namespace mlops::util {

std::string this_host();
// The start time of `pid` since boot in clock ticks, or "" when unknown.
std::string process_start_token(std::int64_t pid);
// False only when the process is known to be gone (or its pid now names another
// process); true when alive or when this cannot be told.
bool process_alive(std::int64_t pid, const std::string& start_token);

// The owner of a job as stored beside it.
struct ProcessOwner {
  std::int64_t pid = 0;
  std::string host;
  std::string start;  // process_start_token(pid); "" in records from before it was kept

  // This process.
  static ProcessOwner self();
  // True only when the owner ran on this host and is known to be gone (a job
  // still marked running was then killed); false when it lives or cannot be told.
  bool gone() const;
};

}  // namespace mlops::util
