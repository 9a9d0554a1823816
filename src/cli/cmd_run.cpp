// run start / log / artifact add / end: tracking plumbing any training script can
// call (the run id travels in MLOPS_RUN_ID), with MLflow's semantics.
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/run_args.hpp"
#include "util/error.hpp"
#include "util/time.hpp"
#include "workspace/workspace.hpp"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace mlops::cli {

runs::Runs runs_of(Context& ctx) {
  return runs::Runs(ctx.ws().db(), &ctx.ws().objects());
}

std::string current_run(Context& ctx, const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (auto env = ctx.env("MLOPS_RUN_ID"); env && !env->empty()) return *env;
  throw UsageError("no run given", "pass --run ID, or export MLOPS_RUN_ID=$(mlopsctl run start --experiment NAME)");
}

std::string short_time(std::int64_t ms) {
  std::string t = util::format_rfc3339(ms * 1'000'000);
  return t.substr(0, 10) + " " + t.substr(11, 8);
}

std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);  // the shortest text that reads back as the same double
}

namespace {

struct RunArgs {
  std::string experiment;
  std::string name;
  std::string config_file;
  std::string data_path;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> owner_pid;
  std::string resume;
  std::string run;
  std::vector<std::string> metrics, params, tags;
  std::int64_t step = 0;
  std::optional<std::int64_t> timestamp_ms;
  std::string path;
  std::string artifact_name;
  std::string status = "finished";
};

std::int64_t owner_pid(Context& ctx, const RunArgs& a) {
  if (a.owner_pid) return *a.owner_pid;
  if (auto env = ctx.env("MLOPS_RUN_OWNER_PID"); env && !env->empty()) {
    try {
      std::size_t used = 0;
      long long v = std::stoll(*env, &used);
      if (used == env->size() && v >= 0) return v;
    } catch (const std::exception&) {
    }
    throw UsageError("MLOPS_RUN_OWNER_PID is '" + *env + "', not a process id", "set a pid, or 0 to not track one");
  }
  // The script that called `run start` owns the run: when it dies without
  // `run end`, the run reads as failed.
  return static_cast<std::int64_t>(getppid());
}

int run_start(Context& ctx, const RunArgs& a) {
  auto& ws = ctx.ws();
  runs::StartOptions o;
  o.experiment = a.experiment;
  if (o.experiment.empty()) o.experiment = ctx.env("MLOPS_EXPERIMENT").value_or("");
  o.name = a.name;
  o.user = ws.author().name;
  o.owner_pid = owner_pid(ctx, a);
  o.mlopsctl_version = MLOPS_VERSION;
  std::string resume = a.resume;
  if (resume.empty()) resume = ctx.env("MLOPS_RUN_ID").value_or("");
  if (!resume.empty()) {
    o.resume = resume;
  } else {
    if (o.experiment.empty())
      throw UsageError("run start needs --experiment NAME", "e.g. mlopsctl run start --experiment churn --name lr-0.01");
    o.git_commit = ws.git().resolve(store::k_default_branch);
    if (!a.config_file.empty()) o.config_sha256 = runs::content_hash(a.config_file);
    if (!a.data_path.empty()) o.data_sha256 = runs::content_hash(a.data_path);
    o.seed = a.seed;
  }
  auto r = runs_of(ctx).start(o);
  emit(ctx, runs::to_json(r), [&](std::ostream& os, bool) { os << r.id << "\n"; });
  return 0;
}

int run_log(Context& ctx, const RunArgs& a) {
  if (a.metrics.empty() && a.params.empty() && a.tags.empty())
    throw UsageError("nothing to log", "give --metric k=v, --param k=v or --tag k=v (each repeatable)");
  std::string run = current_run(ctx, a.run);
  std::map<std::string, std::string> params, tags;
  std::vector<runs::Metric> metrics;
  for (const auto& p : a.params) {
    auto [k, v] = runs::parse_assignment("--param", p);
    if (auto it = params.find(k); it != params.end() && it->second != v)
      throw UsageError("--param '" + k + "' is given twice with different values");
    params[k] = v;
  }
  for (const auto& t : a.tags) {
    auto [k, v] = runs::parse_assignment("--tag", t);
    tags[k] = v;
  }
  for (const auto& m : a.metrics) {
    auto [k, v] = runs::parse_assignment("--metric", m);
    metrics.push_back({k, runs::parse_metric_value(k, v), a.step, a.timestamp_ms.value_or(0)});
  }
  auto store = runs_of(ctx);
  store.log_batch(run, params, metrics, tags);
  nlohmann::json j = {{"run", store.get(run).id},
                      {"params", params.size()},
                      {"metrics", metrics.size()},
                      {"tags", tags.size()},
                      {"step", a.step}};
  emit(ctx, j, [](std::ostream&, bool) {});
  return 0;
}

int run_artifact_add(Context& ctx, const RunArgs& a) {
  std::string run = current_run(ctx, a.run);
  auto store = runs_of(ctx);
  auto art = store.add_artifact(run, a.path, a.artifact_name);
  nlohmann::json j = {{"run", store.get(run).id}, {"name", art.name}, {"sha256", art.sha256}, {"size", art.size}};
  emit(ctx, j, [&](std::ostream& os, bool) {
    if (!ctx.opts.quiet) os << art.name << " " << art.sha256 << "\n";
  });
  return 0;
}

int run_end(Context& ctx, const RunArgs& a) {
  std::string run = current_run(ctx, a.run);
  auto r = runs_of(ctx).end(run, a.status);
  emit(ctx, runs::to_json(r), [&](std::ostream& os, bool) {
    if (!ctx.opts.quiet) os << r.id << " " << r.status << "\n";
  });
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<RunArgs>();
  auto* run = app.add_subcommand("run", "Track training runs: params, metrics, tags, artifacts (MLflow semantics)");
  run->require_subcommand(1);

  auto* start = run->add_subcommand("start", "Start a run and print its id (export it as MLOPS_RUN_ID)");
  start->add_option("--experiment,-e", a->experiment, "Experiment the run belongs to (MLOPS_EXPERIMENT)");
  start->add_option("--name,-n", a->name, "Run name");
  start->add_option("--config", a->config_file, "Training config file whose SHA-256 is recorded as lineage");
  start->add_option("--data", a->data_path, "Data file or directory whose SHA-256 is recorded as lineage");
  start->add_option("--seed", a->seed, "Random seed recorded with the run");
  start->add_option("--owner-pid", a->owner_pid,
                    "Process whose death marks the run failed (default: the caller, MLOPS_RUN_OWNER_PID; 0 = none)")
      ->check(CLI::NonNegativeNumber);
  start->add_option("--resume", a->resume, "Resume this run (also when MLOPS_RUN_ID is set), as MLflow does");
  on_run(start, ctx, [&ctx, a] { return run_start(ctx, *a); });

  auto* log = run->add_subcommand("log", "Log metrics, params and tags to the current run in one transaction");
  log->add_option("--run", a->run, "Run id (default: MLOPS_RUN_ID)");
  log->add_option("--metric,-m", a->metrics, "Metric KEY=NUMBER (repeatable); metrics append")
      ->type_name("KEY=VALUE");
  log->add_option("--param,-p", a->params, "Param KEY=VALUE (repeatable); params are write-once")
      ->type_name("KEY=VALUE");
  log->add_option("--tag,-t", a->tags, "Tag KEY=VALUE (repeatable); tags overwrite")->type_name("KEY=VALUE");
  log->add_option("--step", a->step, "Step of the metrics (default 0)")->check(CLI::NonNegativeNumber);
  log->add_option("--timestamp", a->timestamp_ms, "Metric time in ms since the epoch (default now)");
  on_run(log, ctx, [&ctx, a] { return run_log(ctx, *a); });

  auto* artifact = run->add_subcommand("artifact", "Artifacts of a run (content in the object store)");
  artifact->require_subcommand(1);
  auto* add = artifact->add_subcommand("add", "Store a file as an artifact of the current run");
  add->add_option("path", a->path, "File to store")->required();
  add->add_option("--name", a->artifact_name, "Artifact name, a relative path (default: the file name)");
  add->add_option("--run", a->run, "Run id (default: MLOPS_RUN_ID)");
  on_run(add, ctx, [&ctx, a] { return run_artifact_add(ctx, *a); });

  auto* end = run->add_subcommand("end", "End the current run");
  end->add_option("--run", a->run, "Run id (default: MLOPS_RUN_ID)");
  end->add_option("--status", a->status, "finished, failed or killed")
      ->check(CLI::IsMember({"finished", "failed", "killed"}))
      ->default_str("finished");
  on_run(end, ctx, [&ctx, a] { return run_end(ctx, *a); });
}

}  // namespace mlops::cli
