// PII scanner benchmark driver, used by bench/run-pii (see BENCHMARKS.md).
//   mlops-pii-bench gen MB FILE [P D] writes MB MiB of the labeled test corpus (fixed seed);
//                                    P and D: lines per hundred with a planted value and
//                                    with a decoy (default 30 and 20, the accuracy corpus)
//   mlops-pii-bench scan FILE [N]    scans FILE from memory N times (default 5) on one
//                                    thread with every detector on; prints the best MB/s
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "common/pii_corpus.hpp"
#include "pii/scanner.hpp"

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "gen" && (argc == 4 || argc == 6)) {
    std::size_t mb = std::stoul(argv[2]);
    int planted = argc == 6 ? std::stoi(argv[4]) : 30, decoys = argc == 6 ? std::stoi(argv[5]) : 20;
    std::ofstream out(argv[3], std::ios::binary);
    mlops::pii::corpus::Generator gen(20261121);
    // Generated in 8 MiB pieces so memory stays small for big files.
    for (std::size_t done = 0; done < mb; done += 8) {
      auto c = gen.make(std::min<std::size_t>(8, mb - done) << 20, planted, decoys);
      out << c.text;
    }
    return out ? 0 : 1;
  }
  if (cmd == "scan" && (argc == 3 || argc == 4)) {
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    int runs = argc == 4 ? std::stoi(argv[3]) : 5;
    mlops::pii::Scanner scanner;
    double best = 0, best_cpu = 0;
    std::size_t findings = 0;
    for (int r = 0; r < runs; ++r) {
      std::size_t off = 0;
      findings = 0;
      auto t0 = std::chrono::steady_clock::now();
      std::clock_t c0 = std::clock();
      scanner.scan(
          [&](char* buf, std::size_t cap) {
            std::size_t k = std::min(cap, text.size() - off);
            std::memcpy(buf, text.data() + off, k);
            off += k;
            return k;
          },
          [&](mlops::pii::Finding&&) { ++findings; });
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      best = std::max(best, static_cast<double>(text.size()) / (1 << 20) / s);
      best_cpu = std::max(best_cpu, static_cast<double>(text.size()) / (1 << 20) / cpu);
    }
    // Wall time suffers from other load on a shared machine; CPU time is what one core does.
    std::printf("{\"bytes\": %zu, \"findings\": %zu, \"best_mib_per_s\": %.1f, \"best_mib_per_cpu_s\": %.1f}\n",
                text.size(), findings, best, best_cpu);
    return 0;
  }
  std::cerr << "usage: mlops-pii-bench gen MB FILE [PLANTED DECOYS] | scan FILE [RUNS]\n";
  return 2;
}
