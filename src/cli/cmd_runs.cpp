// experiment list / runs / show / compare: reading tracked runs, registered on
// the experiment command (the A/B and training commands live in cmd_experiment.cpp).
#include <iostream>

#include "cli/commands.hpp"
#include "cli/experiment_ab.hpp"
#include "cli/output.hpp"
#include "cli/run_args.hpp"
#include "experiment/runs.hpp"
#include "runs/plot.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

struct ExperimentArgs {
  std::string experiment;
  std::string status;
  std::size_t limit = 0;
  std::string run;
  bool history = false;
  std::vector<std::string> refs;
  std::string compare_experiment;
  std::string output;
  std::string plot;
  std::vector<std::string> plot_metrics;
};

std::string duration(const runs::RunInfo& r) {
  if (!r.end_ms) return "-";
  double s = static_cast<double>(*r.end_ms - r.start_ms) / 1000.0;
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%.1fm", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1fh", s / 3600);
  return buf;
}

std::string status_cell(const std::string& s, bool color) {
  if (s == runs::k_finished) return green(s, color);
  if (s == runs::k_failed || s == runs::k_killed) return red(s, color);
  return yellow(s, color);
}

int experiment_list(Context& ctx) {
  auto list = runs_of(ctx).experiments();
  auto ab = experiment::AbRuns(ctx.ws().db()).experiments();
  auto iso = [](std::int64_t ms) { return util::format_rfc3339(ms * 1'000'000); };
  nlohmann::json j = nlohmann::json::array();
  for (const auto& e : list)
    j.push_back({{"name", e.name},
                 {"kind", "runs"},
                 {"runs", e.runs},
                 {"by_status", e.by_status},
                 {"created", iso(e.created_ms)},
                 {"last_run", e.last_start_ms ? nlohmann::json(iso(*e.last_start_ms)) : nlohmann::json(nullptr)}});
  // Prompt A/B experiments (experiment run with kind: ab) are listed too.
  for (const auto& e : ab)
    j.push_back({{"name", e.name},
                 {"kind", "ab"},
                 {"runs", e.runs},
                 {"by_status", e.by_status},
                 {"created", iso(e.first_ms)},
                 {"last_run", iso(e.last_ms)}});
  emit(ctx, j, [&](std::ostream& os, bool color) {
    if (j.empty()) {
      os << "no experiments yet: start a run with 'mlopsctl run start --experiment NAME'\n";
      return;
    }
    Table t({"EXPERIMENT", "KIND", "RUNS", "RUNNING", "FINISHED", "FAILED", "OTHER", "LAST RUN"});
    for (const auto& e : j) {
      const auto& st = e["by_status"];
      auto count = [&](const char* s) { return st.contains(s) ? st[s].get<std::int64_t>() : 0; };
      std::int64_t other = e["runs"].get<std::int64_t>() - count(runs::k_running) - count(runs::k_finished) -
                           count(runs::k_failed);
      std::string last = e["last_run"].is_null() ? "-" : e["last_run"].get<std::string>();
      if (last.size() >= 19) last = last.substr(0, 10) + " " + last.substr(11, 8);
      t.add({e["name"].get<std::string>(), e["kind"].get<std::string>(), std::to_string(e["runs"].get<std::int64_t>()),
             std::to_string(count(runs::k_running)), std::to_string(count(runs::k_finished)),
             std::to_string(count(runs::k_failed)), std::to_string(other), last});
    }
    t.print(os, color);
  });
  return 0;
}

int experiment_runs(Context& ctx, const ExperimentArgs& a) {
  runs::ListFilter f;
  if (!a.experiment.empty()) f.experiment = a.experiment;
  if (!a.status.empty()) f.status = a.status;
  f.limit = a.limit;
  auto store = runs_of(ctx);
  auto list = store.list(f);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : list) j.push_back(runs::to_json(r));
  emit(ctx, j, [&](std::ostream& os, bool color) {
    Table t({"RUN", "EXPERIMENT", "NAME", "STATUS", "STARTED", "DURATION", "USER"});
    for (const auto& r : list)
      t.add({r.id, r.experiment, r.name.empty() ? "-" : r.name, status_cell(r.status, color), short_time(r.start_ms),
             duration(r), r.user});
    if (t.empty())
      os << "no runs\n";
    else
      t.print(os, color);
  });
  return 0;
}

int experiment_show(Context& ctx, const ExperimentArgs& a) {
  auto store = runs_of(ctx);
  auto d = store.detail(a.run);
  nlohmann::json j = runs::to_json(d);
  std::map<std::string, std::vector<runs::Metric>> history;
  if (a.history) {
    history = store.all_metric_history(d.info.id);
    nlohmann::json h = nlohmann::json::object();
    for (const auto& [k, ms] : history) {
      auto& arr = h[k] = nlohmann::json::array();
      for (const auto& m : ms) arr.push_back({{"step", m.step}, {"value", m.value}, {"timestamp_ms", m.ts_ms}});
    }
    j["metric_history"] = h;
  }
  emit(ctx, j, [&](std::ostream& os, bool color) {
    const auto& r = d.info;
    std::vector<std::pair<std::string, std::string>> fields = {
        {"run", r.id},
        {"experiment", r.experiment},
        {"name", r.name.empty() ? "-" : r.name},
        {"status", status_cell(r.status, color) + (r.status_reason.empty() ? "" : " (" + r.status_reason + ")")},
        {"started", short_time(r.start_ms)},
        {"ended", r.end_ms ? short_time(*r.end_ms) + " (" + duration(r) + ")" : "-"},
        {"user", r.user + "@" + r.host},
        {"git commit", r.git_commit.value_or("-")},
        {"config sha256", r.config_sha256.value_or("-")},
        {"data sha256", r.data_sha256.value_or("-")},
        {"seed", r.seed ? std::to_string(*r.seed) : "-"},
        {"mlopsctl", r.mlopsctl_version},
    };
    print_fields(os, fields, color);
    if (!d.params.empty()) {
      os << "\n" << bold("params", color) << "\n";
      Table t({"KEY", "VALUE"});
      for (const auto& [k, v] : d.params) t.add({k, v});
      t.print(os, color);
    }
    if (!d.metrics.empty()) {
      os << "\n" << bold("metrics (latest)", color) << "\n";
      Table t({"KEY", "VALUE", "STEP"});
      for (const auto& [k, m] : d.metrics) t.add({k, number_text(m.value), std::to_string(m.step)});
      t.print(os, color);
    }
    if (!d.tags.empty()) {
      os << "\n" << bold("tags", color) << "\n";
      Table t({"KEY", "VALUE"});
      for (const auto& [k, v] : d.tags) t.add({k, v});
      t.print(os, color);
    }
    if (!d.artifacts.empty()) {
      os << "\n" << bold("artifacts", color) << "\n";
      Table t({"NAME", "SIZE", "SHA256"});
      for (const auto& art : d.artifacts) t.add({art.name, util::human_bytes(art.size), art.sha256.substr(0, 12)});
      t.print(os, color);
    }
    for (const auto& [k, ms] : history) {
      os << "\n" << bold("history of " + k, color) << "\n";
      Table t({"STEP", "VALUE"});
      for (const auto& m : ms) t.add({std::to_string(m.step), number_text(m.value)});
      t.print(os, color);
    }
  });
  return 0;
}

int experiment_compare(Context& ctx, const ExperimentArgs& a) {
  auto store = runs_of(ctx);
  std::vector<std::string> refs = a.refs;
  if (!a.compare_experiment.empty()) {
    runs::ListFilter f;
    f.experiment = a.compare_experiment;
    auto list = store.list(f);
    for (auto it = list.rbegin(); it != list.rend(); ++it) refs.push_back(it->id);
  }
  if (refs.empty())
    throw UsageError("no runs to compare", "give run ids (experiment compare RUN RUN…) or --experiment NAME");
  auto c = store.compare(refs);
  if (!a.plot.empty()) {
    std::vector<runs::PlotSeries> series;
    for (const auto& r : c.runs)
      series.push_back({(r.name.empty() ? r.id.substr(0, 8) : r.name + " (" + r.id.substr(0, 8) + ")"),
                        store.all_metric_history(r.id)});
    util::atomic_write(a.plot, runs::plot_svg(series, a.plot_metrics));
    if (!ctx.opts.quiet) std::cerr << "mlopsctl: wrote " << a.plot << "\n";
  }
  if (a.output == "csv") {
    std::cout << runs::to_csv(c);
    return 0;
  }
  if (!a.output.empty()) ctx.opts.output = a.output;
  emit(ctx, runs::to_json(c), [&](std::ostream& os, bool color) {
    // One column per run, one row per param and metric: reads like MLflow's compare view.
    std::vector<std::string> headers = {""};
    for (const auto& r : c.runs) headers.push_back(r.name.empty() ? r.id.substr(0, 8) : r.name);
    Table t(headers);
    std::vector<std::string> row = {"run"};
    for (const auto& r : c.runs) row.push_back(r.id.substr(0, 8));
    t.add(row);
    row = {"status"};
    for (const auto& r : c.runs) row.push_back(r.status);
    t.add(row);
    for (const auto& k : c.param_keys) {
      row = {"param " + k};
      for (std::size_t i = 0; i < c.runs.size(); ++i) {
        auto it = c.params[i].find(k);
        row.push_back(it == c.params[i].end() ? "-" : it->second);
      }
      t.add(row);
    }
    for (const auto& k : c.metric_keys) {
      row = {"metric " + k};
      for (std::size_t i = 0; i < c.runs.size(); ++i) {
        auto it = c.metrics[i].find(k);
        row.push_back(it == c.metrics[i].end() ? "-" : number_text(it->second));
      }
      t.add(row);
    }
    t.print(os, color);
  });
  return 0;
}

}  // namespace

void add_experiment_run_commands(CLI::App& app, Context& ctx) {
  auto* exp = app.get_subcommand("experiment");
  exp->description("Experiments: tracked runs and their comparison, prompt A/B tests and sample sizes");
  auto a = std::make_shared<ExperimentArgs>();

  auto* list = exp->add_subcommand("list", "Experiments with their run counts by status");
  on_run(list, ctx, [&ctx] { return experiment_list(ctx); });

  auto* runs_cmd = exp->add_subcommand("runs", "Runs of an experiment (or of all), newest first");
  runs_cmd->add_option("experiment", a->experiment, "Experiment name (default: all)");
  runs_cmd->add_option("--status", a->status, "Only runs with this status")
      ->check(CLI::IsMember({"running", "finished", "failed", "killed"}));
  runs_cmd->add_option("--limit,-n", a->limit, "At most this many runs");
  on_run(runs_cmd, ctx, [&ctx, a] { return experiment_runs(ctx, *a); });

  auto ab_reports = std::make_shared<AbReportArgs>();
  auto* show = exp->add_subcommand(
      "show", "A run: params, latest metrics, tags, artifacts and lineage; for an A/B run the arms and the decision");
  show->add_option("run", a->run, "Run id, unique id prefix or run name; or an A/B run id or experiment name")
      ->required();
  show->add_flag("--history", a->history, "Also every logged value of every metric");
  show->add_option("--markdown", ab_reports->markdown, "A/B runs: write a Markdown summary to FILE ('-' = stdout)");
  show->add_option("--html", ab_reports->html, "A/B runs: write a self-contained HTML report to FILE");
  on_run(show, ctx, [&ctx, a, ab_reports] {
    if (is_ab_run(ctx, a->run)) return show_ab_run(ctx, a->run, *ab_reports);
    if (!ab_reports->markdown.empty() || !ab_reports->html.empty())
      throw UsageError("--markdown and --html are for A/B runs; '" + a->run + "' is a tracked run",
                       "use experiment show RUN [-o json], or experiment compare RUN... --plot out.svg");
    try {
      return experiment_show(ctx, *a);
    } catch (const NotFoundError& e) {
      if (std::string(e.what()).rfind("no run '", 0) != 0) throw;
      throw NotFoundError("no run or A/B experiment run '" + a->run + "'",
                          "list tracked runs with 'mlopsctl experiment runs'; an A/B run is shown by its id or "
                          "its experiment's name");
    }
  });

  auto* compare = exp->add_subcommand("compare", "Params and final metrics of runs side by side");
  compare->add_option("runs", a->refs, "Run ids, prefixes or names");
  compare->add_option("--experiment,-e", a->compare_experiment, "Compare every run of this experiment");
  compare->add_option("-o,--output", a->output, "Output format: table, json, yaml or csv")
      ->check(CLI::IsMember({"table", "json", "yaml", "csv"}));
  compare->add_option("--plot", a->plot, "Write the metric curves of the runs as an SVG file")->type_name("FILE");
  compare->add_option("--metric", a->plot_metrics, "Metric to plot (repeatable; default all)");
  on_run(compare, ctx, [&ctx, a] { return experiment_compare(ctx, *a); });
}

}  // namespace mlops::cli
