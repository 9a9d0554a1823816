// mlops-startup-bench: runs short-lived commands many times, round-robin, and
// reports each one's wall time and peak RSS next to the first command (the peer).
//
//   mlops-startup-bench [--runs N] [--warmup N] [--cwd DIR] [--json FILE|-]
//                       [--max-ms MS] [--max-rss-mb MB] [--check LABEL]...
//                       -- LABEL PROG [ARGS...] [-- LABEL PROG [ARGS...]]...
//
// Each run is fork + execvp with stdin/stdout/stderr on /dev/null. Wall time is
// CLOCK_MONOTONIC from before fork() to after wait4(); peak RSS is the child's
// ru_maxrss. ru_maxrss also counts the pages the child inherits from this
// process at fork(), so this tool keeps its own footprint small (well under 1 MB
// of anonymous memory). Any command exiting non-zero aborts the benchmark.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Command {
  std::string label;
  std::vector<std::string> args;
  std::vector<char*> argv;  // points into args; built before any fork
  std::vector<double> ms;   // wall time of each measured run
  std::vector<double> mb;   // peak RSS (MiB) of each measured run
};

struct Stats {
  double median, p90, min, rss_median, rss_max;
};

[[noreturn]] void die(const std::string& msg, int code = 2) {
  std::cerr << "mlops-startup-bench: " << msg << "\n";
  std::exit(code);
}

const char* k_usage =
    "usage: mlops-startup-bench [--runs N] [--warmup N] [--cwd DIR] [--json FILE|-]\n"
    "                           [--max-ms MS] [--max-rss-mb MB] [--check LABEL]...\n"
    "                           -- LABEL PROG [ARGS...] [-- LABEL PROG [ARGS...]]...\n"
    "The first command is the peer: ratios are against its median. Limits apply to\n"
    "the --check labels, or to every command but the peer when none is given.\n";

double number(const char* s, const char* opt) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || v < 0) die(std::string("bad value for ") + opt + ": " + s);
  return v;
}

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) == 127) return "could not be executed";
  if (WEXITSTATUS(status) == 126) return "could not set up stdio or --cwd";
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

// Runs `c` once; returns {wall ms, peak RSS MiB}. Only async-signal-safe calls
// happen between fork and exec.
std::pair<double, double> run_once(Command& c, int devnull, const char* cwd) {
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0) _exit(126);
    if (cwd && chdir(cwd) != 0) _exit(126);
    execvp(c.argv[0], c.argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR) die(std::string("wait4: ") + std::strerror(errno));
  double t1 = now_ms();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    die(c.label + " (" + joined(c.args) + ") failed: " + describe(status));
  }
  return {t1 - t0, static_cast<double>(ru.ru_maxrss) / 1024.0};
}

// Linear interpolation between closest ranks (median of an even count is the
// mean of the middle two).
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double pos = p * static_cast<double>(v.size() - 1);
  auto i = static_cast<std::size_t>(pos);
  return i + 1 < v.size() ? v[i] + (pos - static_cast<double>(i)) * (v[i + 1] - v[i]) : v[i];
}

Stats stats(const Command& c) {
  return {percentile(c.ms, 0.5), percentile(c.ms, 0.9), *std::min_element(c.ms.begin(), c.ms.end()),
          percentile(c.mb, 0.5), *std::max_element(c.mb.begin(), c.mb.end())};
}

std::string limit(double v) {
  if (v <= 0) return "none";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

std::string to_json(const std::vector<Command>& cmds, int runs, int warmup) {
  std::ostringstream os;
  os.precision(4);
  os << std::fixed << "{\"runs\": " << runs << ", \"warmup\": " << warmup << ", \"commands\": [";
  double peer = stats(cmds[0]).median;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    Stats s = stats(cmds[i]);
    os << (i ? "," : "") << "\n  {\"label\": " << json_string(cmds[i].label) << ", \"argv\": [";
    for (std::size_t j = 0; j < cmds[i].args.size(); ++j) os << (j ? ", " : "") << json_string(cmds[i].args[j]);
    os << "], \"wall_ms\": {\"median\": " << s.median << ", \"p90\": " << s.p90 << ", \"min\": " << s.min
       << "}, \"peak_rss_mb\": {\"median\": " << s.rss_median << ", \"max\": " << s.rss_max
       << "}, \"ratio_vs_peer\": " << s.median / peer << "}";
  }
  os << "\n]}\n";
  return os.str();
}

void print_table(const std::vector<Command>& cmds, int runs, int warmup, const std::string& cwd) {
  int w = 7;
  for (const auto& c : cmds) w = std::max(w, static_cast<int>(c.label.size()));
  std::printf("%d runs per command after %d warm-up, round-robin%s%s\n", runs, warmup, cwd.empty() ? "" : "; cwd ",
              cwd.c_str());
  for (const auto& c : cmds) std::printf("  %-*s  %s\n", w, c.label.c_str(), joined(c.args).c_str());
  std::printf("%-*s %10s %8s %8s %11s %11s %8s\n", w, "command", "median ms", "p90 ms", "min ms", "rss med MB",
              "rss max MB", "vs peer");
  double peer = stats(cmds[0]).median;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    Stats s = stats(cmds[i]);
    char ratio[32];
    if (i == 0)
      std::snprintf(ratio, sizeof ratio, "peer");
    else
      std::snprintf(ratio, sizeof ratio, "%.2fx", s.median / peer);
    std::printf("%-*s %10.2f %8.2f %8.2f %11.1f %11.1f %8s\n", w, cmds[i].label.c_str(), s.median, s.p90, s.min,
                s.rss_median, s.rss_max, ratio);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200, warmup = 20;
  double max_ms = 0, max_mb = 0;
  std::string cwd, json;
  std::vector<std::string> checks;
  std::vector<Command> cmds;

  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    std::string opt = argv[i];
    if (opt == "-h" || opt == "--help") {
      std::cout << k_usage;
      return 0;
    }
    if (i + 1 >= argc) die("missing value for " + opt + "\n" + k_usage);
    const char* val = argv[++i];
    if (opt == "--runs")
      runs = static_cast<int>(number(val, "--runs"));
    else if (opt == "--warmup")
      warmup = static_cast<int>(number(val, "--warmup"));
    else if (opt == "--cwd")
      cwd = val;
    else if (opt == "--json")
      json = val;
    else if (opt == "--max-ms")
      max_ms = number(val, "--max-ms");
    else if (opt == "--max-rss-mb")
      max_mb = number(val, "--max-rss-mb");
    else if (opt == "--check")
      checks.emplace_back(val);
    else
      die("unknown option " + opt + "\n" + k_usage);
  }
  bool want_label = false;
  for (; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      cmds.emplace_back();
      want_label = true;
    } else if (want_label) {
      cmds.back().label = argv[i];
      want_label = false;
    } else {
      cmds.back().args.emplace_back(argv[i]);
    }
  }
  if (cmds.empty()) die(std::string("no commands given\n") + k_usage);
  if (runs < 1) die("--runs must be at least 1");
  for (auto& c : cmds) {
    if (c.args.empty()) die("command '" + c.label + "' has no program (expected -- LABEL PROG [ARGS...])");
    for (auto& a : c.args) c.argv.push_back(a.data());
    c.argv.push_back(nullptr);
    c.ms.reserve(static_cast<std::size_t>(runs));
    c.mb.reserve(static_cast<std::size_t>(runs));
  }
  for (const auto& l : checks)
    if (std::none_of(cmds.begin(), cmds.end(), [&](const Command& c) { return c.label == l; }))
      die("--check " + l + ": no command has that label");

  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) die(std::string("/dev/null: ") + std::strerror(errno));
  // Round-robin, starting each round at the next command, so drift and noise
  // reach every command alike and none always runs right after another.
  const std::size_t n = cmds.size();
  for (int round = 0; round < warmup + runs; ++round)
    for (std::size_t k = 0; k < n; ++k) {
      auto& c = cmds[(static_cast<std::size_t>(round) + k) % n];
      auto [ms, mb] = run_once(c, devnull, cwd.empty() ? nullptr : cwd.c_str());
      if (round < warmup) continue;
      c.ms.push_back(ms);
      c.mb.push_back(mb);
    }

  if (json != "-") print_table(cmds, runs, warmup, cwd);
  if (!json.empty()) {
    std::string text = to_json(cmds, runs, warmup);
    if (json == "-")
      std::cout << text;
    else if (!(std::ofstream(json) << text))
      die("cannot write " + json);
  }

  std::fflush(stdout);
  int failed = 0;
  for (std::size_t k = 0; k < n; ++k) {
    bool checked =
        checks.empty() ? (k > 0 || n == 1) : std::find(checks.begin(), checks.end(), cmds[k].label) != checks.end();
    if (!checked || (max_ms <= 0 && max_mb <= 0)) continue;
    Stats s = stats(cmds[k]);
    bool slow = max_ms > 0 && s.median > max_ms, big = max_mb > 0 && s.rss_max > max_mb;
    failed += slow || big;
    std::fprintf(stderr, "%s %s: median %.2f ms (limit %s), peak RSS %.1f MB (limit %s)\n",
                 slow || big ? "FAIL" : "ok  ", cmds[k].label.c_str(), s.median, limit(max_ms).c_str(), s.rss_max,
                 limit(max_mb).c_str());
  }
  return failed ? 1 : 0;
}
