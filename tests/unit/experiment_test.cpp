// A/B experiments: config parsing and its errors, assignment of units to arms,
// and the aggregation from per-unit observations to the decision.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "experiment/analysis.hpp"
#include "experiment/config.hpp"
#include "experiment/runner.hpp"
#include "stats/assignment.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::experiment {
namespace {

using nlohmann::json;

class AbConfigTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir{"ab"};
  fs::path write(const std::string& name, const std::string& text) {
    auto p = dir / name;
    util::atomic_write(p, text);
    return p;
  }
  // The ConfigError message of loading `text`, or "" when it loads.
  std::string error_of(const std::string& text) {
    try {
      load_ab_config(write("bad.yaml", text));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
};

const char* k_split = R"(kind: ab
name: greeting-tone
provider: openai:gpt-4o-mini
control:
  prompt: greeting@production
variants:
  - name: friendly
    prompt: "Hi {{ name }}!"
    parameters: {temperature: 0.3, max_tokens: 50}
split: {control: 80, friendly: 20}
unit: user_id
metrics: [latency_ms, {name: politeness, test: mann-whitney}]
primary: {metric: pass_rate, direction: higher}
guards:
  - {metric: cost_usd, limit: 20%}
  - {metric: latency_ms, limit: 250}
min_sample_size: 100
confidence: 0.9
tests:
  - vars: {user_id: a, name: Ada}
    assert: [{type: icontains, value: "{{ name }}"}]
options: {concurrency: 4}
)";

TEST_F(AbConfigTest, ParsesEveryKey) {
  auto c = load_ab_config(write("ab.yaml", k_split));
  EXPECT_EQ(c.name, "greeting-tone");
  EXPECT_EQ(c.control.name, "control");
  EXPECT_EQ(c.control.prompt.store_ref, "greeting@production");
  EXPECT_EQ(c.control.provider.id, "openai:gpt-4o-mini");
  ASSERT_EQ(c.variants.size(), 1u);
  EXPECT_EQ(c.variants[0].name, "friendly");
  EXPECT_EQ(c.variants[0].prompt.raw, "Hi {{ name }}!");
  EXPECT_EQ(c.variants[0].provider.temperature, 0.3);
  EXPECT_EQ(c.variants[0].provider.max_tokens, 50);
  EXPECT_FALSE(c.control.provider.temperature.has_value());
  EXPECT_EQ(c.control.weight, 80);
  EXPECT_EQ(c.variants[0].weight, 20);
  EXPECT_EQ(c.unit_field, "user_id");
  EXPECT_FALSE(c.paired);
  EXPECT_EQ(c.min_sample_size, 100);
  EXPECT_DOUBLE_EQ(c.confidence, 0.9);
  EXPECT_EQ(c.suite.options.concurrency, 4);
  // The primary comes first, then the listed metrics, then guard-only metrics.
  ASSERT_EQ(c.metrics.size(), 4u);
  EXPECT_EQ(c.metrics[0].name, "pass_rate");
  EXPECT_TRUE(c.metrics[0].binary());
  EXPECT_EQ(c.metrics[1].name, "latency_ms");
  EXPECT_EQ(c.metrics[1].better, stats::Better::lower);
  EXPECT_EQ(c.metrics[2].name, "politeness");
  EXPECT_EQ(c.metrics[2].source, Source::named);
  EXPECT_EQ(c.metrics[2].test, experiment::Test::mann_whitney);
  EXPECT_EQ(c.metrics[3].name, "cost_usd");
  ASSERT_EQ(c.guards.size(), 2u);
  EXPECT_TRUE(c.guards[0].relative);
  EXPECT_DOUBLE_EQ(c.guards[0].limit, 0.2);
  EXPECT_FALSE(c.guards[1].relative);
  EXPECT_DOUBLE_EQ(c.guards[1].limit, 250);
}

TEST_F(AbConfigTest, DefaultsAndPairedThreeArms) {
  auto c = load_ab_config(write("p.yaml", R"(kind: ab
name: three
paired: true
control: {prompt: "A {{ q }}", provider: echo}
variants:
  - {name: b, prompt: "B {{ q }}", provider: echo}
  - {name: c, prompt: "C {{ q }}", provider: {id: openai:m, config: {temperature: 0}}}
tests: [{vars: {q: x}}]
)"));
  EXPECT_TRUE(c.paired);
  EXPECT_EQ(c.arms().size(), 3u);
  EXPECT_EQ(c.primary, "pass_rate");
  EXPECT_EQ(c.metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(c.confidence, 0.95);
  EXPECT_EQ(c.variants[1].provider.temperature, 0.0);
  EXPECT_EQ(c.control.weight, 1);
}

TEST_F(AbConfigTest, ErrorsNameLineAndKey) {
  std::string e = error_of(
      "kind: ab\nname: x\ncontrol: {prompt: a, provider: echo}\nvariants: [{name: b, prompt: "
      "c, provider: echo}]\ntests: [{vars: {q: 1}}]\nconfidance: 0.9\n");
  EXPECT_NE(e.find("bad.yaml:6: unknown key 'confidance' (did you mean 'confidence'?)"), std::string::npos) << e;

  e = error_of(
      "name: x\ncontrol: {prompt: a}\nvariants: [{prompt: c, temprature: 1}]\n"
      "split: {control: 1, zz: 2}\nprimary: {metric: pass_rate, direction: up}\n"
      "guards: [{metric: cost_usd, limit: -3}]\nconfidence: 2\nmin_sample_size: -1\n"
      "prompts: [x]\ntests: [{vars: {q: 1}}]\n");
  for (const char* want :
       {"missing kind: ab", "bad.yaml:2: arm 'control' needs a provider", "bad.yaml:3: every variant needs a name",
        "unknown arm key 'temprature'", "bad.yaml:4: split names 'zz', which is not an arm",
        "bad.yaml:5: direction must be higher or lower, not 'up'", "bad.yaml:6: guard limit must be a number",
        "bad.yaml:7: confidence must be a number between 0 and 1", "bad.yaml:8: min_sample_size must be",
        "bad.yaml:9: 'prompts' is an eval suite key"})
    EXPECT_NE(e.find(want), std::string::npos) << "missing '" << want << "' in:\n" << e;

  e = error_of(
      "kind: torch\nname: x\ncontrol: {prompt: a, provider: echo}\nvariants: [{name: control, prompt: c, "
      "provider: echo}]\ntests: [{vars: {q: 1}}]\nguards: [{metric: latency_ms, limit: 5%%}]\n");
  EXPECT_NE(e.find("bad.yaml:1: kind is 'torch'"), std::string::npos) << e;
  EXPECT_NE(e.find("arm name 'control' is used twice"), std::string::npos) << e;
  EXPECT_NE(e.find("guard limit '5%%' is not a percentage"), std::string::npos) << e;

  e = error_of(
      "kind: ab\nname: x\npaired: true\ncontrol: {prompt: a, provider: echo}\nvariants: [{name: b, prompt: "
      "c, provider: echo}]\nmetrics: [{name: latency_ms, test: mann-whitney}]\ntests: [{vars: {q: 1}}]\n"
      "options: {repeat: 3}\n");
  EXPECT_NE(e.find("test mann-whitney compares independent samples"), std::string::npos) << e;
  EXPECT_NE(e.find("options.repeat must be 1"), std::string::npos) << e;

  e = error_of("kind: ab\nname: x\ncontrol: [\n");
  EXPECT_NE(e.find("bad.yaml:4"), std::string::npos) << e;
  EXPECT_THROW(load_ab_config(dir / "missing.yaml"), NotFoundError);
}

TEST_F(AbConfigTest, ConfigKind) {
  EXPECT_EQ(config_kind(write("k.yaml", "kind: ab\nname: x\n")), "ab");
  EXPECT_EQ(config_kind(write("k.yaml", "name: x\n")), "");
  EXPECT_THROW(config_kind(write("k.yaml", "- a\n")), ConfigError);
}

// Placement of units: the split's shares, stable, and the documented hash.
TEST_F(AbConfigTest, AssignmentFollowsTheSplitAndIsStable) {
  std::string csv = "user_id,q\n";
  for (int i = 0; i < 20000; ++i) csv += "user-" + std::to_string(i) + ",x\n";
  write("units.csv", csv);
  auto c = load_ab_config(write("a.yaml", R"(kind: ab
name: greeting-tone
provider: echo
control: {prompt: "A {{ q }}"}
variants: [{name: b, prompt: "B"}, {name: c, prompt: "C"}]
split: {control: 80, b: 10, c: 10}
unit: user_id
tests: file://units.csv
)"));
  auto plan = assign(c);
  ASSERT_EQ(plan.size(), 20000u);
  std::map<int, int> counts;
  for (const auto& p : plan) ++counts[p.arm];
  // Binomial sd of the 80% share over 20,000 units is 0.28%; 1.5% is > 5 sd.
  EXPECT_NEAR(counts[0] / 20000.0, 0.8, 0.015);
  EXPECT_NEAR(counts[1] / 20000.0, 0.1, 0.015);
  EXPECT_NEAR(counts[2] / 20000.0, 0.1, 0.015);
  EXPECT_EQ(assignments_json(c, plan), assignments_json(c, assign(c)));
  EXPECT_EQ(plan[7].unit, "user-7");

  // The bucket is Python's int(sha256("greeting-tone:u1")[:16], 16) >> 11 / 2**53.
  EXPECT_NEAR(stats::assignment_bucket("greeting-tone", "u1"), 0.8184103084615169, 1e-15);
  EXPECT_NEAR(stats::assignment_bucket("greeting-tone", "alice"), 0.2206084131856555, 1e-15);

  // Without unit: the test's position; a declared unit var must be present.
  auto paired = load_ab_config(write("p.yaml",
                                     "kind: ab\nname: p\npaired: true\nprovider: echo\ncontrol: {prompt: "
                                     "a}\nvariants: [{name: b, prompt: b}]\ntests: [{vars: {q: 1}}, "
                                     "{vars: {q: 2}}]\n"));
  auto pp = assign(paired);
  ASSERT_EQ(pp.size(), 2u);
  EXPECT_EQ(pp[1].unit, "1");
  EXPECT_EQ(pp[1].arm, -1);
  EXPECT_EQ(assignments_json(paired, pp)[0]["arm"], "*");
  auto missing = load_ab_config(write("m.yaml",
                                      "kind: ab\nname: p\nunit: uid\nprovider: echo\ncontrol: {prompt: "
                                      "a}\nvariants: [{name: b, prompt: b}]\ntests: [{vars: {q: 1}}]\n"));
  EXPECT_THROW(assign(missing), ConfigError);
}

// --- aggregation -------------------------------------------------------------

AbConfig two_arms(bool paired = false) {
  AbConfig c;
  c.name = "t";
  c.control.name = "control";
  Arm v;
  v.name = "variant";
  c.variants.push_back(v);
  c.paired = paired;
  c.primary = "pass_rate";
  c.metrics = {metric_for("pass_rate"), metric_for("latency_ms")};
  return c;
}

// An arm with `n` units, the first `passed` passing; latency `lat` + i % 7.
ArmData arm(const std::string& name, int n, int passed, double lat, std::int64_t first_test = 0) {
  ArmData d;
  d.name = name;
  d.assigned = d.observed = n;
  d.values.resize(2);
  for (int i = 0; i < n; ++i) {
    d.values[0].emplace_back(first_test + i, i < passed ? 1.0 : 0.0);
    d.values[1].emplace_back(first_test + i, lat + i % 7);
  }
  return d;
}

TEST(AbAnalysis, ClearWinner) {
  auto c = two_arms();
  auto a = analyze(c, {arm("control", 200, 120, 100), arm("variant", 200, 180, 100, 1000)});
  ASSERT_TRUE(a.winner.has_value());
  EXPECT_EQ(*a.winner, "variant");
  EXPECT_EQ(a.decision["outcome"], "winner");
  const auto& pr = a.metrics[0];
  EXPECT_EQ(pr["name"], "pass_rate");
  EXPECT_EQ(pr["arms"][0]["n"], 200);
  EXPECT_DOUBLE_EQ(pr["arms"][0]["mean"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(pr["arms"][1]["mean"].get<double>(), 0.9);
  const auto& cmp = pr["comparisons"][0];
  EXPECT_EQ(cmp["test"], "two-proportion z-test");
  EXPECT_LT(cmp["p_value"].get<double>(), 1e-6);
  EXPECT_NEAR(cmp["difference"]["value"].get<double>(), 0.3, 1e-12);
  EXPECT_LT(cmp["difference"]["ci"][0].get<double>(), 0.3);
  EXPECT_GT(cmp["difference"]["ci"][1].get<double>(), 0.3);
  EXPECT_NEAR(cmp["relative_lift"]["value"].get<double>(), 0.5, 1e-12);
  EXPECT_EQ(cmp["effect_size"]["name"], "cohens_h");
  // Same latency distribution: Welch says no difference, and its interval holds 0.
  const auto& lat = a.metrics[1]["comparisons"][0];
  EXPECT_EQ(lat["test"], "welch t-test");
  EXPECT_NEAR(lat["p_value"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(a.srm["applicable"], true);
  EXPECT_EQ(a.srm["mismatch"], false);
}

TEST(AbAnalysis, NoDecisionReasons) {
  auto c = two_arms();
  auto same = analyze(c, {arm("control", 200, 150, 100), arm("variant", 200, 152, 100)});
  EXPECT_FALSE(same.winner.has_value());
  EXPECT_EQ(same.decision["outcome"], "no decision");
  EXPECT_NE(same.decision["reasons"].dump().find("not significantly different"), std::string::npos);

  c.min_sample_size = 500;
  auto small = analyze(c, {arm("control", 200, 120, 100), arm("variant", 200, 180, 100)});
  EXPECT_FALSE(small.winner.has_value());
  EXPECT_NE(small.decision["reasons"].dump().find("below the minimum sample size of 500"), std::string::npos);

  // The variant is better but 30% slower against a 10% latency guard.
  c.min_sample_size = 0;
  c.guards = {{"latency_ms", 0.10, true}};
  auto slow = analyze(c, {arm("control", 200, 120, 100), arm("variant", 200, 180, 130)});
  EXPECT_FALSE(slow.winner.has_value());
  EXPECT_EQ(slow.decision["guards"][0]["regressed"], true);
  EXPECT_NEAR(slow.decision["guards"][0]["change"].get<double>(), 0.3 * 100 / 103, 0.01);
  EXPECT_NE(slow.decision["reasons"].dump().find("regressed guard 'latency_ms'"), std::string::npos);
  // Within the limit it wins.
  c.guards = {{"latency_ms", 0.5, true}};
  EXPECT_TRUE(analyze(c, {arm("control", 200, 120, 100), arm("variant", 200, 180, 130)}).winner.has_value());

  // A sample ratio mismatch blocks a winner: 50/50 split, 300 against 100 units.
  c.guards.clear();
  auto srm = analyze(c, {arm("control", 300, 150, 100), arm("variant", 100, 90, 100)});
  EXPECT_EQ(srm.srm["mismatch"], true);
  EXPECT_FALSE(srm.winner.has_value());
  EXPECT_NE(srm.decision["reasons"].dump().find("sample ratio mismatch"), std::string::npos);

  // All pass in both arms: the z-test is undefined, reported, no decision.
  auto all = analyze(c, {arm("control", 50, 50, 100), arm("variant", 50, 50, 100)});
  EXPECT_FALSE(all.winner.has_value());
  EXPECT_TRUE(all.metrics[0]["comparisons"][0]["p_value"].is_null());
  EXPECT_FALSE(all.metrics[0]["comparisons"][0]["notes"].empty());
}

TEST(AbAnalysis, PairedUsesMcNemarOnMatchedUnits) {
  auto c = two_arms(true);
  // Same 300 units in both arms; the variant fixes 60 of the control's 120 failures.
  auto ctl = arm("control", 300, 180, 100);
  auto var = arm("variant", 300, 240, 100);
  auto a = analyze(c, {ctl, var});
  const auto& cmp = a.metrics[0]["comparisons"][0];
  EXPECT_EQ(cmp["test"], "mcnemar");
  EXPECT_EQ(cmp["pairs"], 300);
  EXPECT_EQ(cmp["table"]["variant_only"], 60);
  EXPECT_EQ(cmp["table"]["control_only"], 0);
  EXPECT_LT(cmp["p_value"].get<double>(), 1e-10);
  EXPECT_EQ(a.srm["applicable"], false);
  ASSERT_TRUE(a.winner.has_value());
  EXPECT_EQ(*a.winner, "variant");
  // Identical latencies per unit: the paired t-test is undefined (no spread of differences).
  EXPECT_TRUE(a.metrics[1]["comparisons"][0]["p_value"].is_null());
  EXPECT_EQ(a.metrics[1]["comparisons"][0]["test"], "paired t-test");
}

TEST(AbAnalysis, HolmAcrossThreeArms) {
  AbConfig c = two_arms();
  Arm w;
  w.name = "other";
  c.variants.push_back(w);
  auto a = analyze(c, {arm("control", 300, 180, 100), arm("variant", 300, 200, 100), arm("other", 300, 240, 100)});
  const auto& cmps = a.metrics[0]["comparisons"];
  double p1 = cmps[0]["p_value"], p2 = cmps[1]["p_value"];
  double a1 = cmps[0]["adjusted_p_value"], a2 = cmps[1]["adjusted_p_value"];
  // Holm: the smaller p is doubled, the larger is max(its own, the previous adjusted).
  EXPECT_NEAR(a2, 2 * p2, 1e-15);
  EXPECT_NEAR(a1, std::max(p1, a2), 1e-15);
  ASSERT_TRUE(a.winner.has_value());
  EXPECT_EQ(*a.winner, "other");
  EXPECT_THROW(analyze(c, {arm("control", 3, 1, 1)}), UsageError);
}

}  // namespace
}  // namespace mlops::experiment
