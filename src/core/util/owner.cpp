#include "util/owner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

namespace mlops::util {

std::string this_host() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

namespace {

// Fields 3 (state) and 22 (starttime) of /proc/PID/stat; empty when unreadable.
std::pair<std::string, std::string> proc_stat(std::int64_t pid) {
  if (pid <= 0) return {};
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return {};
  // The command name (field 2) is in parentheses and may hold spaces: count
  // fields after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 1));
  std::string state, field;
  if (!(rest >> state)) return {};
  for (int i = 4; i <= 22; ++i)
    if (!(rest >> field)) return {};
  return {state, field};
}

}  // namespace

std::string process_start_token(std::int64_t pid) {
  return proc_stat(pid).second;
}

bool process_alive(std::int64_t pid, const std::string& start_token) {
  if (pid <= 0) return true;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  auto [state, start] = proc_stat(pid);
  // A zombie has exited; it only waits for a parent that may never reap it.
  if (state == "Z" || state == "X") return false;
  if (start_token.empty() || start.empty()) return true;
  return start == start_token;
}

ProcessOwner ProcessOwner::self() {
  ProcessOwner o;
  o.pid = static_cast<std::int64_t>(::getpid());
  o.host = this_host();
  o.start = process_start_token(o.pid);
  return o;
}

bool ProcessOwner::gone() const {
  return pid > 0 && host == this_host() && !process_alive(pid, start);
}

}  // namespace mlops::util
