#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>

#include "data/dataset.hpp"
#include "data/loader.hpp"
#include "data/preprocess.hpp"
#include "store/db.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::data {
namespace {

using testing::error_of;

TEST(Csv, QuotesCrlfBomAndBlankLines) {
  auto t = parse_csv("\xEF\xBB\xBFname,note,score\r\n\"Ada, L\",\"say \"\"hi\"\"\",1.5\r\n\r\nBob,\"two\nlines\",2\n",
                     "d.csv");
  ASSERT_EQ(t.columns, (std::vector<std::string>{"name", "note", "score"}));
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(*t.cells[0][0], "Ada, L");
  EXPECT_EQ(*t.cells[1][0], "say \"hi\"");
  EXPECT_EQ(*t.cells[2][0], "1.5");
  EXPECT_EQ(*t.cells[1][1], "two\nlines");
  EXPECT_EQ(t.origin, (std::vector<std::size_t>{2, 4}));
  EXPECT_EQ(t.where(1), "d.csv:4");
}

TEST(Csv, MalformedInputNamesLineAndColumn) {
  EXPECT_EQ(error_of([] { parse_csv("a,b\n1,2\n3,\"4\n", "d.csv"); }),
            "d.csv:3: column 2 ('b'): a quoted field is never closed");
  EXPECT_EQ(error_of([] { parse_csv("a,b\n1,2\n3,x\"y\n", "d.csv"); }),
            "d.csv:3: column 2 ('b'): a quote inside an unquoted field");
  EXPECT_EQ(error_of([] { parse_csv("a,b\n\"1\"x,2\n", "d.csv"); }),
            "d.csv:2: column 1 ('a'): text after the closing quote of a quoted field");
  EXPECT_EQ(error_of([] { parse_csv("a,b,c\n1,2,3\n4,5\n", "d.csv"); }), "d.csv:3: 2 fields, but the header has 3");
  EXPECT_EQ(error_of([] { parse_csv("a,b\n1,2,3\n", "d.csv"); }), "d.csv:2: 3 fields, but the header has 2");
  EXPECT_EQ(error_of([] { parse_csv("a,b\n1,ok\n2,bad\xC3(\n", "d.csv"); }), "d.csv:3: column 2 ('b'): invalid UTF-8");
  EXPECT_EQ(error_of([] { parse_csv("", "d.csv"); }), "d.csv: the file is empty");
  EXPECT_EQ(error_of([] { parse_csv("\n\n", "d.csv"); }), "d.csv: the file is empty");
  EXPECT_EQ(error_of([] { parse_csv("a,b\n", "d.csv"); }), "d.csv: no data rows after the header");
  EXPECT_EQ(error_of([] { parse_csv("a,a\n1,2\n", "d.csv"); }), "d.csv:1: column name 'a' appears twice in the header");
  EXPECT_EQ(error_of([] { parse_csv("a,,c\n1,2,3\n", "d.csv"); }), "d.csv:1: column 2 of the header has no name");
  // Valid multi-byte UTF-8 passes.
  EXPECT_EQ(*parse_csv("a\nnaïve 한국\n", "d.csv").cells[0][0], "naïve 한국");
}

TEST(Jsonl, RecordsAndErrors) {
  auto t = parse_jsonl("{\"x\": 1, \"y\": \"a\"}\n\n{\"y\": \"b\", \"z\": true}\n{\"x\": null, \"y\": \"c\"}\n", "d.jsonl");
  ASSERT_EQ(t.columns, (std::vector<std::string>{"x", "y", "z"}));
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(*t.cells[0][0], "1");
  EXPECT_FALSE(t.cells[0][1].has_value());  // key absent
  EXPECT_FALSE(t.cells[0][2].has_value());  // null
  EXPECT_EQ(*t.cells[2][1], "true");
  EXPECT_FALSE(t.cells[2][0].has_value());
  EXPECT_EQ(t.origin, (std::vector<std::size_t>{1, 3, 4}));
  EXPECT_NE(error_of([] { parse_jsonl("{\"x\": 1}\n{\"x\": \n", "d.jsonl"); }).find("d.jsonl:2: not valid JSON"),
            std::string::npos);
  EXPECT_EQ(error_of([] { parse_jsonl("{\"x\": {\"a\": 1}}\n", "d.jsonl"); }),
            "d.jsonl:1: key 'x' holds object; a record's values must be numbers, strings, bools or null");
  EXPECT_EQ(error_of([] { parse_jsonl("[1, 2]\n", "d.jsonl"); }), "d.jsonl:1: expected a JSON object, found array");
  EXPECT_EQ(error_of([] { parse_jsonl("{\"x\": \"\xFF\"}\n", "d.jsonl"); }), "d.jsonl:1: invalid UTF-8");
  EXPECT_EQ(error_of([] { parse_jsonl(" \n", "d.jsonl"); }), "d.jsonl: the file is empty");
}

TEST(JsonArray, RecordsAndErrors) {
  auto t = parse_json_array("[{\"a\": 1.5, \"b\": \"x\"}, {\"a\": 2, \"b\": null}]", "d.json");
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(*t.cells[0][0], "1.5");
  EXPECT_FALSE(t.cells[1][1].has_value());
  EXPECT_EQ(t.where(1), "d.json element 1");
  EXPECT_EQ(error_of([] { parse_json_array("{\"a\": 1}", "d.json"); }),
            "d.json: expected a JSON array of objects, found object");
  EXPECT_EQ(error_of([] { parse_json_array("[{\"a\": 1}, 3]", "d.json"); }),
            "d.json element 1: expected a JSON object, found number");
  EXPECT_EQ(error_of([] { parse_json_array("[]", "d.json"); }), "d.json: no records");
  EXPECT_EQ(error_of([] { parse_json_array("[{\"a\": 1},\n{\"a\": \"\xC0\"}]", "d.json"); }), "d.json:2: invalid UTF-8");
}

TEST(Loader, ChosenByNameOrExtension) {
  EXPECT_EQ(loader_for_path("x/train.CSV"), "csv");
  EXPECT_EQ(loader_for_path("a.ndjson"), "jsonl");
  EXPECT_EQ(loader_for_path("a.sqlite3"), "sqlite");
  EXPECT_EQ(loader_for_path("a.parquet"), "");
  EXPECT_EQ(error_of([] { make_loader({"cvs", "a.csv", ""}); }), "unknown data loader 'cvs' (did you mean 'csv'?)");
  EXPECT_EQ(error_of([] { make_loader({"sqlite", "a.db", ""}); }), "the sqlite loader needs data.query");
  EXPECT_EQ(error_of([] { make_loader({"csv", "/nonexistent/a.csv", ""})->read(); }),
            "data file /nonexistent/a.csv does not exist");
}

TEST(Sqlite, ReadOnlyQuery) {
  testing::ScratchDir dir("data-sqlite");
  auto db_path = dir / "samples.db";
  {
    store::Db db(db_path, store::Db::Mode::create);
    db.exec("CREATE TABLE samples(x REAL, label TEXT, n INTEGER)");
    db.exec("INSERT INTO samples VALUES (0.5, 'a', 1), (NULL, 'b', 2), (1.25, 'a', 3)");
  }
  auto t = make_loader({"sqlite", db_path, "SELECT x, label FROM samples ORDER BY n"})->read();
  ASSERT_EQ(t.columns, (std::vector<std::string>{"x", "label"}));
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(*t.cells[0][0], "0.5");
  EXPECT_FALSE(t.cells[0][1].has_value());
  EXPECT_EQ(t.where(2), "query over samples.db row 3");
  auto again = make_loader({"sqlite", db_path, "SELECT x, label FROM samples ORDER BY n"})->read();
  EXPECT_EQ(t.source_sha256, again.source_sha256);
  auto other = make_loader({"sqlite", db_path, "SELECT x, label FROM samples ORDER BY n DESC"})->read();
  EXPECT_NE(t.source_sha256, other.source_sha256);
  EXPECT_NE(error_of([&] { make_loader({"sqlite", db_path, "DELETE FROM samples"})->read(); }).find("must only read"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make_loader({"sqlite", db_path, "SELECT nope FROM samples"})->read(); })
                .find("does not compile"),
            std::string::npos);
  EXPECT_EQ(make_loader({"sqlite", db_path, "SELECT count(*) FROM samples"})->read().cells[0][0], "3");
}

std::string sample_csv(std::size_t n) {
  std::string s = "age,color,member,name,label\n";
  for (std::size_t i = 0; i < n; ++i) {
    s += std::to_string(20 + i % 30) + "," + (i % 3 == 0 ? "red" : i % 3 == 1 ? "green" : "blue") + "," +
         (i % 2 ? "yes" : "no") + ",person" + std::to_string(i) + "," + (i % 4 == 0 ? "pos" : "neg") + "\n";
  }
  return s;
}

DatasetSpec sample_spec() {
  DatasetSpec spec;
  spec.source = {"csv", "d.csv", ""};
  spec.target = "label";
  spec.exclude = {"name"};
  return spec;
}

TEST(Dataset, InfersTypesAndReportsColumns) {
  auto t = parse_csv(sample_csv(100), "d.csv");
  auto d = prepare_dataset(sample_spec(), t);
  ASSERT_EQ(d.columns.size(), 5u);
  EXPECT_EQ(type_name(d.columns[0].type), std::string("number"));
  EXPECT_EQ(type_name(d.columns[1].type), std::string("categorical"));
  EXPECT_EQ(type_name(d.columns[2].type), std::string("bool"));
  EXPECT_EQ(d.columns[3].role, "ignored");
  EXPECT_EQ(d.columns[4].role, "target");
  EXPECT_EQ(d.preprocess.classes, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(d.preprocess.encoded_names(),
            (std::vector<std::string>{"age", "color=blue", "color=green", "color=red", "member"}));
  EXPECT_EQ(d.train.rows + d.validation.rows + d.test.rows, 100u);
  EXPECT_EQ(d.validation.rows, 15u);
  EXPECT_EQ(d.test.rows, 15u);
  // Free text as a feature is refused with the way out.
  auto spec = sample_spec();
  spec.exclude.clear();
  spec.max_categories = 10;
  EXPECT_NE(error_of([&] { prepare_dataset(spec, t); }).find("column 'name' looks like free text"),
            std::string::npos);
  // An override that the data contradicts names the row.
  spec = sample_spec();
  spec.types["color"] = ColumnType::number;
  EXPECT_EQ(error_of([&] { prepare_dataset(spec, t); }), "d.csv:2: column 'color' is number but holds 'red'");
}

TEST(Dataset, MissingTargetOrFeatureIsAConfigError) {
  auto t = parse_csv(sample_csv(20), "d.csv");
  auto spec = sample_spec();
  spec.target = "lable";
  EXPECT_EQ(error_of([&] { prepare_dataset(spec, t); }),
            "data.target: column 'lable' is not in d.csv (did you mean 'label'?)");
  spec = sample_spec();
  spec.features = {"age", "colour"};
  EXPECT_EQ(error_of([&] { prepare_dataset(spec, t); }),
            "data.features: column 'colour' is not in d.csv (did you mean 'color'?)");
  spec = sample_spec();
  spec.split = {0.5, 0.3, 0.3};
  EXPECT_NE(error_of([&] { prepare_dataset(spec, t); }).find("not 1"), std::string::npos);
}

TEST(Dataset, MissingValuesErrorDropOrImpute) {
  std::string csv = "x,c,y\n1,a,p\n,b,n\n3,,p\n4,a,\n5,a,n\n6,b,p\n7,a,n\n8,b,p\n9,a,n\n10,b,p\n";
  auto t = parse_csv(csv, "m.csv");
  DatasetSpec spec;
  spec.target = "y";
  spec.split = {0.8, 0.1, 0.1};
  EXPECT_EQ(error_of([&] { prepare_dataset(spec, t); }),
            "m.csv:5: column 'y' is missing (1 rows lack it)");
  spec.missing = MissingAction::drop;
  auto dropped = prepare_dataset(spec, t);
  EXPECT_EQ(dropped.rows_dropped, 3u);
  EXPECT_EQ(dropped.train.rows + dropped.validation.rows + dropped.test.rows, 7u);
  EXPECT_EQ(dropped.columns[0].missing, 1u);
  EXPECT_EQ(dropped.columns[0].action, "drop");

  spec.missing = MissingAction::impute;
  auto imputed = prepare_dataset(spec, t);
  EXPECT_EQ(imputed.rows_dropped, 1u);  // the target is never imputed
  EXPECT_EQ(imputed.columns[0].action, "impute mean");
  EXPECT_EQ(imputed.columns[1].action, "impute mode");
  EXPECT_EQ(imputed.columns[2].action, "drop");
  const auto& fx = imputed.preprocess.features[0];
  ASSERT_TRUE(fx.impute.has_value());
  EXPECT_DOUBLE_EQ(fx.impute->number, fx.mean);  // the training mean
  // Per-column policy overrides the default.
  spec.missing_by_column["x"] = MissingAction::error;
  EXPECT_EQ(error_of([&] { prepare_dataset(spec, t); }), "m.csv:3: column 'x' is missing (1 rows lack it)");
}

TEST(Dataset, SplitIsDeterministicAndDocumented) {
  // The documented algorithm gives these exact permutations on every machine.
  EXPECT_EQ(split_permutation(8, 42), split_permutation(8, 42));
  EXPECT_NE(split_permutation(50, 42), split_permutation(50, 43));
  auto p = split_permutation(1000, 7);
  std::vector<std::size_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> iota(1000);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  // SplitMix64 reference: with seed 0 the first output is 0xE220A8397B1DCDAF,
  // so the first Fisher-Yates step (i = 4) swaps p[4] with p[0xE220A8397B1DCDAF % 5 = 0].
  EXPECT_EQ(0xE220A8397B1DCDAFULL % 5, 0u);
  auto q = split_permutation(5, 0);
  EXPECT_EQ(q[4], 0u);
}

TEST(Dataset, StandardisationFittedOnTrainOnly) {
  auto t = parse_csv(sample_csv(200), "d.csv");
  auto d = prepare_dataset(sample_spec(), t);
  const std::size_t w = d.preprocess.width();
  double sum = 0, sq = 0;
  for (std::size_t r = 0; r < d.train.rows; ++r) sum += d.train.x[r * w];
  const double mean = sum / static_cast<double>(d.train.rows);
  for (std::size_t r = 0; r < d.train.rows; ++r) sq += (d.train.x[r * w] - mean) * (d.train.x[r * w] - mean);
  EXPECT_NEAR(mean, 0.0, 1e-5);
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(d.train.rows)), 1.0, 1e-5);
  // Changing only a test row's value leaves the fitted statistics alone.
  auto perm = split_permutation(200, 42);
  std::size_t test_row = perm.back();
  auto t2 = t;
  t2.cells[0][test_row] = "999";
  auto d2 = prepare_dataset(sample_spec(), t2);
  EXPECT_DOUBLE_EQ(d.preprocess.features[0].mean, d2.preprocess.features[0].mean);
  EXPECT_NE(d.test.x, d2.test.x);
}

TEST(Dataset, HashCoversBytesAndConfigNotPath) {
  auto t = parse_csv(sample_csv(50), "d.csv");
  auto spec = sample_spec();
  auto a = prepare_dataset(spec, t);
  spec.source.path = "elsewhere/d.csv";
  EXPECT_EQ(prepare_dataset(spec, t).data_hash, a.data_hash);
  spec.seed = 1;
  EXPECT_NE(prepare_dataset(spec, t).data_hash, a.data_hash);
  EXPECT_EQ(a.data_hash.size(), 64u);
}

TEST(Preprocess, RoundTripsAndEncodesServingRowsLikeTraining) {
  auto t = parse_csv(sample_csv(60), "d.csv");
  auto d = prepare_dataset(sample_spec(), t);
  auto json = d.preprocess.to_json();
  auto p = Preprocessor::from_json(nlohmann::json::parse(json.dump()));
  EXPECT_EQ(p.to_json(), json);
  // Row 0 of the file, as a serving request would send it.
  std::size_t count = 0;
  auto x = p.encode_json({{"age", 20}, {"color", "red"}, {"member", false}, {"name", "ignored"}}, count);
  ASSERT_EQ(count, 1u);
  ASSERT_EQ(x.size(), p.width());
  EXPECT_FLOAT_EQ(x[0], static_cast<float>((20 - p.features[0].mean) / p.features[0].std));
  EXPECT_EQ(std::vector<float>(x.begin() + 1, x.end()), (std::vector<float>{0, 0, 1, 0}));
  // An unseen category encodes as zeros; a missing feature without imputation is an error naming it.
  x = p.encode_json(nlohmann::json::array({{{"age", 1}, {"color", "purple"}, {"member", "yes"}}}), count);
  EXPECT_EQ(std::vector<float>(x.begin() + 1, x.end()), (std::vector<float>{0, 0, 0, 1}));
  EXPECT_EQ(error_of([&] { p.encode_json({{"color", "red"}, {"member", true}}, count); }),
            "row 0: feature 'age' is missing");
  EXPECT_EQ(error_of([&] { p.encode_json({{"age", "old"}, {"color", "red"}, {"member", true}}, count); }),
            "row 0: feature 'age' must be a number, not 'old'");
  EXPECT_EQ(error_of([] { Preprocessor::from_json({{"format", "x"}}); }),
            "preprocess.json: format is 'x', expected 'mlopsctl-preprocess/1'");
  float probs[] = {0.2f, 0.8f};
  auto out = p.decode(probs, 1, 2);
  EXPECT_EQ(out[0]["prediction"], "pos");
  EXPECT_NEAR(out[0]["probabilities"]["neg"].get<double>(), 0.2, 1e-6);
}

}  // namespace
}  // namespace mlops::data
