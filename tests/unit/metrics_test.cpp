#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "metrics/classification.hpp"
#include "metrics/error.hpp"
#include "metrics/fairness.hpp"
#include "metrics/json.hpp"
#include "metrics/ranking.hpp"
#include "metrics/regression.hpp"
#include "metrics/schema.hpp"
#include "metrics/text.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace mlops::metrics {
namespace {

using nlohmann::json;

// Values from tests/golden/make_metrics_golden.py (promptfoo, js-rouge,
// fastest-levenshtein, scikit-learn, fairlearn, python-jsonschema).
const json& golden() {
  static const json g = [] {
    std::ifstream in(std::string(MLOPS_GOLDEN_DIR) + "/metrics.json");
    return json::parse(in);
  }();
  return g;
}

// Tolerance for values whose summation order may differ from numpy's.
constexpr double k_tol = 1e-9;

std::vector<std::string> strings(const json& j) {
  return j.get<std::vector<std::string>>();
}

// ---- text ---------------------------------------------------------------------------

TEST(Bleu, MatchesPromptfoo) {
  const auto& cases = golden()["text"]["bleu"];
  ASSERT_GT(cases.size(), 25u);
  for (const auto& c : cases)
    EXPECT_NEAR(bleu(c["candidate"].get<std::string>(), strings(c["references"])), c["expected"].get<double>(), k_tol)
        << c["candidate"];
}

TEST(Bleu, EdgeCases) {
  EXPECT_THROW(bleu("text", {}), UsageError);
  EXPECT_EQ(bleu("", {"ref"}), 0.0);
  EXPECT_EQ(bleu(" \t\n", {"ref"}), 0.0);
  EXPECT_DOUBLE_EQ(bleu("Same Words Here", {"same words here"}), 1.0);
}

TEST(Rouge, MatchesPromptfooAndJsRouge) {
  const auto& cases = golden()["text"]["rouge"];
  ASSERT_GT(cases.size(), 25u);
  for (const auto& c : cases) {
    const auto cand = c["candidate"].get<std::string>(), ref = c["reference"].get<std::string>();
    for (int n = 1; n <= 3; ++n)
      EXPECT_NEAR(rouge_n(cand, ref, n), c["rouge_n"][std::to_string(n)].get<double>(), k_tol) << n << " " << cand;
    EXPECT_NEAR(rouge_l(cand, ref), c["rouge_l"].get<double>(), k_tol) << cand;
  }
}

TEST(Rouge, EdgeCases) {
  EXPECT_THROW(rouge_n("a", "a", 0), UsageError);
  EXPECT_EQ(rouge_n("", "reference"), 0.0);
  EXPECT_EQ(rouge_n("candidate", ""), 0.0);
  EXPECT_EQ(rouge_l("", ""), 0.0);
  EXPECT_EQ(rouge_n("one", "one", 2), 0.0);  // fewer tokens than n
  // The final period stands apart, so "sat." and "sat" match.
  EXPECT_DOUBLE_EQ(rouge_n("The cat sat.", "the cat sat"), 2 * 0.75 * 1.0 / 1.75);
}

TEST(TokenF1, MatchesSquadDefinition) {
  for (const auto& c : golden()["text"]["token_f1"])
    EXPECT_NEAR(token_f1(c["candidate"].get<std::string>(), c["reference"].get<std::string>()),
                c["expected"].get<double>(), k_tol)
        << c["candidate"] << " / " << c["reference"];
}

TEST(Levenshtein, MatchesFastestLevenshtein) {
  for (const auto& c : golden()["text"]["levenshtein"]) {
    const auto a = c["a"].get<std::string>(), b = c["b"].get<std::string>();
    const auto d = c["expected"].get<std::size_t>();
    EXPECT_EQ(levenshtein(a, b), d) << a << " / " << b;
    EXPECT_EQ(levenshtein(b, a), d);
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{5}, d > 0 ? d - 1 : 0, d, d + 1, d + 40})
      EXPECT_EQ(levenshtein(a, b, k), std::min(d, k + 1)) << a << " / " << b << " bound " << k;
  }
}

TEST(Levenshtein, CountsCodePointsAndNoTranspositions) {
  EXPECT_EQ(levenshtein("ab", "ba"), 2u);
  EXPECT_EQ(util::levenshtein("ab", "ba"), 1u);    // the CLI's typo distance counts a swap once
  EXPECT_EQ(levenshtein("한", "학"), 1u);          // one syllable, three bytes
  EXPECT_EQ(levenshtein("😀", ""), 1u);             // fastest-levenshtein counts 2 UTF-16 units
  EXPECT_EQ(levenshtein("\xff\xfe", "\xff"), 1u);  // invalid bytes count one each
  std::string a(64, 'a'), b(64, 'a');
  b[63] = 'b';
  EXPECT_EQ(levenshtein(a + "x", b + "x"), 1u);
  EXPECT_EQ(levenshtein(std::string(65, 'a'), std::string(130, 'b')), 130u);
}

TEST(Cosine, DefinedAndUndefined) {
  EXPECT_DOUBLE_EQ(cosine({1, 0}, {0, 1}), 0.0);
  EXPECT_DOUBLE_EQ(cosine({1, 2, 3}, {2, 4, 6}), 1.0);
  EXPECT_NEAR(cosine({1, 2, 3}, {4, 5, 6}), 32 / (std::sqrt(14.0) * std::sqrt(77.0)), 1e-15);
  EXPECT_DOUBLE_EQ(cosine({1, 1}, {-1, -1}), -1.0);
  EXPECT_THROW(cosine({1, 2}, {1, 2, 3}), UsageError);
  EXPECT_THROW(cosine({}, {}), UsageError);
  EXPECT_THROW(cosine({0, 0}, {1, 2}), UsageError);
}

TEST(TextMetrics, LongInputsStayFast) {
  std::string a, b;
  for (int i = 0; i < 20000; ++i) {
    a += "word" + std::to_string(i % 97) + " ";
    b += "word" + std::to_string((i * 7) % 89) + " ";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_GT(levenshtein(a.substr(0, 20000), b.substr(0, 20000)), 1000u);  // O(n * m / 64)
  EXPECT_EQ(levenshtein(a, b, 5), 6u);                                    // O(n * bound)
  EXPECT_EQ(levenshtein(a, a + "!", 5), 1u);
  EXPECT_GT(bleu(a, {b}), 0.0);
  EXPECT_GT(rouge_n(a, b), 0.0);
  EXPECT_GT(rouge_l(a, b), 0.0);
  EXPECT_GT(token_f1(a, b), 0.0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// ---- JSON -----------------------------------------------------------------------------

TEST(ParseJson, WholeTextOnly) {
  EXPECT_EQ(*parse_json(" {\"a\": [1, 2.5, null]}\n"), json::parse(R"({"a":[1,2.5,null]})"));
  EXPECT_EQ(*parse_json("42"), json(42));
  EXPECT_EQ(*parse_json("\"s\""), json("s"));
  EXPECT_FALSE(parse_json(""));
  EXPECT_FALSE(parse_json("{\"a\": 1} trailing"));
  EXPECT_FALSE(parse_json("{a: 1}"));
  EXPECT_FALSE(parse_json("[1, 2,]"));
  EXPECT_FALSE(parse_json("\xEF\xBB\xBF{}"));  // JSON.parse refuses a byte-order mark too
  EXPECT_EQ(*parse_json(R"({"k": "서울"})"), json({{"k", "서울"}}));
}

TEST(ExtractJson, FindsEveryEmbeddedValue) {
  auto v = extract_json_values(
      "Sure! Here it is:\n```json\n{\"name\": \"Ada\", \"tags\": [\"x\", \"}\"]}\n```\nand also [1, 2] and {\"b\": "
      "{}}.");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], json::parse(R"({"name":"Ada","tags":["x","}"]})"));
  EXPECT_EQ(v[1], json::parse("[1,2]"));
  EXPECT_EQ(v[2], json::parse(R"({"b":{}})"));

  EXPECT_TRUE(extract_json_values("no json {here} or [there").empty());
  EXPECT_TRUE(extract_json_values("").empty());
  // A broken outer value still yields the complete ones inside it.
  v = extract_json_values(R"({"a": {"b": 1}, "c": [1, 2], oops} then {"d": 2})");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], json::parse(R"({"b":1})"));
  EXPECT_EQ(v[1], json::parse("[1,2]"));
  EXPECT_EQ(v[2], json::parse(R"({"d":2})"));
  // Truncated output (a token limit): the finished items are still found.
  v = extract_json_values(R"([{"id": 1}, {"id": 2}, {"id": 3, "na)");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1], json::parse(R"({"id":2})"));
  // A failure at a bracket restarts there.
  v = extract_json_values(R"({"note": "x" {"real": true}})");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], json::parse(R"({"real":true})"));
  // Values back to back, and scalars left alone.
  v = extract_json_values("{}{}[]\"str\" 5 true");
  EXPECT_EQ(v.size(), 3u);
}

TEST(ExtractJson, LinearOnAdversarialText) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(extract_json_values(std::string(200000, '[')).empty());
  EXPECT_TRUE(extract_json_values(std::string(200000, '{')).empty());
  std::string nested;
  for (int i = 0; i < 50000; ++i) nested += "[1,";
  EXPECT_TRUE(extract_json_values(nested).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// ---- JSON Schema ----------------------------------------------------------------------

TEST(JsonSchema, MatchesPythonJsonschema) {
  const auto& cases = golden()["json_schema"];
  ASSERT_GT(cases.size(), 40u);
  for (const auto& c : cases) {
    JsonSchema schema(c["schema"]);
    std::vector<std::vector<std::string>> got;
    for (const auto& e : schema.validate(c["instance"])) {
      EXPECT_FALSE(e.message.empty());
      got.push_back({e.instance_path, e.keyword});
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(json(got), c["errors"]) << "schema " << c["schema"] << "\ninstance " << c["instance"];
    EXPECT_EQ(schema.is_valid(c["instance"]), c["valid"].get<bool>()) << c["instance"];
  }
}

TEST(JsonSchema, ErrorMessagesNameTheProblem) {
  JsonSchema s(json::parse(R"({"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}})"));
  auto errors = s.validate(json::parse(R"({"name": 1})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "\"id\" is a required property");
  errors = s.validate(json::parse(R"({"id": "7"})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].instance_path, "/id");
  EXPECT_EQ(errors[0].message, "\"7\" is not of type integer");
}

TEST(JsonSchema, InvalidSchemasAreConfigErrors) {
  auto message = [](const char* text) {
    try {
      JsonSchema s(json::parse(text), "suite.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(R"({"type": "strin"})"), "suite.yaml at /type: unknown type \"strin\"");
  EXPECT_EQ(message(R"({"properties": {"a": {"minLength": -1}}})"),
            "suite.yaml at /properties/a/minLength: must be a non-negative integer");
  EXPECT_NE(message(R"({"pattern": "(unclosed"})").find("suite.yaml at /pattern: invalid regular expression"),
            std::string::npos);
  EXPECT_EQ(message(R"({"$ref": "#/definitions/missing"})"),
            "suite.yaml at /$ref: $ref \"#/definitions/missing\" points to nothing");
  EXPECT_NE(message(R"({"$ref": "https://example.com/s.json"})").find("only references within the schema"),
            std::string::npos);
  EXPECT_EQ(message("42"), "suite.yaml at /: a schema must be an object or a boolean, not 42");
  EXPECT_EQ(message(R"({"multipleOf": 0})"), "suite.yaml at /multipleOf: must be greater than 0");
  EXPECT_EQ(message(R"({"anyOf": []})"), "suite.yaml at /anyOf: must be a non-empty array of schemas");
}

TEST(JsonSchema, RefCyclesAreCaught) {
  JsonSchema loop(json::parse(R"({"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#"})"));
  EXPECT_THROW(loop.validate(1), ConfigError);
  // Recursion through the instance is fine however deep the schema refers to itself.
  JsonSchema list(
      json::parse(R"({"definitions": {"l": {"type": ["array", "integer"], "items": {"$ref": "#/definitions/l"}}},
                                  "$ref": "#/definitions/l"})"));
  EXPECT_TRUE(list.is_valid(json::parse("[1, [2, [3, []]]]")));
  EXPECT_FALSE(list.is_valid(json::parse("[1, [2, [\"x\"]]]")));
}

TEST(JsonSchema, CompiledOnceValidatesManyFast) {
  JsonSchema s(json::parse(R"({"type":"object","properties":{"email":{"type":"string","pattern":"^[^@]+@[^@]+$"}}})"));
  const json ok = {{"email", "a@b.c"}}, bad = {{"email", "nope"}};
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(s.is_valid(ok));
    ASSERT_FALSE(s.is_valid(bad));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// ---- classification -------------------------------------------------------------------

TEST(Classification, MatchesScikitLearn) {
  for (const auto& c : golden()["classification"]) {
    auto r = classification_report(strings(c["truth"]), strings(c["predicted"]));
    ASSERT_EQ(r.labels, strings(c["labels"]));
    ASSERT_EQ(r.classes.size(), r.labels.size());
    for (std::size_t i = 0; i < r.classes.size(); ++i) {
      EXPECT_EQ(r.classes[i].label, r.labels[i]);
      EXPECT_NEAR(r.classes[i].precision, c["precision"][i].get<double>(), k_tol) << r.labels[i];
      EXPECT_NEAR(r.classes[i].recall, c["recall"][i].get<double>(), k_tol) << r.labels[i];
      EXPECT_NEAR(r.classes[i].f1, c["f1"][i].get<double>(), k_tol) << r.labels[i];
      EXPECT_EQ(r.classes[i].support, c["support"][i].get<std::size_t>());
    }
    EXPECT_NEAR(r.accuracy, c["accuracy"].get<double>(), k_tol);
    EXPECT_EQ(json(r.confusion), c["confusion"]);
    EXPECT_EQ(r.samples, c["truth"].size());
    for (auto [name, avg] : {std::pair{"macro", &r.macro}, {"micro", &r.micro}, {"weighted", &r.weighted}}) {
      EXPECT_NEAR(avg->precision, c[name][0].get<double>(), k_tol) << name;
      EXPECT_NEAR(avg->recall, c[name][1].get<double>(), k_tol) << name;
      EXPECT_NEAR(avg->f1, c[name][2].get<double>(), k_tol) << name;
    }
  }
}

TEST(Classification, UndefinedInputs) {
  EXPECT_THROW(classification_report({"a"}, {}), UndefinedMetric);
  EXPECT_THROW(classification_report({}, {}), UndefinedMetric);
}

void expect_near_all(const std::vector<double>& got, const json& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (want[i].is_null())
      EXPECT_TRUE(std::isinf(got[i]) && got[i] > 0) << what << "[" << i << "]";
    else
      EXPECT_NEAR(got[i], want[i].get<double>(), k_tol) << what << "[" << i << "]";
  }
}

TEST(Ranking, MatchesScikitLearn) {
  for (const auto& c : golden()["ranking"]) {
    std::vector<bool> positive;
    for (const auto& v : c["positive"]) positive.push_back(v.get<int>() == 1);
    const auto scores = c["scores"].get<std::vector<double>>();
    if (c.contains("roc_auc")) {
      EXPECT_NEAR(roc_auc(positive, scores), c["roc_auc"].get<double>(), k_tol);
      auto roc = roc_curve(positive, scores);
      expect_near_all(roc.fpr, c["roc"]["fpr"], "fpr");
      expect_near_all(roc.tpr, c["roc"]["tpr"], "tpr");
      expect_near_all(roc.thresholds, c["roc"]["thresholds"], "roc thresholds");
    } else {
      EXPECT_THROW(roc_auc(positive, scores), UndefinedMetric);
      EXPECT_THROW(roc_curve(positive, scores), UndefinedMetric);
    }
    auto pr = precision_recall_curve(positive, scores);
    expect_near_all(pr.precision, c["pr"]["precision"], "precision");
    expect_near_all(pr.recall, c["pr"]["recall"], "recall");
    expect_near_all(pr.thresholds, c["pr"]["thresholds"], "pr thresholds");
    EXPECT_NEAR(average_precision(positive, scores), c["average_precision"].get<double>(), k_tol);
  }
}

TEST(Ranking, UndefinedInputs) {
  EXPECT_THROW(roc_auc({true, false}, {0.5}), UndefinedMetric);
  EXPECT_THROW(average_precision({}, {}), UndefinedMetric);
  EXPECT_THROW(roc_auc({true, false}, {0.5, std::nan("")}), UndefinedMetric);
  try {
    roc_auc({true, true}, {0.1, 0.2});
    FAIL();
  } catch (const UndefinedMetric& e) {
    EXPECT_EQ(std::string(e.what()), "roc auc: only one class is present in the true labels, so it is undefined");
  }
}

// ---- fairness -------------------------------------------------------------------------

TEST(Fairness, MatchesFairlearn) {
  for (const auto& c : golden()["fairness"]) {
    auto r = fairness_report(strings(c["groups"]), strings(c["truth"]), strings(c["predicted"]),
                             c["positive"].get<std::string>());
    ASSERT_EQ(r.groups.size(), c["by_group"].size());
    for (const auto& g : r.groups) {
      const auto& want = c["by_group"][g.group];
      EXPECT_NEAR(g.selection_rate, want["selection_rate"].get<double>(), k_tol) << g.group;
      EXPECT_NEAR(g.true_positive_rate, want["tpr"].get<double>(), k_tol) << g.group;
      EXPECT_NEAR(g.false_positive_rate, want["fpr"].get<double>(), k_tol) << g.group;
    }
    EXPECT_NEAR(r.demographic_parity_difference, c["demographic_parity_difference"].get<double>(), k_tol);
    EXPECT_NEAR(r.equal_opportunity_difference, c["equal_opportunity_difference"].get<double>(), k_tol);
    EXPECT_NEAR(r.equalized_odds_difference, c["equalized_odds_difference"].get<double>(), k_tol);
    if (c["demographic_parity_ratio"].is_null()) {
      EXPECT_FALSE(r.demographic_parity_ratio);
      EXPECT_TRUE(r.passes_four_fifths);
    } else {
      ASSERT_TRUE(r.demographic_parity_ratio);
      const double ratio = c["demographic_parity_ratio"].get<double>();
      EXPECT_NEAR(*r.demographic_parity_ratio, ratio, k_tol);
      EXPECT_EQ(r.passes_four_fifths, ratio >= k_four_fifths);
    }
  }
}

TEST(Fairness, CountsAndUndefinedInputs) {
  auto r = fairness_report({"a", "a", "b"}, {"yes", "no", "yes"}, {"yes", "yes", "no"}, "yes");
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].samples, 2u);
  EXPECT_EQ(r.groups[0].positives, 1u);
  EXPECT_FALSE(r.passes_four_fifths);  // b selects nobody while a selects everyone
  EXPECT_THROW(fairness_report({"a"}, {"1"}, {}, "1"), UndefinedMetric);
  EXPECT_THROW(fairness_report({}, {}, {}, "1"), UndefinedMetric);
}

TEST(Regression, MatchesScikitLearnDocumentedExample) {
  // sklearn.metrics docs: y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8]
  // mean_squared_error 0.375, mean_absolute_error 0.5, r2_score 0.9486081370449679.
  auto r = regression_report({3, -0.5, 2, 7}, {2.5, 0.0, 2, 8});
  EXPECT_DOUBLE_EQ(r.rmse, std::sqrt(0.375));
  EXPECT_DOUBLE_EQ(r.mae, 0.5);
  EXPECT_NEAR(r.r2, 0.9486081370449679, 1e-15);
  EXPECT_EQ(r.samples, 4u);
  // Constant truth: 1 for a perfect prediction, 0 otherwise (sklearn's force_finite).
  EXPECT_EQ(regression_report({2, 2}, {2, 2}).r2, 1.0);
  EXPECT_EQ(regression_report({2, 2}, {1, 3}).r2, 0.0);
  EXPECT_THROW(regression_report({1, 2}, {1}), UndefinedMetric);
  EXPECT_THROW(regression_report({}, {}), UndefinedMetric);
  EXPECT_THROW(regression_report({1, std::nan("")}, {1, 2}), UndefinedMetric);
}

}  // namespace
}  // namespace mlops::metrics
