// eval run / list / show / compare / history.
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/prompt_args.hpp"
#include "eval/html_report.hpp"
#include "eval/report.hpp"
#include "eval/runner.hpp"
#include "eval/similar.hpp"
#include "llm/transport.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"
#include "util/lock.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

struct EvalArgs {
  std::string config;
  std::optional<int> jobs;
  std::optional<int> repeat;
  bool no_cache = false;
  std::string filter;
  std::optional<double> pass_threshold;
  std::string baseline;
  double tolerance = 0.0;
  std::string name;
  std::string grader;
  std::string embedding_provider;
  std::string json_out, jsonl_out, csv_out, junit_out, markdown_out, html_out;
  bool lock = false;
  std::string notify;
  std::optional<int> max_retries;
  std::string timeout;
  // show / compare / history / list
  std::string run_a, run_b;
  bool failures = false;
  std::size_t limit = 20;
};

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v * 100);
  return buf;
}

std::string money(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v > 0 && v < 0.01 ? "$%.6f" : "$%.4f", v);
  return buf;
}


std::string when(std::int64_t ms) { return util::format_rfc3339(ms * 1'000'000).substr(0, 19) + "Z"; }

// Regressions against a baseline run: pass rate and each named metric.
std::vector<std::string> regressions(const eval::RunInfo& cur, const eval::RunInfo& base, double tolerance) {
  std::vector<std::string> out;
  if (cur.pass_rate() < base.pass_rate() - tolerance - 1e-12)
    out.push_back("pass rate " + pct(cur.pass_rate()) + " < baseline " + pct(base.pass_rate()) + " (run " + base.id +
                  ")");
  const auto& cm = cur.summary.value("metrics", nlohmann::json::object());
  const auto& bm = base.summary.value("metrics", nlohmann::json::object());
  for (const auto& [name, b] : bm.items()) {
    if (!cm.contains(name)) continue;
    double c = cm[name].value("mean", 0.0), bv = b.value("mean", 0.0);
    if (c < bv - tolerance - 1e-12)
      out.push_back("metric " + name + " " + std::to_string(c).substr(0, 6) + " < baseline " +
                    std::to_string(bv).substr(0, 6));
  }
  return out;
}

void print_summary(std::ostream& os, const eval::RunInfo& run, bool color) {
  Table t({"PROMPT", "PROVIDER", "PASS RATE", "PASSED", "FAILED", "ERRORS", "LATENCY", "COST"});
  const nlohmann::json variants = run.summary.value("variants", nlohmann::json::array());
  const nlohmann::json metrics = run.summary.value("metrics", nlohmann::json::object());
  const nlohmann::json lat = run.summary.value("latency_ms", nlohmann::json::object());
  for (const auto& v : variants) {
    std::int64_t total = v.value("total", 0), passed = v.value("passed", 0), errors = v.value("errors", 0);
    std::string rate = pct(v.value("pass_rate", 0.0));
    t.add({v.value("prompt", ""), v.value("provider", ""),
           passed == total ? green(rate, color) : red(rate, color), std::to_string(passed),
           std::to_string(total - passed - errors), std::to_string(errors),
           std::to_string(static_cast<long>(v.value("mean_latency_ms", 0.0))) + " ms",
           money(v.value("cost_usd", 0.0)) + (v.value("unknown_cost_calls", 0) ? " + unknown" : "")});
  }
  t.print(os, color);
  os << "\n";
  std::string verdict = std::to_string(run.passed) + "/" + std::to_string(run.total) + " passed (" +
                        pct(run.pass_rate()) + ")";
  os << bold(verdict, color);
  if (run.failed) os << ", " << run.failed << " failed";
  if (run.errors) os << ", " << run.errors << " errors";
  os << "  ·  p50 " << static_cast<long>(lat.value("p50", 0.0)) << " ms, p95 " << static_cast<long>(lat.value("p95", 0.0))
     << " ms  ·  " << money(run.summary.value("cost_usd", 0.0));
  if (run.summary.value("unknown_cost_calls", 0)) os << " + " << run.summary.value("unknown_cost_calls", 0) << " at unknown price";
  os << "  ·  " << run.summary.value("cache_hits", 0) << " cached\n";
  for (const auto& [name, m] : metrics.items())
    os << "metric " << name << ": " << std::to_string(m.value("mean", 0.0)).substr(0, 6) << " over "
       << m.value("count", 0) << "\n";
  os << "run " << run.id << (run.name ? " (" + *run.name + ")" : "") << "\n";
}

int run_eval(Context& ctx, EvalArgs& a) {
  auto& ws = ctx.ws();
  std::unique_ptr<util::FileLock> lock;
  if (a.lock) {
    // Keyed on the name, or on the suite's real path (./x.yaml and x.yaml are one suite).
    std::error_code ec;
    auto real = std::filesystem::weakly_canonical(a.config, ec);
    std::string key = a.name.empty() ? (ec ? a.config : real.string()) : a.name;
    std::string lock_name = "eval-" + util::sha256_hex(key).substr(0, 16) + ".lock";
    lock = util::FileLock::try_lock(ws.paths().state_dir() / lock_name);
    if (!lock) {
      if (!ctx.opts.quiet) std::cerr << "mlopsctl: another eval run" << (a.name.empty() ? "" : " '" + a.name + "'")
                                     << " is still going; skipping this one (--lock)\n";
      return 0;
    }
  }
  auto suite = eval::load_suite(a.config);
  // Read every test file once before anything is sent: a bad row or an unsupported
  // assertion in test 90,000 must not surface after 89,999 paid calls.
  auto& cfg = ctx.config();
  std::string embedder = eval::normalize_embedding_provider_id(
      !a.embedding_provider.empty() ? a.embedding_provider : cfg.get_or("eval.embedding_provider", ""));
  std::int64_t test_count = 0;
  std::set<std::string> embedders;  // checked once the client exists, before any call
  eval::for_each_test(suite, [&](eval::TestCase&& t) {
    ++test_count;
    for (const auto& as : t.asserts)
      if (as.type == "similar")
        embedders.insert(eval::normalize_embedding_provider_id(eval::embedding_provider_for(as, embedder)));
    return true;
  });
  int jobs = a.jobs.value_or(suite.options.concurrency);
  if (jobs < 1) throw UsageError("-j must be at least 1");
  cfg.set_flag("llm.concurrency", std::to_string(jobs), "-j");
  if (a.no_cache || !suite.options.cache) cfg.set_flag("llm.cache.enabled", "false", "--no-cache");
  if (a.max_retries) cfg.set_flag("llm.max_retries", std::to_string(*a.max_retries), "--max-retries");
  if (!a.timeout.empty()) cfg.set_flag("llm.timeout", a.timeout, "--timeout");
  else if (suite.options.timeout) cfg.set_flag("llm.timeout", *suite.options.timeout, "options.timeout");
  auto copts = llm::client_options(cfg);
  // Every answer reaches the cache before the transport waits on the network again
  // (one transaction for the answers that landed together, not one per call): a
  // killed run resumes from the cache and resends only the calls in flight.
  copts.flush_batch = 512;
  copts.flush_interval = std::chrono::milliseconds(0);
  llm::Client client(ws.db(), cfg, ctx.env, ctx.tracer(), ctx.root_span,
                     {ws.paths().overrides(), config::user_config_path(ctx.env).parent_path() / "templates"}, copts);
  eval::register_suite_providers(suite, client, cfg, ctx.env);  // also rejects unknown providers up front
  for (const auto& e : embedders) client.check_embedder(e);

  eval::RunOptions ro;
  if (!a.name.empty()) ro.name = a.name;
  ro.repeat = a.repeat.value_or(suite.options.repeat);
  ro.filter = a.filter;
  ro.grader = eval::normalize_provider_id(!a.grader.empty() ? a.grader : cfg.get_or("eval.grader", ""));
  eval::check_graders(suite, ro.grader);
  ro.embedding_provider = embedder;
  ro.actor = ws.author().name;
  ro.trace_id = ctx.tracer().trace_id();
  ro.chunk = std::max<std::size_t>(512, static_cast<std::size_t>(jobs) * 8);

  bool tty = isatty(STDERR_FILENO) && !ctx.opts.quiet;
  auto started = std::chrono::steady_clock::now();
  auto progress = [&](const eval::Progress& p) {
    if (!tty) return;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "\r\033[K" << p.done << " done (" << test_count << " tests) · " << p.passed << " passed · " << p.failed << " failed · "
              << p.errors << " errors · " << static_cast<long>(secs > 0 ? p.done / secs : 0) << "/s" << std::flush;
  };
  eval::Results results(ws.db());
  // The baseline is the run that exists now: `--name nightly --baseline nightly`
  // compares with the previous nightly, not with the run about to be made.
  std::optional<eval::RunInfo> base;
  if (!a.baseline.empty()) base = results.get(a.baseline);
  auto prompts = store_of(ctx);
  auto run = eval::run_suite(suite, ro, client, results, &prompts, progress);
  if (tty) std::cerr << "\r\033[K";
  for (const auto& n : client.notices())
    if (!ctx.opts.quiet) std::cerr << "mlopsctl: warning: " << n << "\n";

  // Gating.
  double threshold = a.pass_threshold.value_or(suite.options.pass_threshold.value_or(1.0));
  std::vector<std::string> reasons;
  if (run.total == 0) reasons.push_back("no tests ran" + std::string(a.filter.empty() ? "" : " (--filter matched none)"));
  if (run.pass_rate() + 1e-12 < threshold)
    reasons.push_back("pass rate " + pct(run.pass_rate()) + " is under the threshold " + pct(threshold));
  if (base)
    for (auto& r : regressions(run, *base, a.tolerance)) reasons.push_back(r);
  run.summary["gate"] = {{"pass_threshold", threshold},
                         {"baseline", base ? nlohmann::json(base->id) : nlohmann::json(nullptr)},
                         {"passed", reasons.empty()},
                         {"reasons", reasons}};
  run.status = reasons.empty() ? "passed" : "failed";
  results.finish(run);

  write_report_file(a.json_out, [&](std::ostream& os) { eval::write_json(results, run, os); });
  write_report_file(a.jsonl_out, [&](std::ostream& os) { eval::write_jsonl(results, run, os); });
  write_report_file(a.csv_out, [&](std::ostream& os) { eval::write_csv(results, run, os); });
  write_report_file(a.junit_out, [&](std::ostream& os) { eval::write_junit(results, run, os); });
  write_report_file(a.markdown_out, [&](std::ostream& os) { eval::write_markdown(results, run, os); });
  write_report_file(a.html_out, [&](std::ostream& os) { eval::write_html(results, run, os); });
  if (ctx.env("GITHUB_ACTIONS").value_or("") == "true")  // keep a JSON document on stdout clean
    eval::write_github_annotations(results, run, ctx.format() == Format::table ? std::cout : std::cerr);

  if (!a.notify.empty() && !reasons.empty()) {
    std::string text = "mlopsctl eval" + (run.name ? " '" + *run.name + "'" : std::string()) + " failed: " +
                       std::to_string(run.passed) + "/" + std::to_string(run.total) + " passed (" +
                       pct(run.pass_rate()) + "). " + util::join(reasons, "; ") + ". Run " + run.id + ".";
    auto o = llm::post_json(a.notify, nlohmann::json{{"text", text}}.dump());
    if (o.error != llm::ErrorKind::none && !ctx.opts.quiet)
      std::cerr << "mlopsctl: warning: could not notify " << llm::url_host(a.notify) << ": "
                << (o.response ? "HTTP " + std::to_string(o.response->status) : o.message) << "\n";
  }

  emit(ctx, eval::to_json(run), [&](std::ostream& os, bool color) {
    if (ctx.opts.quiet) return;
    print_summary(os, run, color);
  });
  if (!reasons.empty()) {
    for (const auto& r : reasons) std::cerr << "mlopsctl: eval gate: " << r << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void add_eval_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<EvalArgs>();
  auto* ev = app.add_subcommand("eval", "Run evaluation suites that gate CI; promptfoo configs run unchanged");
  ev->require_subcommand(1);

  auto* run = ev->add_subcommand("run", "Run a suite: every test through every prompt and provider");
  run->add_option("-c,--config", a->config, "Suite file (mlopsctl eval YAML or promptfooconfig.yaml)")->required();
  run->add_option("-j,--jobs", a->jobs, "Calls in flight at once (default: the suite's options.concurrency, 8)")
      ->check(CLI::PositiveNumber);
  run->add_option("--repeat", a->repeat, "Run every test N times")->check(CLI::PositiveNumber);
  run->add_flag("--no-cache", a->no_cache, "Do not answer from or write to the response cache");
  run->add_option("--filter", a->filter, "Only tests whose description or vars match this regex");
  run->add_option("--pass-threshold", a->pass_threshold, "Fail (exit 1) under this pass rate, 0..1 (default 1.0)")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--baseline", a->baseline, "Fail when the pass rate or a metric regresses against this run or name");
  run->add_option("--tolerance", a->tolerance, "How far below the baseline still passes (default 0)")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--name", a->name, "Keep this run in a named history (eval history NAME)");
  run->add_option("--grader", a->grader, "Provider that grades llm-rubric assertions (eval.grader)");
  run->add_option("--embedding-provider", a->embedding_provider,
                  "Provider of embeddings for similar assertions (eval.embedding_provider)");
  run->add_option("--json", a->json_out, "Write the run and every result as JSON to FILE ('-' = stdout)");
  run->add_option("--jsonl", a->jsonl_out, "Write one JSON result per line to FILE");
  run->add_option("--csv", a->csv_out, "Write the results as CSV to FILE");
  run->add_option("--junit", a->junit_out, "Write JUnit XML to FILE for CI test reports");
  run->add_option("--markdown", a->markdown_out, "Write a Markdown summary to FILE for a pull-request comment");
  run->add_option("--html", a->html_out, "Write a self-contained HTML report (charts, filterable results) to FILE");
  run->add_flag("--lock", a->lock, "Exit quietly when a run with the same --name (or config) is still going");
  run->add_option("--notify", a->notify, "POST {\"text\": …} to this webhook when the gate fails");
  run->add_option("--max-retries", a->max_retries, "Retries per call on 429/5xx/timeouts")->check(CLI::NonNegativeNumber);
  run->add_option("--timeout", a->timeout, "Per-attempt timeout of each call, e.g. 30s");
  on_run(run, ctx, [&ctx, a] { return run_eval(ctx, *a); });

  auto* list = ev->add_subcommand("list", "List eval runs, newest first");
  list->add_option("--name", a->name, "Only runs with this --name");
  list->add_option("-n,--limit", a->limit, "Show at most N runs (0 = all)");
  on_run(list, ctx, [&ctx, a] {
    eval::Results results(ctx.ws().db());
    auto runs = results.list(a->limit, a->name.empty() ? std::nullopt : std::optional<std::string>(a->name));
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : runs) j.push_back(eval::to_json(r));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"RUN", "NAME", "STARTED", "STATUS", "PASSED", "TOTAL", "PASS RATE"});
      for (const auto& r : runs)
        t.add({r.id, r.name.value_or("-"), when(r.started_ms),
               r.status == "passed" ? green(r.status, color) : r.status == "failed" ? red(r.status, color) : r.status,
               std::to_string(r.passed), std::to_string(r.total), pct(r.pass_rate())});
      t.print(os, color);
    });
    return 0;
  });

  auto* show = ev->add_subcommand("show", "Show a run: summary and results");
  show->add_option("run", a->run_a, "Run id (or unique prefix) or --name of the newest such run")->required();
  show->add_flag("--failures", a->failures, "Only failed tests and errors");
  show->add_option("--html", a->html_out, "Write the run as a self-contained HTML report to FILE instead ('-' = stdout)");
  on_run(show, ctx, [&ctx, a] {
    eval::Results results(ctx.ws().db());
    auto run = results.get(a->run_a);
    if (!a->html_out.empty()) {
      write_report_file(a->html_out, [&](std::ostream& os) { eval::write_html(results, run, os); });
      if (a->html_out == "-") return 0;
      emit(ctx, nlohmann::json{{"run", run.id}, {"html", a->html_out}, {"results", run.total}}, [&](std::ostream& os, bool) {
        if (!ctx.opts.quiet) os << "wrote " << a->html_out << " (run " << run.id << ", " << run.total << " results)\n";
      });
      return 0;
    }
    nlohmann::json j = {{"run", eval::to_json(run)}, {"results", nlohmann::json::array()}};
    if (ctx.format() != Format::table)
      results.for_each(run.id, [&](const eval::ResultRow& r) { j["results"].push_back(eval::to_json(r)); return true; },
                       a->failures);
    emit(ctx, j, [&](std::ostream& os, bool color) {
      print_summary(os, run, color);
      os << "\n";
      Table t({"#", "TEST", "PROMPT", "PROVIDER", "RESULT", "SCORE", "LATENCY", "WHY"});
      results.for_each(
          run.id,
          [&](const eval::ResultRow& r) {
            std::string why = r.error.value_or("");
            for (const auto& x : r.assertions)
              if (!x.value("pass", false))
                why += (why.empty() ? "" : "; ") + x.value("type", std::string()) + ": " +
                       x.value("reason", std::string("failed"));
            if (why.size() > 100) why = why.substr(0, 100) + "…";
            std::string res = r.error ? red("ERROR", color) : r.pass ? green("PASS", color) : red("FAIL", color);
            t.add({std::to_string(r.idx), r.description.empty() ? std::to_string(r.test_idx) : r.description,
                   r.prompt.substr(0, 30), r.provider, res, std::to_string(r.score).substr(0, 4),
                   std::to_string(static_cast<long>(r.latency_ms)) + " ms", why});
            return true;
          },
          a->failures);
      t.print(os, color);
    });
    return 0;
  });

  auto* compare = ev->add_subcommand("compare", "What changed between two runs, test by test");
  compare->add_option("a", a->run_a, "The earlier run (id, prefix or name)")->required();
  compare->add_option("b", a->run_b, "The later run (id, prefix or name)")->required();
  on_run(compare, ctx, [&ctx, a] {
    eval::Results results(ctx.ws().db());
    auto ra = results.get(a->run_a), rb = results.get(a->run_b);
    std::map<std::string, std::pair<bool, double>> before;  // key → (pass, score)
    auto key = [](const eval::ResultRow& r) {
      return std::to_string(r.test_idx) + "\n" + std::to_string(r.repeat_idx) + "\n" + r.prompt + "\n" + r.provider;
    };
    results.for_each(ra.id, [&](const eval::ResultRow& r) {
      before[key(r)] = {r.pass && !r.error, r.score};
      return true;
    });
    nlohmann::json changes = nlohmann::json::array();
    std::int64_t fixed = 0, broke = 0, added = 0;
    results.for_each(rb.id, [&](const eval::ResultRow& r) {
      auto it = before.find(key(r));
      bool now = r.pass && !r.error;
      std::string change;
      if (it == before.end()) {
        change = "new";
        ++added;
      } else if (it->second.first && !now) {
        change = "regressed";
        ++broke;
      } else if (!it->second.first && now) {
        change = "fixed";
        ++fixed;
      }
      if (!change.empty())
        changes.push_back({{"change", change},
                           {"test", r.test_idx},
                           {"description", r.description},
                           {"prompt", r.prompt},
                           {"provider", r.provider},
                           {"before", it == before.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second.first)},
                           {"after", now},
                           {"output", r.output ? nlohmann::json(*r.output) : nlohmann::json(nullptr)}});
      return true;
    });
    nlohmann::json j = {{"a", eval::to_json(ra)},
                        {"b", eval::to_json(rb)},
                        {"pass_rate_delta", rb.pass_rate() - ra.pass_rate()},
                        {"regressed", broke},
                        {"fixed", fixed},
                        {"new", added},
                        {"changes", changes}};
    emit(ctx, j, [&](std::ostream& os, bool color) {
      os << ra.id << " → " << rb.id << ": pass rate " << pct(ra.pass_rate()) << " → " << pct(rb.pass_rate()) << " ("
         << (broke ? red(std::to_string(broke) + " regressed", color) : "0 regressed") << ", " << fixed << " fixed, "
         << added << " new)\n";
      if (changes.empty()) return;
      Table t({"CHANGE", "TEST", "PROMPT", "PROVIDER", "OUTPUT"});
      for (const auto& c : changes) {
        std::string out = c["output"].is_string() ? c["output"].get<std::string>() : "";
        for (auto& ch : out)
          if (ch == '\n') ch = ' ';
        if (out.size() > 60) out = out.substr(0, 60) + "…";
        std::string ch = c["change"];
        t.add({ch == "regressed" ? red(ch, color) : ch == "fixed" ? green(ch, color) : ch,
               c["description"].get<std::string>().empty() ? std::to_string(c["test"].get<std::int64_t>())
                                                           : c["description"].get<std::string>(),
               c["prompt"], c["provider"], out});
      }
      t.print(os, color);
    });
    return 0;
  });

  auto* history = ev->add_subcommand("history", "The trend of a named run (eval run --name NAME)");
  history->add_option("name", a->run_a, "The run name")->required();
  history->add_option("-n,--limit", a->limit, "Show at most N runs (0 = all)");
  on_run(history, ctx, [&ctx, a] {
    eval::Results results(ctx.ws().db());
    auto runs = results.list(a->limit, a->run_a);
    if (runs.empty())
      throw NotFoundError("no eval runs named '" + a->run_a + "'", "name a run with 'mlopsctl eval run --name NAME'");
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : runs) j.push_back(eval::to_json(r));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"RUN", "STARTED", "STATUS", "PASS RATE", "TREND", "COST"});
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i];
        std::string trend = "";
        if (i + 1 < runs.size()) {
          double d = r.pass_rate() - runs[i + 1].pass_rate();
          trend = std::abs(d) < 1e-12 ? "=" : d > 0 ? green("▲ " + pct(d), color) : red("▼ " + pct(-d), color);
        }
        t.add({r.id, when(r.started_ms), r.status, pct(r.pass_rate()), trend, money(r.summary.value("cost_usd", 0.0))});
      }
      t.print(os, color);
    });
    return 0;
  });
}

}  // namespace mlops::cli
