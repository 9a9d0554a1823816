#pragma once
// Per-call latency and CPU of a loop, for the serve forward-pass benchmarks
// (bench/serve_forward.cpp, bench/serve_forward_raw.cpp): times `calls` calls of
// `fn` after `warmup` uncounted ones and prints one JSON object.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mlops::bench {

inline double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct LatencyReport {
  std::size_t calls = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, mean_us = 0, min_us = 0;
  double cpu_us_per_call = 0;  // getrusage(RUSAGE_SELF): every thread of the process
  double calls_per_s = 0;
};

template <class Fn>
LatencyReport time_calls(std::size_t calls, std::size_t warmup, Fn&& fn) {
  using clock = std::chrono::steady_clock;
  for (std::size_t i = 0; i < warmup; ++i) fn();
  std::vector<double> us(calls);
  double cpu0 = cpu_seconds();
  auto start = clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    auto t0 = clock::now();
    fn();
    us[i] = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
  }
  double wall = std::chrono::duration<double>(clock::now() - start).count();
  double cpu = cpu_seconds() - cpu0;
  LatencyReport r;
  r.calls = calls;
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<std::size_t>(p * us.size()))]; };
  r.p50_us = pct(0.50);
  r.p90_us = pct(0.90);
  r.p99_us = pct(0.99);
  r.min_us = us.front();
  r.mean_us = sum / static_cast<double>(calls);
  r.cpu_us_per_call = cpu * 1e6 / static_cast<double>(calls);
  r.calls_per_s = static_cast<double>(calls) / wall;
  return r;
}

inline void print_report(const std::string& key, const std::string& label, const LatencyReport& r) {
  std::printf(
      "{\"key\": \"%s\", \"label\": \"%s\", \"calls\": %zu, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, "
      "\"mean_us\": %.2f, \"min_us\": %.2f, \"cpu_us_per_call\": %.2f, \"calls_per_s\": %.0f}\n",
      key.c_str(), label.c_str(), r.calls, r.p50_us, r.p90_us, r.p99_us, r.mean_us, r.min_us, r.cpu_us_per_call,
      r.calls_per_s);
  std::fflush(stdout);
}

}  // namespace mlops::bench
