// eval module: the HTML report writer and the similar assertion.
#include <gtest/gtest.h>

#include <sstream>

#include "eval/html_report.hpp"
#include "eval/results.hpp"
#include "eval/similar.hpp"
#include "eval/suite.hpp"
#include "store/db.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::eval {
namespace {

using nlohmann::json;

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<store::Db>(dir_ / "state.db", store::Db::Mode::create);
    results_ = std::make_unique<Results>(*db_);
    run_.id = "20260101-000000-abcd";
    run_.description = "Capitals <b>suite</b>";
    run_.config_path = "/tmp/suite.yaml";
    run_.started_ms = 1'767'225'600'000;
    run_.status = "running";
    results_->create(run_);
  }
  std::string render(const HtmlOptions& o = {}) {
    std::ostringstream os;
    write_html(*results_, run_, os, o);
    return os.str();
  }
  ResultRow row(std::int64_t idx, bool pass, const std::string& output) {
    ResultRow r;
    r.idx = idx;
    r.test_idx = idx;
    r.prompt = "p1";
    r.provider = "openai:gpt-4o-mini";
    r.description = "test " + std::to_string(idx);
    r.vars = {{"city", "Paris"}};
    r.output = output;
    r.pass = pass;
    r.score = pass ? 1 : 0.25;
    r.latency_ms = 100.0 + static_cast<double>(idx);
    r.cost_usd = 0.001;
    r.tokens_in = 10;
    r.tokens_out = 5;
    r.assertions = json::array({{{"type", "contains"},
                                 {"pass", pass},
                                 {"score", pass ? 1 : 0},
                                 {"weight", 1},
                                 {"reason", pass ? "" : "expected output to contain \"Paris\""}}});
    return r;
  }
  void finish(std::int64_t total, std::int64_t passed) {
    run_.status = passed == total ? "passed" : "failed";
    run_.finished_ms = run_.started_ms + 1500;
    run_.total = total;
    run_.passed = passed;
    run_.failed = total - passed;
    run_.summary = {
        {"gate", {{"passed", passed == total}, {"pass_threshold", 1.0}, {"reasons", json::array({"pass rate low"})}}}};
    results_->finish(run_);
  }
  testing::ScratchDir dir_{"eval-html"};
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<Results> results_;
  RunInfo run_;
};

TEST(HtmlEscape, EscapesMarkupAndReplacesInvalidUtf8) {
  EXPECT_EQ(html_escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  EXPECT_EQ(html_escape("caf\xC3\xA9 \xFF"), "caf\xC3\xA9 \xEF\xBF\xBD");
}

TEST(ScriptJson, CannotCloseTheScriptBlock) {
  json j = {{"out", "</script><script>alert(1)</script>"}, {"sep", "a\u2028b"}, {"amp", "&"}};
  std::string s = script_json(j);
  EXPECT_EQ(s.find('<'), std::string::npos);
  EXPECT_EQ(s.find('>'), std::string::npos);
  EXPECT_EQ(s.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(json::parse(s), j);  // the same data once parsed
  EXPECT_EQ(json::parse(script_json({{"bad", std::string("\xFF")}}))["bad"], "\xEF\xBF\xBD");
}

TEST_F(HtmlReportTest, OutputWithScriptTagsIsEscapedEverywhere) {
  std::vector<ResultRow> rows = {row(0, true, "Paris"), row(1, false, "<script>alert('pwned')</script>")};
  rows[1].vars = {{"city", "</script><img src=x onerror=alert(2)>"}};
  rows[1].description = "<i>tricky</i>";
  rows[1].prompt = "<b>prompt</b>";
  results_->append(run_.id, rows);
  finish(2, 1);
  std::string html = render();
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_EQ(html.find("<i>tricky"), std::string::npos);
  EXPECT_EQ(html.find("<b>prompt"), std::string::npos);
  EXPECT_EQ(html.find("<b>suite"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;prompt&lt;/b&gt;"), std::string::npos);  // in the chart labels and facts
  EXPECT_NE(html.find("\\u003cscript\\u003ealert('pwned')\\u003c/script\\u003e"), std::string::npos);
  // Exactly the two script blocks of the report, and one closing tag each.
  std::size_t closes = 0;
  for (auto at = html.find("</script>"); at != std::string::npos; at = html.find("</script>", at + 1)) ++closes;
  EXPECT_EQ(closes, 2u);
}

TEST_F(HtmlReportTest, SelfContainedWithSummaryChartsAndData) {
  std::vector<ResultRow> rows;
  for (int i = 0; i < 20; ++i) rows.push_back(row(i, i % 4 != 0, "answer " + std::to_string(i)));
  rows[3].provider = "anthropic:claude";
  rows[5].error = "openai failed (HTTP 500)";
  rows[5].output.reset();
  rows[4].assertions[0]["expected"] = "Paris";
  results_->append(run_.id, rows);
  finish(20, 15);
  std::string html = render();
  for (const char* banned : {"http://", "https://", "src=\"", "<link", "@import", "url("})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find("Pass rate by prompt × provider"), std::string::npos);
  EXPECT_NE(html.find("Score distribution"), std::string::npos);
  EXPECT_NE(html.find("Latency distribution"), std::string::npos);
  EXPECT_NE(html.find("Cost per provider"), std::string::npos);
  EXPECT_NE(html.find("Assertions by type"), std::string::npos);
  EXPECT_NE(html.find("pass rate low"), std::string::npos);  // gate reason
  EXPECT_NE(html.find("<svg"), std::string::npos);
  // The embedded rows parse back as JSON, one per result.
  auto start = html.find("type=\"application/json\">");
  ASSERT_NE(start, std::string::npos);
  start = html.find('>', start) + 1;
  auto end = html.find("</script>", start);
  json data = json::parse(html.substr(start, end - start));
  ASSERT_EQ(data["rows"].size(), 20u);
  EXPECT_EQ(data["providers"], json({"openai:gpt-4o-mini", "anthropic:claude"}));
  EXPECT_EQ(data["rows"][3][4], 1);   // provider index
  EXPECT_EQ(data["rows"][5][10], 2);  // error status
  EXPECT_EQ(data["rows"][4][10], 1);  // failed
  EXPECT_EQ(data["rows"][1][10], 0);  // passed
  EXPECT_EQ(data["rows"][4][17][0][3], "expected output to contain \"Paris\"");
  EXPECT_EQ(data["rows"][4][17][0][4], "Paris");  // for the diff
  EXPECT_TRUE(data["rows"][1][17][0][4].is_null());
  EXPECT_EQ(data["failures"], 6);  // 5 failed and 1 error
}

TEST_F(HtmlReportTest, LongOutputsAreCutAtCharacterBoundaries) {
  std::string long_text;
  for (int i = 0; i < 3000; ++i) long_text += "é";  // 2 bytes each
  results_->append(run_.id, {row(0, true, long_text)});
  finish(1, 1);
  HtmlOptions o;
  o.max_output_bytes = 1001;  // cuts inside a character: back to 1000 bytes
  std::string html = render(o);
  auto start = html.find('>', html.find("type=\"application/json\">")) + 1;
  json data = json::parse(html.substr(start, html.find("</script>", start) - start));
  EXPECT_EQ(data["rows"][0][7].get<std::string>().size(), 1000u);
  EXPECT_EQ(data["rows"][0][8], 5000);  // bytes left out
}

TEST_F(HtmlReportTest, TenThousandResultsStayCompact) {
  std::vector<ResultRow> rows;
  for (int i = 0; i < 10'000; ++i) rows.push_back(row(i, i % 3 != 0, "The capital of France is Paris."));
  results_->append(run_.id, rows);
  finish(10'000, 6'666);
  std::string html = render();
  // One data row per result, no per-result markup: well under 500 bytes a result.
  EXPECT_LT(html.size(), 10'000u * 500);
  EXPECT_EQ(html.find("<tr><td>"), std::string::npos);
}

TEST_F(HtmlReportTest, ClassificationAndFairnessSections) {
  results_->append(run_.id, {row(0, true, "spam")});
  finish(1, 1);
  run_.summary["classification"] = {
      {"samples", 8},
      {"accuracy", 0.75},
      {"labels", {"ham", "spam"}},
      {"confusion_matrix", {{3, 1}, {1, 3}}},
      {"macro", {{"precision", 0.75}, {"recall", 0.75}, {"f1", 0.75}}},
      {"classes",
       json::array({{{"label", "ham"}, {"precision", 0.75}, {"recall", 0.75}, {"f1", 0.75}, {"support", 4}}})},
      {"fairness",
       {{"groups",
         json::array({{{"group", "a"}, {"selection_rate", 0.75}}, {{"group", "b"}, {"selection_rate", 0.25}}})},
        {"demographic_parity_difference", 0.5},
        {"disparate_impact", 0.3333},
        {"passes_four_fifths", false}}}};
  std::string html = render();
  EXPECT_NE(html.find("Confusion matrix"), std::string::npos);
  EXPECT_NE(html.find("true ham, predicted spam: 1"), std::string::npos);
  EXPECT_NE(html.find("Selection rate by group"), std::string::npos);
  EXPECT_NE(html.find("fails the four-fifths rule"), std::string::npos);
}

// ------------------------------------------------------------------ similar

AssertionSpec similar(bool negate = false, std::optional<double> threshold = std::nullopt) {
  AssertionSpec a;
  a.type = "similar";
  a.negate = negate;
  a.threshold = threshold;
  a.value = "x";
  return a;
}

TEST(Similar, PassesAtTheDefaultThresholdWithPromptfooReasons) {
  auto r = score_similar(similar(), {0.8});
  EXPECT_TRUE(r.pass);
  EXPECT_EQ(r.type, "similar");
  EXPECT_DOUBLE_EQ(r.score, 0.8);
  EXPECT_EQ(r.reason, "Similarity 0.80 is greater than threshold 0.75");
  r = score_similar(similar(), {0.74});
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(r.score, 0.74);
  EXPECT_EQ(r.reason, "Similarity 0.74 is less than threshold 0.75");
  EXPECT_TRUE(score_similar(similar(false, 0.9), {0.9}).pass);  // the threshold itself passes
}

TEST(Similar, NotSimilarInvertsPassAndScore) {
  auto r = score_similar(similar(true), {0.2});
  EXPECT_TRUE(r.pass);
  EXPECT_EQ(r.type, "not-similar");
  EXPECT_DOUBLE_EQ(r.score, 0.8);
  EXPECT_EQ(r.reason, "Similarity 0.20 is less than threshold 0.75");
  r = score_similar(similar(true, 0.5), {0.9});
  EXPECT_FALSE(r.pass);
  EXPECT_NEAR(r.score, 0.1, 1e-12);
  EXPECT_EQ(r.reason, "Similarity 0.90 is greater than threshold 0.5");
}

TEST(Similar, ListPassesOnTheFirstSimilarValue) {
  auto r = score_similar(similar(false, 0.8), {0.1, 0.95, 0.85});
  EXPECT_TRUE(r.pass);
  EXPECT_DOUBLE_EQ(r.score, 0.95);
  r = score_similar(similar(false, 0.8), {0.3, 0.6});
  EXPECT_FALSE(r.pass);
  EXPECT_DOUBLE_EQ(r.score, 0.3);  // the lowest
  EXPECT_EQ(r.reason, "None of the provided values met the similarity threshold");
}

TEST(Similar, ProviderIds) {
  EXPECT_EQ(normalize_embedding_provider_id("openai:embedding:text-embedding-3-small"),
            "openai:text-embedding-3-small");
  EXPECT_EQ(normalize_embedding_provider_id("openai:embeddings:e"), "openai:e");
  EXPECT_EQ(normalize_embedding_provider_id("ollama:embeddings:nomic-embed-text"), "ollama:nomic-embed-text");
  EXPECT_EQ(normalize_embedding_provider_id("local:bge"), "local:bge");
  AssertionSpec a = similar();
  EXPECT_EQ(embedding_provider_for(a, ""), "openai:text-embedding-3-large");
  EXPECT_EQ(embedding_provider_for(a, "ollama:x"), "ollama:x");
  a.provider = "openai:y";
  EXPECT_EQ(embedding_provider_for(a, "ollama:x"), "openai:y");
}

TEST(Similar, ChecksRenderTheValueWithTheVars) {
  Evaluator ev;
  AssertionSpec a = similar();
  a.value = json::array({"{{ city }} is big", "plain"});
  auto c = similar_check(ev, a, {{"city", "Paris"}}, "out", "");
  EXPECT_EQ(c.expected, (std::vector<std::string>{"Paris is big", "plain"}));
  EXPECT_EQ(c.provider, "openai:text-embedding-3-large");
  EXPECT_EQ(c.output, "out");
}

Output answer(const std::string& text) {
  Output o;
  o.text = text;
  return o;
}

TEST(Assertions, FailedComparisonsCarryTheExpectedTextForDiffs) {
  Evaluator ev;
  AssertionSpec eq;
  eq.type = "equals";
  eq.value = "Paris is {{ what }}";
  auto r = ev.evaluate(eq, answer("Lyon is big"), {{"what", "big"}});
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.expected, "Paris is big");
  EXPECT_TRUE(ev.evaluate(eq, answer("Paris is big"), {{"what", "big"}}).expected.empty());  // passed
  eq.negate = true;
  EXPECT_TRUE(ev.evaluate(eq, answer("Paris is big"), {{"what", "big"}}).expected.empty());  // not-equals: no diff
  AssertionSpec contains;
  contains.type = "contains";
  contains.value = "x";
  EXPECT_TRUE(ev.evaluate(contains, answer("y"), json::object()).expected.empty());
}

class SuiteFile : public ::testing::Test {
 protected:
  Suite load(const std::string& yaml) {
    auto path = dir_ / "suite.yaml";
    util::atomic_write(path, yaml);
    return load_suite(path);
  }
  std::vector<TestCase> tests(const Suite& s) {
    std::vector<TestCase> out;
    for_each_test(s, [&](TestCase&& t) {
      out.push_back(std::move(t));
      return true;
    });
    return out;
  }
  testing::ScratchDir dir_{"eval-suite"};
};

TEST_F(SuiteFile, EmbeddingProviderFromOptionsAndAssertions) {
  auto s = load(R"(prompts: ["{{ q }}"]
providers: [echo]
defaultTest:
  options:
    provider:
      text: openai:chat:gpt-4o-mini
      embedding: openai:embedding:text-embedding-3-small
tests:
  - assert: [{type: similar, value: a}, {type: llm-rubric, value: nice}]
  - options: {provider: ollama:embeddings:nomic-embed-text}
    assert: [{type: not-similar, value: [a, b], threshold: 0.5}]
  - assert:
      - {type: "similar:cosine", value: a, provider: {embedding: {id: openai:embedding:big, config: {apiBaseUrl: "http://127.0.0.1:9/v1"}}}}
)");
  auto ts = tests(s);
  ASSERT_EQ(ts.size(), 3u);
  EXPECT_EQ(ts[0].asserts[0].provider, "openai:text-embedding-3-small");
  EXPECT_EQ(ts[0].asserts[1].provider, "openai:gpt-4o-mini");
  EXPECT_EQ(ts[1].asserts[0].provider, "ollama:nomic-embed-text");
  EXPECT_TRUE(ts[1].asserts[0].negate);
  EXPECT_EQ(ts[2].asserts[0].type, "similar");
  EXPECT_EQ(ts[2].asserts[0].provider, "eval-aux-0:big");
  ASSERT_EQ(s.aux_providers.size(), 1u);
  EXPECT_EQ(s.aux_providers[0].key, "openai:big");
  EXPECT_EQ(s.aux_providers[0].settings->base_url, "http://127.0.0.1:9/v1");
  EXPECT_NO_THROW(check_graders(s, ""));  // defaultTest.options.provider.text grades
}

TEST_F(SuiteFile, SimilarProblemsAreListedTogether) {
  try {
    load(R"(prompts: ["x"]
providers: [echo]
tests:
  - assert:
      - {type: similar}
      - {type: similar, value: [1, 2]}
      - {type: similar, value: x, threshold: 2}
      - {type: "similar:euclidean", value: x}
      - {type: llm-rubric, value: x, provider: openai:embedding:e}
)");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("has 5 problems"), std::string::npos) << m;
    EXPECT_NE(m.find("suite.yaml:4 assert[0]: 'similar' needs the expected text"), std::string::npos) << m;
    EXPECT_NE(m.find("cosine similarity between -1 and 1"), std::string::npos) << m;
    EXPECT_NE(m.find("assertion type 'similar:euclidean' is not supported"), std::string::npos) << m;
    EXPECT_NE(m.find("is an embedding provider; llm-rubric needs a chat model"), std::string::npos) << m;
  }
}

TEST_F(SuiteFile, CsvSimilarCells) {
  util::atomic_write(dir_ / "t.csv", "q,__expected\nhi,similar(0.8): hello there\nyo,not-similar: go away\n");
  auto s = load("prompts: [\"{{ q }}\"]\nproviders: [echo]\ntests: file://t.csv\n");
  auto ts = tests(s);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].asserts[0].type, "similar");
  EXPECT_EQ(ts[0].asserts[0].threshold, 0.8);
  EXPECT_EQ(ts[0].asserts[0].value, "hello there");
  EXPECT_TRUE(ts[1].asserts[0].negate);
  EXPECT_FALSE(ts[1].asserts[0].threshold);
}

}  // namespace
}  // namespace mlops::eval
