// Statistics checked against scipy and statsmodels: tests/golden/stats.json is
// written by tests/golden/make_stats_golden.py, which records the versions it
// used. P-values match to 1e-6 relative, other values to 1e-6 relative or 1e-10
// absolute, special functions to 1e-12 relative. The bootstrap, the samplers
// and the decision rule are checked by their properties.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "stats/assignment.hpp"
#include "stats/continuous.hpp"
#include "stats/decision.hpp"
#include "stats/multiple.hpp"
#include "stats/paired.hpp"
#include "stats/power.hpp"
#include "stats/proportions.hpp"
#include "stats/random.hpp"
#include "stats/rank.hpp"
#include "stats/special.hpp"
#include "stats/srm.hpp"

namespace mlops::stats {
namespace {

using nlohmann::json;

const json& golden() {
  static const json doc = [] {
    std::ifstream in(MLOPS_STATS_GOLDEN);
    if (!in) throw std::runtime_error("cannot read " MLOPS_STATS_GOLDEN);
    return json::parse(in);
  }();
  return doc;
}

const json& cases(const std::string& section) {
  const auto& c = golden().at(section);
  EXPECT_FALSE(c.empty()) << section;
  return c;
}

std::vector<double> sample(const json& c, const char* side) {
  return golden().at("samples").at(c.at("sample").get<std::string>()).at(side).get<std::vector<double>>();
}

std::string describe(const json& c) {
  std::string s = c.dump();
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

// |got - want| <= rel |want| + abs
::testing::AssertionResult close(double got, double want, double rel, double abs) {
  double tol = rel * std::fabs(want) + abs;
  if (std::fabs(got - want) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (diff " << std::fabs(got - want)
                                       << " > tol " << tol << ")";
}

::testing::AssertionResult p_close(double got, double want) {
  return close(got, want, 1e-6, 1e-300);
}
::testing::AssertionResult v_close(double got, double want) {
  return close(got, want, 1e-6, 1e-10);
}
::testing::AssertionResult f_close(double got, double want) {
  return close(got, want, 1e-12, 1e-300);
}

Alternative alternative(const json& c) {
  std::string a = c.at("alternative");
  return a == "greater" ? Alternative::greater : a == "less" ? Alternative::less : Alternative::two_sided;
}

Proportion prop(const json& c, const char* x, const char* n) {
  return {c.at(x).get<std::int64_t>(), c.at(n).get<std::int64_t>()};
}

Proportion prop_a(const json& c) {
  return prop(c, "x_a", "n_a");
}
Proportion prop_b(const json& c) {
  return prop(c, "x_b", "n_b");
}

bool expects_error(const json& c) {
  return c.contains("error");
}

// ---- special functions ----------------------------------------------------------

TEST(StatsSpecial, NormalDistribution) {
  for (const auto& c : golden()["special"]["normal_cdf"])
    EXPECT_TRUE(f_close(normal_cdf(c["x"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["normal_sf"])
    EXPECT_TRUE(f_close(normal_sf(c["x"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["normal_quantile"])
    EXPECT_TRUE(f_close(normal_quantile(c["p"]), c["value"])) << describe(c);
  EXPECT_EQ(normal_quantile(0), -INFINITY);
  EXPECT_EQ(normal_quantile(1), INFINITY);
  EXPECT_THROW(normal_quantile(1.5), UsageError);
}

TEST(StatsSpecial, IncompleteBetaAndGamma) {
  for (const auto& c : golden()["special"]["beta_inc"])
    EXPECT_TRUE(f_close(beta_inc(c["a"], c["b"], c["x"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["gamma_p"])
    EXPECT_TRUE(f_close(gamma_p(c["a"], c["x"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["gamma_q"])
    EXPECT_TRUE(f_close(gamma_q(c["a"], c["x"]), c["value"])) << describe(c);
  EXPECT_EQ(beta_inc(2, 3, 0), 0);
  EXPECT_EQ(beta_inc(2, 3, 1), 1);
  EXPECT_THROW(beta_inc(0, 3, 0.5), UsageError);
  EXPECT_THROW(gamma_p(1, -1), UsageError);
}

TEST(StatsSpecial, StudentT) {
  for (const auto& c : golden()["special"]["student_t_sf"])
    EXPECT_TRUE(f_close(student_t_sf(c["t"], c["df"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["student_t_cdf"])
    EXPECT_TRUE(f_close(student_t_cdf(c["t"], c["df"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["student_t_quantile"])
    EXPECT_TRUE(f_close(student_t_quantile(c["p"], c["df"]), c["value"])) << describe(c);
  EXPECT_THROW(student_t_sf(1, 0), UsageError);
}

TEST(StatsSpecial, ChiSquareAndBinomial) {
  for (const auto& c : golden()["special"]["chi_square_sf"])
    EXPECT_TRUE(f_close(chi_square_sf(c["x"], c["k"]), c["value"])) << describe(c);
  for (const auto& c : golden()["special"]["binomial_cdf"])
    EXPECT_TRUE(f_close(binomial_cdf(c["k"], c["n"], c["p"]), c["value"])) << describe(c);
}

// ---- proportions ------------------------------------------------------------------

TEST(StatsProportions, WilsonInterval) {
  for (const auto& c : cases("wilson")) {
    auto ci = wilson_interval(prop(c, "x", "n"), c["confidence"]);
    EXPECT_TRUE(v_close(ci.low, c["low"])) << describe(c);
    EXPECT_TRUE(v_close(ci.high, c["high"])) << describe(c);
  }
  EXPECT_THROW(wilson_interval({0, 0}), UndefinedError);
  EXPECT_THROW(wilson_interval({5, 4}), UsageError);
  EXPECT_THROW(wilson_interval({1, 4}, 1.0), UsageError);
}

TEST(StatsProportions, TwoProportionZTest) {
  for (const auto& c : cases("two_proportion_ztest")) {
    if (expects_error(c)) {
      EXPECT_THROW(two_proportion_ztest(prop_a(c), prop_b(c), alternative(c)), UndefinedError) << describe(c);
      continue;
    }
    auto r = two_proportion_ztest(prop_a(c), prop_b(c), alternative(c));
    EXPECT_TRUE(v_close(r.z, c["z"])) << describe(c);
    EXPECT_TRUE(p_close(r.p_value, c["p"])) << describe(c);
  }
}

TEST(StatsProportions, AllPassAndAllFailSayWhy) {
  try {
    two_proportion_ztest({30, 30}, {30, 30});
    FAIL() << "no error";
  } catch (const UndefinedError& e) {
    EXPECT_NE(std::string(e.what()).find("every observation passed in both variants"), std::string::npos);
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(StatsProportions, NewcombeInterval) {
  for (const auto& c : cases("newcombe")) {
    auto ci = newcombe_interval(prop_a(c), prop_b(c), c["confidence"]);
    EXPECT_TRUE(v_close(ci.low, c["low"])) << describe(c);
    EXPECT_TRUE(v_close(ci.high, c["high"])) << describe(c);
  }
}

TEST(StatsProportions, CohensHAndLift) {
  for (const auto& c : cases("cohens_h"))
    EXPECT_TRUE(v_close(cohens_h(prop_a(c), prop_b(c)), c["value"])) << describe(c);
  for (const auto& c : cases("proportion_lift")) {
    if (expects_error(c)) {
      EXPECT_THROW(relative_lift(prop_a(c), prop_b(c), c["confidence"]), UndefinedError) << describe(c);
      continue;
    }
    auto l = relative_lift(prop_a(c), prop_b(c), c["confidence"]);
    EXPECT_TRUE(v_close(l.value, c["value"])) << describe(c);
    EXPECT_TRUE(v_close(l.ci.low, c["low"])) << describe(c);
    EXPECT_TRUE(v_close(l.ci.high, c["high"])) << describe(c);
  }
}

// ---- continuous -------------------------------------------------------------------

void expect_t_test(const TTest& r, const json& c) {
  EXPECT_TRUE(v_close(r.t, c["t"])) << describe(c);
  EXPECT_TRUE(v_close(r.df, c["df"])) << describe(c);
  EXPECT_TRUE(p_close(r.p_value, c["p"])) << describe(c);
  EXPECT_TRUE(v_close(r.difference.value, c["difference"])) << describe(c);
  EXPECT_TRUE(v_close(r.difference.ci.low, c["low"])) << describe(c);
  EXPECT_TRUE(v_close(r.difference.ci.high, c["high"])) << describe(c);
}

TEST(StatsContinuous, WelchTTest) {
  for (const auto& c : cases("welch")) {
    auto a = summarize(sample(c, "a")), b = summarize(sample(c, "b"));
    if (expects_error(c)) {
      EXPECT_THROW(welch_ttest(a, b, alternative(c), c["confidence"]), UndefinedError) << describe(c);
      continue;
    }
    expect_t_test(welch_ttest(a, b, alternative(c), c["confidence"]), c);
  }
}

TEST(StatsContinuous, PairedTTest) {
  for (const auto& c : cases("paired_ttest")) {
    auto a = sample(c, "a"), b = sample(c, "b");
    if (expects_error(c)) {
      EXPECT_THROW(paired_ttest(a, b, alternative(c), c["confidence"]), UndefinedError) << describe(c);
      continue;
    }
    expect_t_test(paired_ttest(a, b, alternative(c), c["confidence"]), c);
  }
  std::vector<double> three = {1, 2, 3}, two = {1, 2};
  EXPECT_THROW(paired_ttest(three, two), UsageError);
}

TEST(StatsContinuous, CohensDAndLift) {
  for (const auto& c : cases("cohens_d")) {
    auto a = summarize(sample(c, "a")), b = summarize(sample(c, "b"));
    if (expects_error(c))
      EXPECT_THROW(cohens_d(a, b), UndefinedError) << describe(c);
    else
      EXPECT_TRUE(v_close(cohens_d(a, b), c["value"])) << describe(c);
  }
  for (const auto& c : cases("continuous_lift")) {
    auto a = summarize(sample(c, "a")), b = summarize(sample(c, "b"));
    if (expects_error(c)) {
      EXPECT_THROW(relative_lift(a, b, c["confidence"]), UndefinedError) << describe(c);
      continue;
    }
    auto l = relative_lift(a, b, c["confidence"]);
    EXPECT_TRUE(v_close(l.value, c["value"])) << describe(c);
    EXPECT_TRUE(v_close(l.ci.low, c["low"])) << describe(c);
    EXPECT_TRUE(v_close(l.ci.high, c["high"])) << describe(c);
  }
  EXPECT_THROW(relative_lift(Summary{10, -1, 1}, Summary{10, 2, 1}), UndefinedError);
}

TEST(StatsContinuous, NonFiniteValuesAreNamed) {
  std::vector<double> v = {1, 2, NAN, 4};
  try {
    summarize(v, "variant B");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("variant B: value nan (position 3)"), std::string::npos) << e.what();
  }
}

// ---- ranks ------------------------------------------------------------------------

TEST(StatsRanks, MannWhitneyU) {
  for (const auto& c : cases("mann_whitney")) {
    auto a = sample(c, "a"), b = sample(c, "b");
    std::string m = c["method"];
    auto method = m == "auto"    ? MannWhitneyMethod::automatic
                  : m == "exact" ? MannWhitneyMethod::exact
                                 : MannWhitneyMethod::asymptotic;
    auto r = mann_whitney_u(a, b, alternative(c), method, c["continuity"]);
    EXPECT_TRUE(v_close(r.u_b, c["u"])) << describe(c);
    EXPECT_TRUE(p_close(r.p_value, c["p"])) << describe(c);
    EXPECT_EQ(r.exact, c["exact"].get<bool>()) << describe(c);
  }
}

TEST(StatsRanks, MannWhitneyErrors) {
  std::vector<double> empty, some = {1, 2, 3}, tied = {1, 2, 2}, nan = {1, NAN};
  EXPECT_THROW(mann_whitney_u(empty, some), UndefinedError);
  EXPECT_THROW(mann_whitney_u(some, nan), UsageError);
  EXPECT_THROW(mann_whitney_u(some, tied, Alternative::two_sided, MannWhitneyMethod::exact), UsageError);
  auto r = mann_whitney_u(some, tied, Alternative::two_sided, MannWhitneyMethod::automatic);
  EXPECT_FALSE(r.exact);
}

// ---- paired -----------------------------------------------------------------------

TEST(StatsPaired, McNemar) {
  for (const auto& c : cases("mcnemar")) {
    PairedTable t{c["both"], c["a_only"], c["b_only"], c["neither"]};
    bool exact = c["method"] == "exact";
    auto method = exact ? McNemarMethod::exact : McNemarMethod::chi_square;
    if (expects_error(c)) {
      EXPECT_THROW(mcnemar(t, method), UndefinedError) << describe(c);
      continue;
    }
    auto r = mcnemar(t, method);
    EXPECT_EQ(r.exact, exact);
    EXPECT_TRUE(v_close(r.statistic, c["statistic"])) << describe(c);
    EXPECT_TRUE(p_close(r.p_value, c["p"])) << describe(c);
    auto automatic = mcnemar(t);
    EXPECT_EQ(automatic.exact, t.a_only + t.b_only < k_mcnemar_exact_below);
  }
}

TEST(StatsPaired, TabulateCountsTheFourCells) {
  std::vector<std::uint8_t> a = {1, 1, 0, 0, 1, 7}, b = {1, 0, 1, 0, 1, 0};
  auto t = tabulate(a, b);
  EXPECT_EQ(t.both, 2);
  EXPECT_EQ(t.a_only, 2);
  EXPECT_EQ(t.b_only, 1);
  EXPECT_EQ(t.neither, 1);
  EXPECT_DOUBLE_EQ(t.rate_a(), 4.0 / 6);
  EXPECT_DOUBLE_EQ(t.rate_b(), 3.0 / 6);
  std::vector<std::uint8_t> shorter = {1};
  EXPECT_THROW(tabulate(a, shorter), UsageError);
}

TEST(StatsPaired, BootstrapOfPassRatesAgreesWithTheNormalInterval) {
  PairedTable t{700, 60, 95, 145};  // n = 1000, difference +0.035
  auto r = paired_bootstrap(t, {.resamples = 4000, .seed = 42});
  EXPECT_TRUE(r.grouped);
  EXPECT_DOUBLE_EQ(r.difference.value, 0.035);
  EXPECT_TRUE(r.difference.ci.contains(0.035));
  // Variance of the paired difference: (b + c)/n^2 - (c - b)^2/n^3.
  double n = 1000, se = std::sqrt((60 + 95) / (n * n) - 35.0 * 35 / (n * n * n));
  double width = r.difference.ci.high - r.difference.ci.low;
  EXPECT_NEAR(width, 2 * 1.959964 * se, 0.08 * 2 * 1.959964 * se);
  EXPECT_NEAR((r.difference.ci.low + r.difference.ci.high) / 2, 0.035, 0.2 * se);
  ASSERT_TRUE(r.lift.has_value());
  EXPECT_DOUBLE_EQ(r.lift->value, 795.0 / 760 - 1);
  EXPECT_TRUE(r.lift->ci.contains(r.lift->value));
}

TEST(StatsPaired, BootstrapIsDeterministicPerSeed) {
  PairedTable t{5000, 1000, 2000, 2000};
  auto one = paired_bootstrap(t, {.seed = 7});
  auto again = paired_bootstrap(t, {.seed = 7});
  auto other = paired_bootstrap(t, {.seed = 8});
  EXPECT_EQ(one.difference.ci.low, again.difference.ci.low);
  EXPECT_EQ(one.difference.ci.high, again.difference.ci.high);
  EXPECT_TRUE(one.difference.ci.low != other.difference.ci.low || one.difference.ci.high != other.difference.ci.high);
}

TEST(StatsPaired, GroupedAndPerUnitBootstrapAgree) {
  // Scores on a 1-5 scale: few distinct pairs, so the multinomial shortcut
  // applies; resampling units one by one must give the same interval up to
  // Monte Carlo error.
  Rng rng(3);
  std::vector<double> a(20000), b(20000);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = 1 + static_cast<double>(rng.below(5));
    b[i] = std::min(5.0, a[i] + static_cast<double>(rng.below(3)) - 0.8);
  }
  auto grouped = paired_bootstrap(a, b, {.resamples = 1000, .seed = 1});
  auto direct = paired_bootstrap(a, b, {.resamples = 1000, .seed = 1, .group_equal_pairs = false});
  EXPECT_TRUE(grouped.grouped);
  EXPECT_FALSE(direct.grouped);
  EXPECT_NEAR(grouped.difference.value, direct.difference.value, 1e-12);
  double width = direct.difference.ci.high - direct.difference.ci.low;
  EXPECT_NEAR(grouped.difference.ci.low, direct.difference.ci.low, 0.1 * width);
  EXPECT_NEAR(grouped.difference.ci.high, direct.difference.ci.high, 0.1 * width);
  ASSERT_TRUE(grouped.lift && direct.lift);
  EXPECT_NEAR(grouped.lift->ci.low, direct.lift->ci.low, 0.1 * (direct.lift->ci.high - direct.lift->ci.low));
}

TEST(StatsPaired, ContinuousBootstrapCoversTheMeanDifference) {
  // 200 data sets with a true mean difference of 0.5: a 90% interval should
  // cover it about 180 times (binomial sd 4.2).
  Rng rng(11);
  int covered = 0;
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<double> a(200), b(200);
    for (std::size_t i = 0; i < a.size(); ++i) {
      a[i] = rng.uniform() * 10;
      b[i] = a[i] + 0.5 + (rng.uniform() - 0.5) * 6;
    }
    auto r = paired_bootstrap(a, b, {.resamples = 300, .confidence = 0.9, .seed = static_cast<std::uint64_t>(rep)});
    covered += r.difference.ci.contains(0.5);
  }
  EXPECT_GE(covered, 166);
  EXPECT_LE(covered, 194);
}

TEST(StatsPaired, BootstrapErrors) {
  EXPECT_THROW(paired_bootstrap(PairedTable{}, {}), UndefinedError);
  EXPECT_THROW(paired_bootstrap(PairedTable{1, 1, 1, 1}, {.resamples = 10}), UsageError);
  std::vector<double> a = {1, 2}, b = {1};
  EXPECT_THROW(paired_bootstrap(a, b), UsageError);
  auto no_lift = paired_bootstrap(PairedTable{0, 0, 5, 5}, {});
  EXPECT_FALSE(no_lift.lift.has_value());
}

// ---- random -----------------------------------------------------------------------

TEST(StatsRandom, SameSeedSameStream) {
  Rng a(99), b(99), c(100);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(Rng(99).next(), c.next());
}

TEST(StatsRandom, BinomialMatchesItsDistribution) {
  // Chi-square goodness of fit of 200,000 draws against the pmf, for the
  // inversion (n p < 10) and the BTRS (n p >= 10) branches, and p > 1/2.
  for (auto [n, p] : std::vector<std::pair<std::int64_t, double>>{{40, 0.1}, {200, 0.3}, {1000, 0.85}}) {
    Rng rng(static_cast<std::uint64_t>(n));
    std::map<std::int64_t, double> seen;
    const int draws = 200000;
    for (int i = 0; i < draws; ++i) ++seen[rng.binomial(n, p)];
    std::vector<double> observed, expected;
    double rest_o = draws, rest_e = draws;
    for (std::int64_t k = 0; k <= n; ++k) {
      double e = draws * (binomial_cdf(k, n, p) - binomial_cdf(k - 1, n, p));
      if (e < 20) continue;  // pool the sparse tails into one cell
      observed.push_back(seen[k]);
      expected.push_back(e);
      rest_o -= seen[k];
      rest_e -= e;
    }
    observed.push_back(rest_o);
    expected.push_back(rest_e);
    auto t = chi_square_goodness_of_fit(observed, expected);
    EXPECT_GT(t.p_value, 1e-4) << "n=" << n << " p=" << p << " chi2=" << t.statistic << " df=" << t.df;
  }
  Rng rng(1);
  EXPECT_EQ(rng.binomial(0, 0.3), 0);
  EXPECT_EQ(rng.binomial(10, 0), 0);
  EXPECT_EQ(rng.binomial(10, 1), 10);
  double sum = 0;
  for (int i = 0; i < 2000; ++i) sum += static_cast<double>(rng.binomial(1000000, 0.05));
  EXPECT_NEAR(sum / 2000, 50000, 5 * std::sqrt(1000000 * 0.05 * 0.95 / 2000));
}

TEST(StatsRandom, BelowIsUniform) {
  Rng rng(5);
  std::vector<double> counts(7, 0), expected(7, 70000.0 / 7);
  for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
  EXPECT_GT(chi_square_goodness_of_fit(counts, expected).p_value, 1e-4);
}

// ---- multiple testing, power, SRM, assignment ------------------------------------

TEST(StatsMultiple, Holm) {
  for (const auto& c : cases("holm")) {
    auto got = holm(c["p"].get<std::vector<double>>());
    auto want = c["adjusted"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(p_close(got[i], want[i])) << describe(c);
  }
  std::vector<double> bad = {0.1, 1.2};
  EXPECT_THROW(holm(bad), UsageError);
  EXPECT_TRUE(holm(std::vector<double>{}).empty());
}

TEST(StatsPower, SampleSizeMatchesStatsmodels) {
  for (const auto& c : cases("power")) {
    PowerRequest req{c["baseline"], c["mde"], c["alpha"], c["power"], c["ratio"], c["one_sided"]};
    auto s = sample_size_two_proportions(req);
    EXPECT_TRUE(v_close(s.effect_size, c["effect_size"])) << describe(c);
    EXPECT_TRUE(v_close(s.exact_a, c["exact_a"])) << describe(c);
    EXPECT_EQ(s.n_a, c["n_a"].get<std::int64_t>()) << describe(c);
    EXPECT_EQ(s.n_b, c["n_b"].get<std::int64_t>()) << describe(c);
    EXPECT_EQ(s.total, s.n_a + s.n_b);
    EXPECT_TRUE(v_close(s.achieved_power, c["achieved_power"])) << describe(c);
    EXPECT_GE(s.achieved_power, req.power);
  }
}

TEST(StatsPower, BadRequestsSayWhatToGive) {
  auto fails = [](PowerRequest r, const std::string& text) {
    try {
      sample_size_two_proportions(r);
      ADD_FAILURE() << "no error for " << text;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
      EXPECT_FALSE(e.hint().empty());
    }
  };
  fails({.baseline = 1.2, .mde = 0.03}, "baseline pass rate 1.2");
  fails({.baseline = 0.8, .mde = 0}, "non-zero change");
  fails({.baseline = 0.8, .mde = 0.3}, "is not a pass rate");
  fails({.baseline = 0.8, .mde = 0.03, .alpha = 0}, "alpha");
  fails({.baseline = 0.8, .mde = 0.03, .power = 1}, "power 1");
  fails({.baseline = 0.8, .mde = 0.03, .alpha = 0.2, .power = 0.1}, "not above alpha");
  fails({.baseline = 0.8, .mde = 0.03, .ratio = 0}, "ratio 0");
}

TEST(StatsSrm, ChiSquareGoodnessOfFit) {
  for (const auto& c : cases("srm")) {
    auto counts = c["counts"].get<std::vector<std::int64_t>>();
    auto weights = c["weights"].get<std::vector<double>>();
    auto r = sample_ratio_mismatch(counts, weights);
    EXPECT_TRUE(v_close(r.test.statistic, c["statistic"])) << describe(c);
    EXPECT_TRUE(p_close(r.test.p_value, c["p"])) << describe(c);
    EXPECT_EQ(r.mismatch, c["p"].get<double>() < k_srm_threshold) << describe(c);
  }
  std::vector<std::int64_t> one = {10}, two = {10, 12}, none = {0, 0};
  std::vector<double> w1 = {1}, w2 = {1, 1}, zero = {1, 0};
  EXPECT_THROW(sample_ratio_mismatch(one, w1), UsageError);
  EXPECT_THROW(sample_ratio_mismatch(two, zero), UsageError);
  EXPECT_THROW(sample_ratio_mismatch(none, w2), UndefinedError);
}

TEST(StatsAssignment, MatchesThePythonRecipe) {
  for (const auto& c : cases("assignment")) {
    std::vector<Arm> arms;
    for (std::size_t i = 0; i < c["weights"].size(); ++i) arms.push_back({"v" + std::to_string(i), c["weights"][i]});
    Assignment split(c["experiment"], arms);
    EXPECT_EQ(assignment_bucket(c["experiment"].get<std::string>(), c["unit"].get<std::string>()),
              c["bucket"].get<double>())
        << describe(c);
    EXPECT_EQ(split.index_of(c["unit"].get<std::string>()), c["index"].get<std::size_t>()) << describe(c);
  }
}

TEST(StatsAssignment, FollowsTheSplitAndPassesTheSrmCheck) {
  Assignment split("exp-1", {{"control", 70}, {"b", 20}, {"c", 10}});
  std::vector<std::int64_t> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[split.index_of("unit-" + std::to_string(i))];
  std::vector<double> weights = {70, 20, 10};
  auto srm = sample_ratio_mismatch(counts, weights);
  EXPECT_FALSE(srm.mismatch) << srm.test.p_value;
  EXPECT_EQ(split.variant_of("unit-1"), split.variant_of("unit-1"));
  EXPECT_THROW(Assignment("", {{"a", 1}, {"b", 1}}), UsageError);
  EXPECT_THROW(Assignment("x", {{"a", 1}}), UsageError);
  EXPECT_THROW(Assignment("x", {{"a", 1}, {"a", 1}}), UsageError);
  EXPECT_THROW(Assignment("x", {{"a", 1}, {"b", 0}}), UsageError);
}

// ---- decision -----------------------------------------------------------------------

bool has_reason(const Decision& d, const std::string& text) {
  for (const auto& r : d.reasons)
    if (r.find(text) != std::string::npos) return true;
  return false;
}

TEST(StatsDecision, WinnerWhenSignificantBigEnoughAndGuardsHold) {
  DecisionPolicy policy{.alpha = 0.05, .better = Better::higher, .min_sample_size = 1000};
  VariantResult b{"b", 0.03, 0.001, 1200, {{"latency_ms", Better::lower, 12, 50}, {"cost", Better::lower, -0.1, 0}}};
  auto d = decide(policy, "a", 1200, {b});
  ASSERT_TRUE(d.winner.has_value());
  EXPECT_EQ(*d.winner, "b");
  EXPECT_TRUE(has_reason(d, "'b' beats 'a' by +0.03")) << d.reasons.front();
}

TEST(StatsDecision, NoDecisionSaysWhy) {
  DecisionPolicy policy{.alpha = 0.05, .better = Better::higher, .min_sample_size = 1000};
  VariantResult b{"b", 0.03, 0.001, 800, {}};
  auto small = decide(policy, "a", 1200, {b});
  EXPECT_FALSE(small.winner);
  EXPECT_TRUE(has_reason(small, "'b' has 800 units, below the minimum sample size of 1000"));

  b.n = 1200;
  b.p_value = 0.2;
  auto weak = decide(policy, "a", 1200, {b});
  EXPECT_FALSE(weak.winner);
  EXPECT_TRUE(has_reason(weak, "'b' is not significantly different from 'a' (p = 0.2"));

  b.p_value = 0.001;
  b.guards = {{"latency_ms", Better::lower, 80, 50}};
  auto slow = decide(policy, "a", 1200, {b});
  EXPECT_FALSE(slow.winner);
  EXPECT_TRUE(has_reason(slow, "'b' regressed guard 'latency_ms' by 80 (limit 50)"));
  EXPECT_EQ(slow.variants.at(0).regressed_guards, std::vector<std::string>{"latency_ms"});
}

TEST(StatsDecision, LowerIsBetterAndControlCanWin) {
  DecisionPolicy policy{.alpha = 0.05, .better = Better::lower};
  auto d = decide(policy, "a", 100, {{"b", -5, 0.01, 100, {}}});
  EXPECT_EQ(d.winner.value_or(""), "b");
  auto worse = decide(policy, "a", 100, {{"b", 5, 0.01, 100, {}}, {"c", 3, 0.001, 100, {}}});
  EXPECT_EQ(worse.winner.value_or(""), "a");
  EXPECT_TRUE(has_reason(worse, "every variant is significantly worse than 'a'"));
}

TEST(StatsDecision, HolmAcrossVariantsAndTheBestQualifyingWins) {
  DecisionPolicy policy{.alpha = 0.05};
  // 0.03 alone would pass; second smallest of three, Holm doubles it to 0.06.
  auto d =
      decide(policy, "a", 500, {{"b", 0.02, 0.03, 500, {}}, {"c", 0.05, 0.001, 500, {}}, {"d", 0.04, 0.2, 500, {}}});
  EXPECT_EQ(d.winner.value_or(""), "c");
  EXPECT_TRUE(has_reason(d, "'b' is not significantly different from 'a' (Holm-adjusted p = 0.06"));
  EXPECT_THROW(decide(policy, "a", 1, {}), UsageError);
  EXPECT_THROW(decide(policy, "a", 1, {{"b", 1, 2.0, 1, {}}}), UsageError);
  EXPECT_THROW(decide(policy, "a", 1, {{"b", 1, 0.5, 1, {{"cost", Better::lower, 0, -1}}}}), UsageError);
}

}  // namespace
}  // namespace mlops::stats
