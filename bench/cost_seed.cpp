// mlops-cost-seed: fills a workspace's cost ledger with synthetic LLM calls for
// bench/run-cost-report, fast, through the same code path as `llm call`
// (cost::Ledger::record_batch, which keeps the hourly and daily rollups).
//
//   mlops-cost-seed DIR [--rows N] [--days D] [--batch B] [--seed S]
//                       [--measure-record N] [--quiet]
//
// Creates the workspace DIR (workspace::init, default template) unless it is one,
// then records N calls (default 10,000,000) spread evenly over the D days
// (default 90) before now, in write transactions of B rows (default 100,000).
// The mix: 20 models (weighted, mostly OpenAI and Anthropic, costed with the
// shipped price table; a few local or gateway models have no price, about 5% of
// calls), 200 prompts (skewed; 10% of calls have none), 30 evals (20% of calls),
// 2% errors, 8% response-cache hits. Same --seed, same rows.
//
// --measure-record N then records N more calls, each in its own transaction as
// `llm call` does, and prints the cost per call.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "cost/ledger.hpp"
#include "cost/period.hpp"
#include "cost/pricing.hpp"
#include "seed_args.hpp"
#include "util/error.hpp"
#include "util/time.hpp"
#include "workspace/workspace.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace cost = mlops::cost;

const char* k_usage =
    "usage: mlops-cost-seed DIR [--rows N] [--days D] [--batch B] [--seed S] [--measure-record N] [--quiet]\n"
    "Creates the workspace DIR if needed and records N synthetic LLM calls (default 10000000) over the D days\n"
    "before now (default 90), B per transaction (default 100000).\n";

const mlops::bench::SeedCli k_cli("mlops-cost-seed", k_usage);

struct Model {
  const char* provider;
  const char* model;
  double weight;
  int typical_in, typical_out;
};

// About 5% of the weight sits on the last three, which have no price.
const std::vector<Model> k_models = {
    {"openai", "gpt-4o-mini", 16, 1200, 300},
    {"openai", "gpt-4o-2024-08-06", 9, 1500, 400},
    {"openai", "gpt-4.1", 6, 2500, 500},
    {"openai", "gpt-4.1-mini", 10, 1800, 350},
    {"openai", "gpt-4.1-nano", 6, 800, 120},
    {"openai", "o3", 2, 3000, 2500},
    {"openai", "o3-mini", 3, 2000, 1500},
    {"openai", "o4-mini", 5, 2200, 1800},
    {"openai", "gpt-5", 4, 2600, 1200},
    {"openai", "gpt-5-mini", 8, 1600, 700},
    {"openai", "gpt-5-nano", 5, 900, 300},
    {"anthropic", "claude-sonnet-4-20250514", 7, 3000, 600},
    {"anthropic", "claude-sonnet-4-5", 5, 3200, 700},
    {"anthropic", "claude-3-7-sonnet-latest", 2, 2800, 600},
    {"anthropic", "claude-3-5-haiku-20241022", 4, 1000, 250},
    {"anthropic", "claude-haiku-4-5", 3, 1100, 250},
    {"anthropic", "claude-opus-4-1-20250805", 1, 4000, 900},
    {"ollama", "llama3.1:8b", 2.5, 900, 300},
    {"http", "internal-gateway", 1.5, 1200, 400},
    {"vllm", "qwen2.5-32b-instruct", 1, 1500, 500},
};

const char* k_errors[] = {"rate_limit", "timeout", "server", "connection", "bad_response", "auth"};

std::string hex(std::mt19937_64& rng, int chars) {
  static const char* digits = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(chars), '0');
  std::uint64_t bits = 0;
  for (int i = 0; i < chars; ++i) {
    if (i % 16 == 0) bits = rng();
    s[static_cast<std::size_t>(i)] = digits[bits & 15];
    bits >>= 4;
  }
  return s;
}

class CallMaker {
 public:
  explicit CallMaker(std::uint64_t seed) : rng_(seed), prices_(cost::PriceTable::load({})) {
    std::vector<double> w;
    for (const auto& m : k_models) w.push_back(m.weight);
    model_ = std::discrete_distribution<std::size_t>(w.begin(), w.end());
    std::vector<double> pw;
    for (int i = 0; i < 200; ++i) pw.push_back(1.0 / (1.0 + i * 0.15));  // a few prompts carry most calls
    prompt_ = std::discrete_distribution<int>(pw.begin(), pw.end());
  }

  cost::CallRecord make(std::int64_t ts_ms) {
    cost::CallRecord c;
    const Model& m = k_models[model_(rng_)];
    c.ts_ms = ts_ms;
    c.provider = m.provider;
    c.model = m.model;
    if (unit_(rng_) >= 0.10) {
      int p = prompt_(rng_);
      c.prompt = "prompt-" + std::to_string(p);
      c.prompt_version = 1 + static_cast<int>(rng_() % 12);
    }
    if (unit_(rng_) < 0.20) c.eval_id = "eval-" + std::to_string(rng_() % 30);
    if (unit_(rng_) < 0.05) c.experiment_id = "exp-" + std::to_string(rng_() % 8);
    c.trace_id = hex(rng_, 32);
    c.span_id = hex(rng_, 16);
    c.latency_ms = 150 + 2000 * unit_(rng_) * unit_(rng_);
    if (unit_(rng_) < 0.02) {
      c.status = k_errors[rng_() % 6];
      c.usage = {};
    } else {
      double scale = 0.3 + 1.4 * unit_(rng_);
      c.usage.input_tokens = static_cast<std::int64_t>(m.typical_in * scale);
      c.usage.output_tokens = static_cast<std::int64_t>(m.typical_out * (0.3 + 1.4 * unit_(rng_)));
      if (unit_(rng_) < 0.3) {  // a cached prompt prefix
        c.usage.cache_read_tokens = c.usage.input_tokens / 2;
        c.usage.input_tokens -= c.usage.cache_read_tokens;
      }
      if (std::string(m.provider) == "anthropic" && unit_(rng_) < 0.05) c.usage.cache_write_tokens = 1024;
      c.cache_hit = unit_(rng_) < 0.08;
    }
    c.cost_usd = c.cache_hit ? std::optional<double>(0.0) : prices_.cost(c.provider, c.model, c.usage);
    if (c.cache_hit && !prices_.find(c.provider, c.model)) c.cost_usd.reset();
    return c;
  }

 private:
  std::mt19937_64 rng_;
  cost::PriceTable prices_;
  std::discrete_distribution<std::size_t> model_;
  std::discrete_distribution<int> prompt_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
};

}  // namespace

int main(int argc, char** argv) {
  long long rows = 10'000'000, days = 90, batch = 100'000, seed = 1, measure = 0;
  auto args = k_cli.parse(argc, argv);
  const std::string& dir = args.dir;
  const bool quiet = args.quiet;
  const long long max = 1'000'000'000;
  for (const auto& [opt, val] : args.options) {
    if (opt == "--rows")
      rows = k_cli.count(val, opt, 0, max);
    else if (opt == "--days")
      days = k_cli.count(val, opt, 1, 100'000);
    else if (opt == "--batch")
      batch = k_cli.count(val, opt, 1, max);
    else if (opt == "--seed")
      seed = k_cli.count(val, opt, 0, max);
    else if (opt == "--measure-record")
      measure = k_cli.count(val, opt, 0, max);
    else
      k_cli.unknown(opt);
  }

  try {
    auto env = mlops::config::process_env();
    if (!mlops::workspace::is_workspace(dir)) mlops::workspace::init(dir, mlops::workspace::InitOptions{}, env);
    mlops::workspace::Workspace ws(mlops::workspace::locate(dir, env), env);
    auto& db = ws.db();
    cost::Ledger ledger(db);
    CallMaker maker(static_cast<std::uint64_t>(seed));
    const std::int64_t now = mlops::util::now_ns() / 1000000;
    const std::int64_t span = days * cost::k_day_ms;
    const std::int64_t start = now - span;

    auto t0 = Clock::now();
    for (long long done = 0; done < rows;) {
      long long n = std::min(batch, rows - done);
      std::vector<cost::CallRecord> calls;
      calls.reserve(static_cast<std::size_t>(n));
      for (long long i = 0; i < n; ++i)
        calls.push_back(maker.make(start + static_cast<std::int64_t>(static_cast<double>(done + i) /
                                                                     static_cast<double>(rows) * static_cast<double>(span))));
      ledger.record_batch(calls);
      done += n;
      if (!quiet && (done % (rows / 10 > 0 ? rows / 10 : 1) < n || done == rows)) {
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        std::printf("  %3lld%%  %lld rows  %.1f s\n", done * 100 / rows, done, s);
        std::fflush(stdout);
      }
    }
    double total = std::chrono::duration<double>(Clock::now() - t0).count();
    if (rows > 0)
      std::printf("seeded %lld rows over %lld days in %.1f s (%.2f us/row, %lld rows per transaction)\n", rows, days,
                  total, total * 1e6 / static_cast<double>(rows), batch);

    if (measure > 0) {
      std::vector<double> us;
      for (long long i = 0; i < measure; ++i) {
        auto call = maker.make(mlops::util::now_ns() / 1000000);
        auto t = Clock::now();
        ledger.record(call);
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
      }
      std::sort(us.begin(), us.end());
      std::printf("Ledger::record, one transaction per call: median %.1f us, p90 %.1f us over %lld calls\n",
                  us[us.size() / 2], us[us.size() * 9 / 10], measure);
    }
  } catch (const mlops::Error& e) {
    std::cerr << "mlops-cost-seed: error: " << e.what() << "\n";
    if (!e.hint().empty()) std::cerr << "hint: " << e.hint() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "mlops-cost-seed: error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
