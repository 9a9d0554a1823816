// experiment run CONFIG (kind: ab) and experiment show RUN for prompt A/B runs.
// Kept apart from cmd_experiment.cpp so `experiment run/show` can dispatch
// between A/B runs and training runs (cli/experiment_ab.hpp).
#include <unistd.h>

#include <fmt/format.h>

#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/experiment_ab.hpp"
#include "cli/output.hpp"
#include "cli/prompt_args.hpp"
#include "eval/suite.hpp"
#include "experiment/report.hpp"
#include "experiment/runner.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace mlops::cli {

using nlohmann::json;

namespace {

void write_reports(const json& doc, const AbReportArgs& r) {
  write_report_file(r.markdown, [&](std::ostream& os) { experiment::write_markdown(doc, os); });
  write_report_file(r.html, [&](std::ostream& os) { experiment::write_html(doc, os); });
}

const json* comparison_for(const json& metric, const std::string& arm) {
  if (!metric.contains("comparisons")) return nullptr;
  for (const auto& c : metric.at("comparisons"))
    if (c.value("variant", std::string()) == arm) return &c;
  return nullptr;
}

std::string diff_cell(const json& c, bool pct) {
  const json& d = c.value("difference", json(nullptr));
  if (!d.is_object() || !d["value"].is_number()) return "–";
  double v = d["value"].get<double>();
  return (pct ? fmt::format("{:+.1f}pp", v * 100) : fmt::format("{:+.4g}", v)) + " " +
         experiment::format_interval(d.value("ci", json(nullptr)), pct);
}

// At most `max` bytes of a label, cut on a UTF-8 character boundary.
std::string shorten(const std::string& s, std::size_t max = 40) {
  if (s.size() <= max) return s;
  std::size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

void print_run(std::ostream& os, const json& doc, bool color) {
  std::string mode = doc.value("paired", false) ? "paired" : "split";
  os << bold("A/B experiment " + doc.value("name", std::string()), color) << "  run " << doc.value("id", std::string())
     << "  " << doc.value("status", std::string()) << "  (" << mode << ", confidence "
     << experiment::format_value(doc.value("confidence", json(nullptr)), true) << ")\n\n";
  Table arms({"ARM", "ROLE", "PROMPT", "PROVIDER", "SHARE", "UNITS", "ERRORS", "CACHED", "COST"});
  for (const auto& a : doc.value("arms", json::array()))
    arms.add({a.value("name", std::string()), a.value("role", std::string()),
              shorten(a.value("prompt_ref", json(nullptr)).is_string() ? a["prompt_ref"].get<std::string>()
                                                                       : a.value("prompt", std::string())),
              a.value("provider", std::string()), experiment::format_value(a.value("share", json(nullptr)), true),
              std::to_string(a.value("observed", 0)), std::to_string(a.value("errors", 0)),
              std::to_string(a.value("cache_hits", 0)), experiment::format_cost(a)});
  arms.print(os, color);
  for (const auto& m : doc.value("metrics", json::array())) {
    bool pct = m.value("kind", std::string()) == "binary";
    os << "\n"
       << bold(m.value("name", std::string()), color) << (m.value("primary", false) ? " (primary, " : " (")
       << m.value("direction", std::string()) << " is better)\n";
    Table t({"ARM", "N", "MEAN", "INTERVAL", "DIFFERENCE", "P", "ADJ P", "EFFECT"});
    for (const auto& a : m.value("arms", json::array())) {
      std::string name = a.value("arm", std::string());
      const json* c = comparison_for(m, name);
      std::string effect = "";
      if (c && (*c)["effect_size"].is_object())
        effect = fmt::format("{}={:+.3f}", (*c)["effect_size"].value("name", std::string()) == "cohens_h" ? "h" : "d",
                             (*c)["effect_size"].value("value", 0.0));
      t.add({name, std::to_string(a.value("n", 0)), experiment::format_value(a["mean"], pct),
             experiment::format_interval(a["ci"], pct), c ? diff_cell(*c, pct) : "",
             c ? experiment::format_p((*c)["p_value"]) : "", c ? experiment::format_p((*c)["adjusted_p_value"]) : "",
             effect});
    }
    t.print(os, color);
  }
  const json& srm = doc.value("srm", json(nullptr));
  if (srm.is_object() && srm.value("applicable", false))
    os << "\nsample ratio: chi-square " << experiment::format_value(srm["chi_square"], false) << ", p "
       << experiment::format_p(srm["p_value"])
       << (srm.value("mismatch", false) ? red(" mismatch", color) : std::string(" ok")) << "\n";
  const json& d = doc.value("decision", json(nullptr));
  os << "\n";
  if (!d.is_object()) {
    os << bold("no verdict", color) << " (the run is " << doc.value("status", std::string()) << ")\n";
    return;
  }
  if (d["winner"].is_string())
    os << green(bold("winner: " + d["winner"].get<std::string>(), color), color) << "\n";
  else
    os << yellow(bold("no decision", color), color) << "\n";
  for (const auto& r : d.value("reasons", json::array())) os << "  - " << r.get<std::string>() << "\n";
}

}  // namespace

bool is_ab_run(Context& ctx, const std::string& ref) {
  try {
    experiment::AbRuns(ctx.ws().db()).get(ref);
    return true;
  } catch (const NotFoundError&) {
    return false;
  }
}

int show_ab_run(Context& ctx, const std::string& ref, const AbReportArgs& reports) {
  auto run = experiment::AbRuns(ctx.ws().db()).get(ref);
  json doc = experiment::to_json(run);
  write_reports(doc, reports);
  emit(ctx, doc, [&](std::ostream& os, bool color) { print_run(os, doc, color); });
  return 0;
}

int run_ab_experiment(Context& ctx, const AbRunArgs& a) {
  auto& ws = ctx.ws();
  auto cfg_ab = experiment::load_ab_config(a.config);
  // Every test is read and placed before anything is sent.
  auto plan = experiment::assign(cfg_ab);
  write_report_file(a.assignments,
             [&](std::ostream& os) { os << experiment::assignments_json(cfg_ab, plan).dump(1) << "\n"; });

  auto& cfg = ctx.config();
  int jobs = a.jobs.value_or(cfg_ab.suite.options.concurrency);
  cfg.set_flag("llm.concurrency", std::to_string(jobs), "-j");
  if (a.no_cache || !cfg_ab.suite.options.cache) cfg.set_flag("llm.cache.enabled", "false", "--no-cache");
  if (a.max_retries) cfg.set_flag("llm.max_retries", std::to_string(*a.max_retries), "--max-retries");
  if (!a.timeout.empty())
    cfg.set_flag("llm.timeout", a.timeout, "--timeout");
  else if (cfg_ab.suite.options.timeout)
    cfg.set_flag("llm.timeout", *cfg_ab.suite.options.timeout, "options.timeout");
  auto copts = llm::client_options(cfg);
  copts.flush_batch = 1;  // every finished call is durable: a killed run resumes from the cache
  llm::Client client(ws.db(), cfg, ctx.env, ctx.tracer(), ctx.root_span,
                     {ws.paths().overrides(), config::user_config_path(ctx.env).parent_path() / "templates"}, copts);
  experiment::AbRunOptions ro;
  ro.actor = ws.author().name;
  ro.trace_id = ctx.tracer().trace_id();
  ro.grader = eval::normalize_provider_id(!a.grader.empty() ? a.grader : cfg.get_or("eval.grader", ""));
  eval::check_graders(cfg_ab.suite, ro.grader);
  ro.chunk = std::max<std::size_t>(512, static_cast<std::size_t>(jobs) * 8);
  bool tty = isatty(STDERR_FILENO) && !ctx.opts.quiet;
  auto names = cfg_ab.arms();
  ro.on_progress = [&](std::size_t arm, const eval::Progress& p) {
    if (!tty) return;
    std::cerr << "\r\033[K" << names[arm]->name << ": " << p.done << " done · " << p.passed << " passed · " << p.errors
              << " errors" << std::flush;
  };
  auto prompts = store_of(ctx);
  auto run = experiment::run_ab(cfg_ab, plan, ro, client, cfg, ctx.env, ws.db(), &prompts);
  if (tty) std::cerr << "\r\033[K";
  for (const auto& n : client.notices())
    if (!ctx.opts.quiet) std::cerr << "mlopsctl: warning: " << n << "\n";

  // Read back what was stored, so the output is exactly what show prints.
  run = experiment::AbRuns(ws.db()).get(run.id);
  json doc = experiment::to_json(run);
  write_reports(doc, a.reports);
  write_report_file(a.json_out, [&](std::ostream& os) { os << doc.dump(2) << "\n"; });

  emit(ctx, doc, [&](std::ostream& os, bool color) {
    if (ctx.opts.quiet) return;
    print_run(os, doc, color);
  });
  // After the summary: a refused promotion (a protected environment, an inline
  // prompt) fails the command but the result is already shown and stored.
  std::optional<prompt::Event> promoted;
  if (!a.promote_env.empty() && run.winner)
    promoted = experiment::promote_winner(run, a.promote_env, prompts, protected_envs(ctx), ws.author(),
                                          ctx.tracer().trace_id());
  if (promoted && !ctx.opts.quiet)
    std::cerr << "mlopsctl: promoted " << promoted->name << " v" << promoted->to << " to " << a.promote_env
              << (promoted->from ? " (was v" + *promoted->from + ")" : "") << "\n";
  if (!a.promote_env.empty() && !run.winner && !ctx.opts.quiet)
    std::cerr << "mlopsctl: no winner: label " << a.promote_env << " left where it was\n";
  if (a.fail_on_no_decision && !run.winner) {
    std::cerr << "mlopsctl: experiment " << run.name << ": no decision (--fail-on-no-decision)\n";
    return 1;
  }
  return 0;
}

}  // namespace mlops::cli
