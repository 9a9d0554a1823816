// mlops-llm-overhead: CPU time the LLM client spends per call, against a server
// that answers at once (bench/instant_llm.cpp), for bench/run-llm-overhead.
//
//   mlops-llm-overhead --url http://127.0.0.1:PORT [--calls N] [--rounds R]
//                      [--warmup W] [--concurrency C] [--dir DIR] [--json FILE]
//                      [--max-us US] [--only KEY,...]
//
// Measures, in this one process, each path over N calls (default 20,000), in R
// rounds (default 5) of N/R calls; each round runs every path once, in this order:
//   transport_run      llm::Transport::run over pre-built OpenAI requests, C in flight
//   transport_send     llm::Transport::send, one request at a time
//   client_call_many   llm::Client::call_many with new prompts, cache off: provider
//                      build and parse, budget check, pricing, ledger rows, GenAI
//                      spans, and the span write (Tracer::flush) at the end
//   client_call        llm::Client::call, one job at a time, cache off
//   client_cache_miss  call_many with the cache on, every prompt new (lookups and puts)
//   client_cache_hit   call_many of the same jobs again: every answer from the cache
// W warm-up calls (default 500) through the same paths come first and are not
// counted. The workspace database is a real state.db (store::Db, schema applied)
// in DIR or a temporary directory, and it grows through the run as a workspace
// does. CPU per call is getrusage(RUSAGE_SELF) (user + sys, all threads); the
// headline is the median of the rounds, with the best round and the mean over all
// calls beside it. Also reported: the calling thread's CPU clock, wall-clock calls
// per second, and how long the thread waited for a CPU (the run queue, from
// /proc/thread-self/schedstat; high on a busy machine). One-time set-up (loading
// libcurl, creating the database, the first connection) is timed apart and not in
// the per-call figures. A fixed JSON workload is timed before and after
// ("calibration") to show how much a busy machine inflated the run. --max-us
// checks the median of the three call_many paths against a target: exit 1 when
// one is over it. Exit 3 when any call fails. --only runs only the paths with
// those keys, for profiling one of them.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "llm/curl_api.hpp"
#include "llm/service.hpp"
#include "store/db.hpp"
#include "trace/trace.hpp"
#include "util/error.hpp"

namespace {

namespace fs = std::filesystem;
namespace llm = mlops::llm;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* k_usage =
    "usage: mlops-llm-overhead --url http://127.0.0.1:PORT [--calls N] [--rounds R] [--warmup W]\n"
    "                          [--concurrency C] [--dir DIR] [--json FILE] [--max-us US] [--only KEY,...]\n";

[[noreturn]] void die(const std::string& msg, int code = 2) {
  std::cerr << "mlops-llm-overhead: " << msg << "\n";
  std::exit(code);
}

long count_arg(const std::string& s, const std::string& opt, long min) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min || v > 100'000'000) die("bad value for " + opt + ": " + s);
  return v;
}

// CPU and wall time at one instant.
struct Snapshot {
  double process_us = 0;  // getrusage(RUSAGE_SELF): user + sys of every thread
  double thread_us = 0;   // CLOCK_THREAD_CPUTIME_ID of the calling thread
  double runq_us = 0;     // time the calling thread waited for a CPU (/proc/thread-self/schedstat)
  Clock::time_point wall;
  static Snapshot now() {
    Snapshot s;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    s.process_us = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                   static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    s.thread_us = static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
    if (std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r")) {
      unsigned long long on_cpu = 0, waiting = 0;
      if (std::fscanf(f, "%llu %llu", &on_cpu, &waiting) == 2) s.runq_us = static_cast<double>(waiting) / 1e3;
      std::fclose(f);
    }
    s.wall = Clock::now();
    return s;
  }
};

struct Span {
  double process_us, thread_us, runq_us, wall_ms;
};
Span since(const Snapshot& a) {
  Snapshot b = Snapshot::now();
  return {b.process_us - a.process_us, b.thread_us - a.thread_us, b.runq_us - a.runq_us,
          std::chrono::duration<double, std::milli>(b.wall - a.wall).count()};
}

struct Row {
  std::string key, label;
  bool target = false;  // one of the paths --max-us checks
  long calls = 0;
  Span total{};
  double flush_us = 0;             // of which: the span writes at the end of each round (process CPU)
  std::vector<double> round_cpu;   // process CPU µs per call, one entry per round
  double median_cpu() const {
    std::vector<double> v = round_cpu;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double min_cpu() const { return *std::min_element(round_cpu.begin(), round_cpu.end()); }
  double cpu_us() const { return total.process_us / static_cast<double>(calls); }
  double thread_us() const { return total.thread_us / static_cast<double>(calls); }
  double per_s() const { return static_cast<double>(calls) / (total.wall_ms / 1000); }
};

// A short chat prompt, different for every i and every tag.
llm::ChatRequest request(const std::string& tag, long i) {
  llm::ChatRequest rq;
  rq.messages = {{"system", "You are a concise assistant. Answer in one sentence."},
                 {"user", "Question " + tag + "-" + std::to_string(i) + ": what is the capital of France?"}};
  rq.temperature = 0.0;
  rq.max_tokens = 64;
  return rq;
}

std::vector<llm::CallJob> jobs(const std::string& tag, long n) {
  std::vector<llm::CallJob> out(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    auto& j = out[static_cast<std::size_t>(i)];
    j.provider_id = "openai:gpt-4o-mini";
    j.request = request(tag, i);
    j.context.prompt = "bench-question";
    j.context.prompt_version = 1;
    j.context.eval_id = "bench-" + tag;
  }
  return out;
}

void expect_ok(const llm::CallResult& r, const std::string& what, bool hits) {
  if (!r.ok()) die(what + ": a call failed: " + r.error_message, 3);
  if (r.cache_hit != hits) die(what + (hits ? ": a call missed the cache" : ": a call hit the cache"), 3);
  if (r.response.text.empty() || r.response.usage.input_tokens == 0) die(what + ": an answer has no text or usage", 3);
}

// A fixed piece of CPU work (parse and dump a chat.completion body 5,000 times),
// timed at the start and the end: when it takes longer than on a quiet machine,
// the per-call figures are inflated by about as much (a busy machine evicts
// caches and preempts the benchmark).
double calibration_ms() {
  const std::string body =
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"The capital of France is Paris."},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":8,"total_tokens":27}})";
  Snapshot s = Snapshot::now();
  std::size_t n = 0;
  for (int i = 0; i < 5000; ++i) n += json::parse(body).dump().size();
  if (n == 0) std::abort();
  return since(s).thread_us / 1000;
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, json_path, dir_arg;
  long calls = 20'000, warmup = 500, concurrency = 16, rounds = 5;
  std::optional<double> max_us;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--url") url = value();
    else if (a == "--calls") calls = count_arg(value(), a, 1);
    else if (a == "--warmup") warmup = count_arg(value(), a, 0);
    else if (a == "--concurrency") concurrency = count_arg(value(), a, 1);
    else if (a == "--rounds") rounds = count_arg(value(), a, 1);
    else if (a == "--dir") dir_arg = value();
    else if (a == "--json") json_path = value();
    else if (a == "--max-us") max_us = static_cast<double>(count_arg(value(), a, 1));
    else if (a == "--only") only = "," + value() + ",";
    else if (a == "-h" || a == "--help") {
      std::cout << k_usage;
      return 0;
    } else die(std::string("unknown argument ") + a + "\n" + k_usage);
  }
  if (url.empty()) die(std::string("--url is required\n") + k_usage);
  if (calls < rounds) die("--calls must be at least --rounds");
  const long per_round = calls / rounds;
  auto wanted = [&](const std::string& key) { return only.empty() || only.find("," + key + ",") != std::string::npos; };
  while (!url.empty() && url.back() == '/') url.pop_back();

  fs::path dir = dir_arg;
  bool own_dir = dir_arg.empty();
  if (own_dir) {
    std::string tmpl = (fs::temp_directory_path() / "mlops-llm-overhead.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) die("cannot make a temporary directory", 3);
    dir = tmpl;
  }

  std::vector<Row> rows;  // in the order of first measurement
  json setup = json::object();
  double calibration_before = calibration_ms();
  int rc = 0;
  try {
    std::map<std::string, std::string> vars = {{"OPENAI_BASE_URL", url + "/v1"},
                                               {"OPENAI_API_KEY", "sk-bench-0000000000000000000000000000"}};
    mlops::config::EnvLookup env = [vars](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    mlops::config::Config cfg(std::nullopt, std::nullopt, env);
    llm::ClientOptions base = llm::client_options(cfg);
    base.transport.max_concurrency = static_cast<int>(concurrency);
    base.transport.max_retries = 0;  // a retry would hide a failure the benchmark must see

    auto setup_step = [&](const std::string& name, const std::function<void()>& fn) {
      Snapshot s = Snapshot::now();
      fn();
      Span d = since(s);
      setup[name] = {{"wall_ms", d.wall_ms}, {"cpu_ms", d.process_us / 1000}};
    };
    setup_step("load_libcurl", [] { llm::curl(); });
    std::optional<mlops::store::Db> db;
    setup_step("create_state_db", [&] { db.emplace(dir / "state.db", mlops::store::Db::Mode::create); });

    auto row = [&](const std::string& key, const std::string& label, bool target) -> Row& {
      for (auto& r : rows)
        if (r.key == key) return r;
      rows.push_back(Row{key, label, target, 0, {}, 0, {}});
      return rows.back();
    };
    auto measure = [&](Row& r, long n, const std::function<void()>& fn) {
      Snapshot s = Snapshot::now();
      fn();
      Span d = since(s);
      r.calls += n;
      r.total.process_us += d.process_us;
      r.total.thread_us += d.thread_us;
      r.total.runq_us += d.runq_us;
      r.total.wall_ms += d.wall_ms;
      r.round_cpu.push_back(d.process_us / static_cast<double>(n));
    };

    // ---- set-up: the transport's requests are built beforehand by the OpenAI provider
    auto settings = llm::provider_settings("openai", cfg, env);
    auto provider = llm::make_provider(settings, env);
    auto build = [&](const std::string& tag, long n) {
      std::vector<llm::HttpRequest> out;
      out.reserve(static_cast<std::size_t>(n));
      for (long i = 0; i < n; ++i) out.push_back(provider->build(request(tag, i)));
      return out;
    };
    llm::Transport t(base.transport);
    long ok = 0;
    auto count = [&](std::size_t, llm::Outcome&& o) {
      if (o.error == llm::ErrorKind::none && o.response && !o.response->body.empty()) ++ok;
    };
    auto transport_warm = build("tw", std::max(warmup, 1L));
    setup_step("first_request", [&] { t.send(transport_warm.front()); });
    t.run(transport_warm, count);

    // Each measured client path gets its own Client and Tracer (built outside the
    // measurement), so its span write covers its own calls only.
    struct Session {
      mlops::trace::Tracer tracer;
      std::size_t root;
      llm::Client client;
      Session(mlops::store::Db& db, const mlops::config::Config& cfg, const mlops::config::EnvLookup& env,
              const llm::ClientOptions& o)
          : root(tracer.start("bench", std::nullopt, "internal")), client(db, cfg, env, tracer, root, {}, o) {}
    };
    llm::ClientOptions no_cache = base, with_cache = base;
    no_cache.use_cache = false;
    with_cache.use_cache = true;
    {  // warm-up: the same code paths, their own prompts, not measured
      Session w(*db, cfg, env, with_cache);
      auto warm = jobs("cw", warmup);
      if (warmup > 0) {
        w.client.call_many(warm);
        w.client.call_many(warm);
        for (long i = 0; i < std::min(warmup, 50L); ++i) w.client.call(warm[static_cast<std::size_t>(i)]);
      }
      w.tracer.flush(*db);
    }
    auto client_row = [&](const std::string& key, const std::string& label, const llm::ClientOptions& o,
                          const std::vector<llm::CallJob>& js, bool sequential, bool hits) {
      if (!wanted(key)) return;
      std::optional<Session> s;
      s.emplace(*db, cfg, env, o);
      Row& r = row(key, label, !sequential);
      measure(r, static_cast<long>(js.size()), [&] {
        if (sequential) {
          for (const auto& j : js) expect_ok(s->client.call(j), label, hits);
        } else {
          for (const auto& res : s->client.call_many(js)) expect_ok(res, label, hits);
        }
        Snapshot f = Snapshot::now();
        s->tracer.end(s->root, mlops::trace::Status::ok);
        s->tracer.flush(*db);
        r.flush_us += since(f).process_us;
      });
    };

    // ---- the rounds: every path once per round, in the same order, so a burst of
    // load elsewhere on the machine lands in one round of each rather than in one path.
    for (long round = 0; round < rounds; ++round) {
      std::string n = std::to_string(round);
      if (wanted("transport_run") || wanted("transport_send")) {
        auto reqs = build("t" + n, per_round);
        if (wanted("transport_run")) {
          ok = 0;
          measure(row("transport_run", "transport run(), " + std::to_string(concurrency) + " in flight", false),
                  per_round, [&] { t.run(reqs, count); });
          if (ok != per_round) die("transport run: " + std::to_string(per_round - ok) + " calls failed", 3);
        }
        if (wanted("transport_send")) {
          ok = 0;
          measure(row("transport_send", "transport send(), sequential", false), per_round, [&] {
            for (const auto& r : reqs) count(0, t.send(r));
          });
          if (ok != per_round) die("transport send: " + std::to_string(per_round - ok) + " calls failed", 3);
        }
      }
      client_row("client_call_many", "client call_many(), cache off", no_cache, jobs("a" + n, per_round), false, false);
      client_row("client_call", "client call(), sequential, cache off", no_cache, jobs("b" + n, per_round), true, false);
      auto cached = jobs("c" + n, per_round);
      client_row("client_cache_miss", "client call_many(), cache on, all misses", with_cache, cached, false, false);
      if (!wanted("client_cache_miss") && wanted("client_cache_hit")) {  // fill the cache, unmeasured
        Session fill(*db, cfg, env, with_cache);
        fill.client.call_many(cached);
      }
      client_row("client_cache_hit", "client call_many(), cache on, all hits", with_cache, cached, false, true);
    }
    setup["state_db_bytes"] = fs::file_size(dir / "state.db");
  } catch (const mlops::Error& e) {
    std::cerr << "mlops-llm-overhead: " << e.what() << (e.hint().empty() ? "" : "\n  hint: " + e.hint()) << "\n";
    rc = 3;
  }
  if (own_dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  if (rc) return rc;
  double calibration_after = calibration_ms();

  std::printf("%-42s %6s %11s %8s %8s %9s %8s %7s %10s\n", "path", "calls", "us CPU/call", "min", "mean",
              "thread us", "calls/s", "wall s", "CPU wait s");
  json out_rows = json::array();
  std::vector<std::string> missed;
  for (const auto& r : rows) {
    std::printf("%-42s %6ld %11s %8s %8s %9s %8s %7s %10s\n", r.label.c_str(), r.calls, fmt(r.median_cpu(), 1).c_str(),
                fmt(r.min_cpu(), 1).c_str(), fmt(r.cpu_us(), 1).c_str(), fmt(r.thread_us(), 1).c_str(),
                fmt(r.per_s(), 0).c_str(), fmt(r.total.wall_ms / 1000, 2).c_str(), fmt(r.total.runq_us / 1e6, 2).c_str());
    json j = {{"key", r.key},
              {"label", r.label},
              {"calls", r.calls},
              {"cpu_us_per_call", r.median_cpu()},
              {"cpu_us_per_call_min", r.min_cpu()},
              {"cpu_us_per_call_mean", r.cpu_us()},
              {"cpu_us_per_call_rounds", r.round_cpu},
              {"thread_cpu_us_per_call", r.thread_us()},
              {"calls_per_s", r.per_s()},
              {"wall_s", r.total.wall_ms / 1000},
              {"cpu_wait_s", r.total.runq_us / 1e6},
              {"target", r.target}};
    if (r.key.rfind("client_", 0) == 0) j["span_flush_us_per_call"] = r.flush_us / static_cast<double>(r.calls);
    out_rows.push_back(j);
    if (max_us && r.target && r.median_cpu() > *max_us)
      missed.push_back(r.label + ": " + fmt(r.median_cpu(), 1) + " us");
  }
  std::printf("us CPU/call is the median over %ld rounds of %ld calls; min is the best round, mean is over all calls\n",
              rounds, per_round);
  std::printf("set-up (not in the figures above):");
  for (const auto& [k, v] : setup.items())
    if (v.is_object()) std::printf(" %s %.2f ms;", k.c_str(), v["wall_ms"].get<double>());
  std::printf("\n");
  std::printf("calibration: %.1f ms CPU before, %.1f ms after (a fixed JSON workload; higher on a busy machine)\n",
              calibration_before, calibration_after);
  for (const auto& r : rows)
    if (r.key.rfind("client_", 0) == 0)
      std::printf("  %s: of which span write %.1f us/call\n", r.label.c_str(), r.flush_us / static_cast<double>(r.calls));

  if (!json_path.empty()) {
    json doc = {{"url", url}, {"calls", calls}, {"rounds", rounds}, {"warmup", warmup}, {"concurrency", concurrency},
                {"rows", out_rows}, {"setup", setup},
                {"calibration_ms", {calibration_before, calibration_after}}};
    if (max_us) doc["max_us"] = *max_us;
    std::ofstream(json_path) << doc.dump(2) << "\n";
  }
  if (max_us) {
    for (const auto& m : missed) std::printf("FAIL over %.0f us CPU per call: %s\n", *max_us, m.c_str());
    if (!missed.empty()) return 1;
    std::printf("ok: every call_many path within %.0f us CPU per call\n", *max_us);
  }
  return 0;
}
