#pragma once
// Command-line handling shared by the bench seeders (mlops-prompt-seed,
// mlops-cost-seed): one DIR, -q/--quiet, -h/--help, and `--NAME VALUE` options
// handed back in order for the tool to interpret.
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace mlops::bench {

struct SeedArgs {
  std::string dir;
  bool quiet = false;
  std::vector<std::pair<std::string, std::string>> options;  // (--name, value)
};

class SeedCli {
 public:
  SeedCli(const char* tool, const char* usage) : tool_(tool), usage_(usage) {}

  [[noreturn]] void die(const std::string& msg, int code = 2) const {
    std::cerr << tool_ << ": " << msg << "\n";
    std::exit(code);
  }
  [[noreturn]] void unknown(const std::string& opt) const { die("unknown option " + opt + "\n" + usage_); }

  // A whole number in [min, max] for option `opt`; exits with status 2 otherwise.
  long long count(const std::string& s, const std::string& opt, long long min, long long max) const {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < min || v > max) die("bad value for " + opt + ": " + s);
    return v;
  }

  // Prints the usage and exits 0 for -h; exits 2 when DIR is missing or doubled.
  SeedArgs parse(int argc, char** argv) const {
    SeedArgs a;
    for (int i = 1; i < argc; ++i) {
      std::string opt = argv[i];
      if (opt == "-h" || opt == "--help") {
        std::cout << usage_;
        std::exit(0);
      }
      if (opt == "--quiet" || opt == "-q") {
        a.quiet = true;
      } else if (opt.rfind("--", 0) != 0) {
        if (!a.dir.empty()) die("more than one DIR given\n" + usage_);
        a.dir = opt;
      } else if (i + 1 >= argc) {
        die("missing value for " + opt + "\n" + usage_);
      } else {
        a.options.emplace_back(opt, argv[++i]);
      }
    }
    if (a.dir.empty()) die("no DIR given\n" + usage_);
    return a;
  }

 private:
  std::string tool_, usage_;
};

}  // namespace mlops::bench
