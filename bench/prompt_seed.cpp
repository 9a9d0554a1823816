// mlops-prompt-seed: builds a large prompt workspace for bench/run-prompts, fast,
// by calling the core API in one process instead of running mlopsctl per version.
//
//   mlops-prompt-seed DIR [--prompts N] [--versions V] [--deep NAME=COUNT]...
//                         [--single NAME] [--order round|prompt] [--quiet]
//
// Creates the workspace DIR (workspace::init with the default template), then
// commits N prompts (p00000, p00001, ...) with V versions each through
// PromptStore::commit, the same code path as `mlopsctl prompt commit`. Every
// --deep prompt gets COUNT versions, spread evenly through the run, and the
// --single prompt one version, committed halfway. Each version is a realistic
// YAML prompt (a template with {{ variables }}, variables:, model:, tags:) whose
// content depends only on the prompt and the version, so two seeds of the same
// size hold the same files.
//
// --order round (the default) commits version 1 of every prompt, then version 2
// of every prompt, and so on, so most commits land in a full prompts/ tree, as
// they would in a workspace that grew over time. --order prompt commits all
// versions of one prompt before the next, which is cheaper (the tree grows as
// it goes) but less like real use.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "prompt/store.hpp"
#include "prompt_content.hpp"
#include "seed_args.hpp"
#include "util/error.hpp"
#include "workspace/workspace.hpp"

namespace {

using mlops::bench::prompt_yaml;
using Clock = std::chrono::steady_clock;

const char* k_usage =
    "usage: mlops-prompt-seed DIR [--prompts N] [--versions V] [--deep NAME=COUNT]...\n"
    "                             [--single NAME] [--order round|prompt] [--quiet]\n"
    "Creates the workspace DIR and commits N prompts x V versions (defaults 10000 x 10),\n"
    "plus each --deep prompt with COUNT versions (default deep=1000; --deep none for\n"
    "none) and the --single prompt with one version (default single; --single none).\n";

const mlops::bench::SeedCli k_cli("mlops-prompt-seed", k_usage);

[[noreturn]] void die(const std::string& msg, int code = 2) {
  k_cli.die(msg, code);
}

long count_arg(const std::string& s, const std::string& opt, long min) {
  return static_cast<long>(k_cli.count(s, opt, min, 10'000'000));
}

struct Job {
  std::string name;
  int version;
};

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, order = "round", single = "single";
  long prompts = 10000, versions = 10;
  std::vector<std::pair<std::string, long>> deep;
  bool deep_given = false, quiet = false;

  auto args = k_cli.parse(argc, argv);
  dir = args.dir;
  quiet = args.quiet;
  for (const auto& [opt, val] : args.options) {
    if (opt == "--prompts") {
      prompts = count_arg(val, opt, 0);
    } else if (opt == "--versions") {
      versions = count_arg(val, opt, 1);
    } else if (opt == "--deep") {
      deep_given = true;
      if (val == "none") continue;
      auto eq = val.find('=');
      if (eq == std::string::npos || eq == 0) die("--deep wants NAME=COUNT, e.g. deep=1000");
      deep.emplace_back(val.substr(0, eq), count_arg(val.substr(eq + 1), opt, 1));
    } else if (opt == "--single") {
      single = val == "none" ? "" : val;
    } else if (opt == "--order") {
      if (val != "round" && val != "prompt") die("--order is round or prompt");
      order = val;
    } else {
      k_cli.unknown(opt);
    }
  }
  if (!deep_given) deep.emplace_back("deep", 1000);

  // The plan: the main prompts in the chosen order, with the deep prompts'
  // versions spread evenly through it and the single prompt halfway.
  int width = std::max<int>(5, static_cast<int>(std::to_string(std::max(prompts - 1, 0L)).size()));
  auto main_name = [&](long p) {
    std::string digits = std::to_string(p);
    return "p" + std::string(static_cast<std::size_t>(width) - digits.size(), '0') + digits;
  };
  std::vector<Job> main_jobs;
  main_jobs.reserve(static_cast<std::size_t>(prompts * versions));
  if (order == "round") {
    for (long v = 1; v <= versions; ++v)
      for (long p = 0; p < prompts; ++p) main_jobs.push_back({main_name(p), static_cast<int>(v)});
  } else {
    for (long p = 0; p < prompts; ++p)
      for (long v = 1; v <= versions; ++v) main_jobs.push_back({main_name(p), static_cast<int>(v)});
  }
  std::vector<Job> jobs;
  std::vector<long> deep_done(deep.size(), 0);
  const double m = static_cast<double>(std::max<std::size_t>(main_jobs.size(), 1));
  auto add_deep = [&](double upto) {  // the deep versions due when `upto` of the main run is done
    for (std::size_t d = 0; d < deep.size(); ++d)
      while (deep_done[d] < deep[d].second &&
             static_cast<double>(deep_done[d]) < upto * static_cast<double>(deep[d].second))
        jobs.push_back({deep[d].first, static_cast<int>(++deep_done[d])});
  };
  for (std::size_t i = 0; i < main_jobs.size(); ++i) {
    add_deep(static_cast<double>(i) / m);
    if (!single.empty() && i == main_jobs.size() / 2) jobs.push_back({single, 1});
    jobs.push_back(std::move(main_jobs[i]));
  }
  add_deep(1.0);
  if (!single.empty() && main_jobs.empty()) jobs.push_back({single, 1});

  try {
    auto env = mlops::config::process_env();
    auto t0 = Clock::now();
    mlops::workspace::init(dir, mlops::workspace::InitOptions{}, env);
    mlops::workspace::Workspace ws(mlops::workspace::locate(dir, env), env);
    mlops::prompt::PromptStore store(ws.db(), ws.git(), ws.paths().state_dir());
    auto author = ws.author();
    if (!quiet)
      std::printf("seeding %s: %ld prompts x %ld versions (order %s), %zu deep, %s; %zu commits\n",
                  ws.paths().root.c_str(), prompts, versions, order.c_str(), deep.size(),
                  single.empty() ? "no single" : ("single '" + single + "'").c_str(), jobs.size());

    auto last = Clock::now();
    std::size_t last_done = 0, next_report = 1;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      mlops::prompt::CommitRequest req;
      req.name = jobs[i].name;
      req.content = prompt_yaml(jobs[i].name, jobs[i].version);
      req.source = "mlops-prompt-seed:" + jobs[i].name + ".yaml";
      req.as_yaml = true;
      auto out = store.commit(req, author);
      if (out.unchanged || out.version.version != jobs[i].version)
        die("committing " + jobs[i].name + " v" + std::to_string(jobs[i].version) + " made v" +
                std::to_string(out.version.version) + (out.unchanged ? " (unchanged)" : "") +
                "; is the workspace already seeded?",
            3);
      std::size_t done = i + 1;
      if (!quiet && done * 10 >= next_report * jobs.size()) {
        auto now = Clock::now();
        double total = std::chrono::duration<double>(now - t0).count();
        double part = std::chrono::duration<double, std::milli>(now - last).count();
        std::printf("  %3zu%%  %zu commits  %s  (%.2f ms/commit over the last %zu)\n", done * 100 / jobs.size(), done,
                    seconds(total).c_str(), part / static_cast<double>(done - last_done), done - last_done);
        std::fflush(stdout);
        last = now;
        last_done = done;
        while (next_report * jobs.size() <= done * 10) ++next_report;
      }
    }
    double total = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("seeded %zu commits in %s (%.2f ms/commit)\n", jobs.size(), seconds(total).c_str(),
                jobs.empty() ? 0.0 : total * 1000.0 / static_cast<double>(jobs.size()));
  } catch (const mlops::Error& e) {
    std::cerr << "mlops-prompt-seed: error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "mlops-prompt-seed: error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
