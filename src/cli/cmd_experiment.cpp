// experiment run (one command for every kind of experiment config) and
// experiment power: how many units each variant of a pass-rate A/B test needs.
#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/experiment_ab.hpp"
#include "cli/experiment_train.hpp"
#include "cli/output.hpp"
#include "experiment/config.hpp"
#include "stats/power.hpp"
#include "util/error.hpp"

namespace mlops::cli {

namespace {

std::string with_commas(std::int64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int run_power(Context& ctx, const stats::PowerRequest& req) {
  auto s = stats::sample_size_two_proportions(req);
  std::string alternative = req.one_sided ? "one-sided" : "two-sided";
  // baseline + mde in binary floating point: 0.8 + 0.03 is 0.8300000000000001.
  double target = std::round(s.target * 1e12) / 1e12;
  nlohmann::json j = {{"baseline", req.baseline},
                      {"mde", req.mde},
                      {"target", target},
                      {"alpha", req.alpha},
                      {"power", req.power},
                      {"ratio", req.ratio},
                      {"alternative", alternative},
                      {"effect_size", s.effect_size},
                      {"method", "normal approximation on Cohen's h (statsmodels NormalIndPower)"},
                      {"exact_control", s.exact_a},
                      {"control", s.n_a},
                      {"treatment", s.n_b},
                      {"total", s.total},
                      {"achieved_power", s.achieved_power}};
  emit(ctx, j, [&](std::ostream& os, bool color) {
    print_fields(os,
                 {{"baseline", fmt::format("{:g}", req.baseline)},
                  {"target", fmt::format("{:g} (mde {:+g})", target, req.mde)},
                  {"alpha", fmt::format("{:g} ({})", req.alpha, alternative)},
                  {"power", fmt::format("{:g} (achieved {:.4f})", req.power, s.achieved_power)},
                  {"effect size", fmt::format("{:.4f} (Cohen's h)", s.effect_size)},
                  {"control", with_commas(s.n_a)},
                  {"treatment", with_commas(s.n_b) + (req.ratio == 1 ? "" : fmt::format(" (ratio {:g})", req.ratio))},
                  {"total", bold(with_commas(s.total), color)}},
                 color);
  });
  return 0;
}

struct RunArgs {
  AbRunArgs ab;
  TrainRunArgs train;
  std::vector<CLI::Option*> ab_only, train_only;
};

// The kind chooses the runner; an option of the other kind is a usage error
// rather than silently ignored.
int run_experiment(Context& ctx, const RunArgs& a) {
  const std::string& file = a.ab.config;
  auto kind = experiment::config_kind(file);
  auto refuse = [&](const std::vector<CLI::Option*>& options, const char* other) {
    for (const auto* o : options)
      if (o->count() > 0)
        throw UsageError(o->get_name() + " is for kind: " + other + " configs, and " + file + " has kind: " + kind,
                         "drop " + o->get_name());
  };
  if (kind == "ab") {
    refuse(a.train_only, "torch");
    return run_ab_experiment(ctx, a.ab);
  }
  if (kind == "torch") {
    refuse(a.ab_only, "ab");
    TrainRunArgs t = a.train;
    t.config = file;
    return run_train(ctx, t);
  }
  throw ConfigError(file + ": " + (kind.empty() ? std::string("no kind:") : "kind '" + kind + "'") +
                        "; experiment run takes kind: ab (prompt A/B experiments) or kind: torch (training)",
                    "start the config with kind: ab or kind: torch (see examples/configs/ab-*.yaml and train-*.yaml)");
}

void add_run_command(CLI::App* exp, Context& ctx) {
  auto a = std::make_shared<RunArgs>();
  auto& ab = a->ab;
  auto* run = exp->add_subcommand(
      "run", "Run an experiment config: kind: ab compares prompt variants, kind: torch trains a model");
  run->add_option("config", ab.config, "Experiment config (examples/configs/ab-*.yaml, train-*.yaml)")
      ->required()
      ->type_name("FILE");
  auto& ao = a->ab_only;
  ao.push_back(run->add_option("-j,--jobs", ab.jobs, "A/B: calls in flight at once (default: options.concurrency, 8)")
                   ->check(CLI::PositiveNumber));
  ao.push_back(run->add_flag("--no-cache", ab.no_cache, "A/B: do not answer from or write to the response cache"));
  ao.push_back(run->add_option("--max-retries", ab.max_retries, "A/B: retries per call on 429/5xx/timeouts (llm.max_retries)"));
  ao.push_back(run->add_option("--timeout", ab.timeout, "A/B: per-call timeout, e.g. 30s (llm.timeout)"));
  ao.push_back(run->add_option("--grader", ab.grader, "A/B: provider that grades llm-rubric assertions (eval.grader)"));
  ao.push_back(run->add_option("--promote-winner", ab.promote_env,
                               "A/B: move the winner's prompt label ENV to the version it ran (governed like prompt deploy)"));
  ao.push_back(run->add_flag("--fail-on-no-decision", ab.fail_on_no_decision, "A/B: exit 1 when there is no winner (for CI)"));
  ao.push_back(run->add_option("--assignments", ab.assignments,
                               "A/B: write each test's unit and arm as JSON to FILE ('-' = stdout)"));
  ao.push_back(run->add_option("--json", ab.json_out, "A/B: write the result (experiment show -o json) to FILE"));
  ao.push_back(run->add_option("--markdown", ab.reports.markdown,
                               "A/B: write a Markdown summary to FILE for a pull-request comment"));
  ao.push_back(run->add_option("--html", ab.reports.html,
                               "A/B: write a self-contained HTML report with interval plots to FILE"));
  auto& t = a->train;
  auto& to = a->train_only;
  to.push_back(run->add_option("--out", t.out, "Training: run directory (default .mlops/train/<timestamp>)")->type_name("DIR"));
  to.push_back(run->add_flag("--resume", t.resume, "Training: continue the interrupted run in --out from its last checkpoint"));
  to.push_back(run->add_option("-e,--experiment", t.experiment,
                               "Training: experiment the tracked run belongs to (default $MLOPS_EXPERIMENT, else the config's name)"));
  on_run(run, ctx, [&ctx, a] { return run_experiment(ctx, *a); });
}

}  // namespace

void add_experiment_commands(CLI::App& app, Context& ctx) {
  auto* exp = app.add_subcommand("experiment", "Experiments: training runs, prompt A/B sample sizes, tests and winners");
  exp->require_subcommand(1);
  add_run_command(exp, ctx);

  auto req = std::make_shared<stats::PowerRequest>();
  auto* power = exp->add_subcommand("power", "Units per variant needed to detect a change in pass rate");
  power->add_option("--baseline", req->baseline, "Control pass rate, a fraction such as 0.80")->required();
  power->add_option("--mde", req->mde, "Minimum detectable effect: absolute change in pass rate, e.g. 0.03")
      ->required();
  power->add_option("--alpha", req->alpha, "Significance level")->default_str("0.05");
  power->add_option("--power", req->power, "Probability of detecting the effect when it is real")->default_str("0.8");
  power->add_option("--ratio", req->ratio, "Treatment units per control unit")->default_str("1");
  power->add_flag("--one-sided", req->one_sided, "Test only for a change in the direction of --mde");
  on_run(power, ctx, [&ctx, req] { return run_power(ctx, *req); });
}

}  // namespace mlops::cli
