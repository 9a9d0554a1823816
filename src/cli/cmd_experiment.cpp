// experiment power: how many units each variant of a pass-rate A/B test needs.
#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "stats/power.hpp"

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

}  // namespace

void add_experiment_commands(CLI::App& app, Context& ctx) {
  auto* exp = app.add_subcommand("experiment", "Experiments: training runs, prompt A/B sample sizes, tests and winners");
  exp->require_subcommand(1);
  add_train_commands(*exp, ctx);

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
