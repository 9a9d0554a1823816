#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "data/dataset.hpp"
#include "support.hpp"
#include "store/db.hpp"
#include "store/objects.hpp"
#include "train/config.hpp"
#include "train/tracking.hpp"
#include "train/train.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::train {
namespace {

using testing::error_of;

const std::string k_minimal = "kind: torch\ndata:\n  source: d.csv\n  target: y\n";

TEST(TrainConfig, ExampleParsesWithItsValues) {
  fs::path file = fs::path(MLOPS_SOURCE_DIR) / "examples/configs/train-breast-cancer.yaml";
  auto c = load_config(file);
  EXPECT_EQ(c.name, "breast-cancer-mlp");
  EXPECT_EQ(c.data.source.loader, "csv");
  EXPECT_EQ(c.data.source.path.filename(), "breast_cancer.csv");
  EXPECT_TRUE(fs::exists(c.data.source.path));
  EXPECT_EQ(c.data.target, "diagnosis");
  EXPECT_EQ(c.positive, "malignant");
  EXPECT_EQ(c.model.layers, (std::vector<int>{32, 16}));
  ASSERT_TRUE(c.early_stopping.has_value());
  EXPECT_EQ(c.early_stopping->mode, "min");
  EXPECT_EQ(c.hash().size(), 64u);
  auto regression = load_config(fs::path(MLOPS_SOURCE_DIR) / "examples/configs/train-diabetes.yaml");
  EXPECT_EQ(regression.data.task, data::Task::regression);
  EXPECT_EQ(regression.data.source.loader, "csv");  // from the extension
}

TEST(TrainConfig, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of([] { parse_config(k_minimal + "optimizer:\n  lerning_rate: 0.1\n", "t.yaml"); }),
            "t.yaml:6: unknown key 'lerning_rate' in optimizer (did you mean 'learning_rate'?)");
  EXPECT_EQ(error_of([] { parse_config(k_minimal + "epochs: 3\n", "t.yaml"); }), "t.yaml:5: unknown key 'epochs'");
  EXPECT_EQ(error_of([] { parse_config(k_minimal + "training:\n  epochs: many\n", "t.yaml"); }),
            "t.yaml:6: training.epochs must be an integer");
  EXPECT_EQ(error_of([] { parse_config(k_minimal + "model:\n  activation: relu6\n", "t.yaml"); }),
            "t.yaml:6: model.activation is 'relu6' (did you mean 'relu'?)");
  EXPECT_EQ(error_of([] { parse_config(k_minimal + "model:\n  dropout: 1.5\n", "t.yaml"); }),
            "t.yaml:6: model.dropout must be between 0 and 0.99");
  EXPECT_EQ(error_of([] { parse_config("kind: ab\n", "t.yaml"); }),
            "t.yaml:1: kind is 'ab', but this is the torch trainer");
  EXPECT_EQ(error_of([] { parse_config("kind: torch\ndata:\n  source: d.csv\n", "t.yaml"); }),
            "t.yaml:3: data.target is required");
  EXPECT_EQ(error_of([] { parse_config("kind: torch\ndata: [1\n", "t.yaml"); }).rfind("t.yaml:3:", 0), 0u);
  EXPECT_EQ(error_of([] { parse_config(k_minimal + "task: regression\nmodel:\n  type: logistic\n", "t.yaml"); }),
            "t.yaml:7: model.type logistic is for classification");
  EXPECT_EQ(error_of([] {
              parse_config("kind: torch\ndata:\n  source: d.csv\n  target: y\n  split: {train: 0.9, test: 0.2}\n",
                           "t.yaml");
            }),
            "t.yaml:5: data.split ratios add up to 1.250000, not 1");
  EXPECT_EQ(error_of([] {
              parse_config("kind: torch\ndata:\n  source: d.csv\n  target: y\n  split: {validation: 0}\n"
                           "training:\n  early_stopping: {metric: val_loss}\n",
                           "t.yaml");
            }),
            "t.yaml:7: early stopping on val_loss needs a validation split");
}

TEST(TrainConfig, EnvironmentBeatsTheFileAndDefaultsFillGaps) {
  DataDefaults env;
  env.source = "other.jsonl";
  env.source_from_env = true;
  auto c = parse_config(k_minimal, "/cfg/t.yaml", env, "/work");
  EXPECT_EQ(c.data.source.path, fs::path("/work/other.jsonl"));
  EXPECT_EQ(c.data.source.loader, "jsonl");
  DataDefaults workspace;
  workspace.source = "ws.csv";
  c = parse_config(k_minimal, "/cfg/t.yaml", workspace, "/work");
  EXPECT_EQ(c.data.source.path, fs::path("/cfg/d.csv"));
  c = parse_config("kind: torch\ndata:\n  target: y\n", "/cfg/t.yaml", workspace, "/work");
  EXPECT_EQ(c.data.source.path, fs::path("/work/ws.csv"));
  DataDefaults bad;
  bad.loader = "parquet";
  bad.loader_from_env = true;
  bad.loader_origin = "env DATA_LOADER_TYPE";
  EXPECT_EQ(error_of([&] { parse_config(k_minimal, "t.yaml", bad); }),
            "env DATA_LOADER_TYPE: unknown data loader 'parquet'");
}

TEST(TrainConfig, HashIgnoresTheSourcePathButNotSettings) {
  auto a = parse_config(k_minimal, "/a/t.yaml");
  auto b = parse_config(k_minimal, "/b/t.yaml");
  EXPECT_EQ(a.hash(), b.hash());
  auto c = parse_config(k_minimal + "seed: 1\n", "/a/t.yaml");
  EXPECT_NE(a.hash(), c.hash());
  bool found = false;
  for (const auto& [k, v] : a.params()) found = found || (k == "model.layers" && v == "[64,32]");
  EXPECT_TRUE(found);
}

TEST(TestMetrics, BinaryClassificationOfThePositiveClass) {
  data::Preprocessor p;
  p.classes = {"benign", "malignant"};
  // truth: b m m b; predicted: b m b m
  std::vector<float> truth = {0, 1, 1, 0};
  std::vector<std::vector<double>> out = {{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}, {0.3, 0.7}};
  auto m = test_metrics(p, "malignant", truth, out);
  EXPECT_DOUBLE_EQ(m.values["accuracy"], 0.5);
  EXPECT_DOUBLE_EQ(m.values["precision"], 0.5);
  EXPECT_DOUBLE_EQ(m.values["recall"], 0.5);
  EXPECT_DOUBLE_EQ(m.values["f1"], 0.5);
  // scores of malignant: 0.1(b) 0.8(m) 0.4(m) 0.7(b): pairs (m > b): 0.8>0.1, 0.8>0.7, 0.4>0.1 = 3 of 4.
  EXPECT_DOUBLE_EQ(m.values["auc"], 0.75);
  EXPECT_EQ(m.detail["confusion"], nlohmann::json::parse("[[1,1],[1,1]]"));
}

TEST(TestMetrics, RegressionInTargetUnits) {
  data::Preprocessor p;
  p.task = data::Task::regression;
  p.target_mean = 10;
  p.target_std = 2;
  // truth in standard units: 3, -0.5, 2, 7 in target units is (y - 10) / 2.
  std::vector<float> truth = {-3.5f, -5.25f, -4.0f, -1.5f};
  std::vector<std::vector<double>> out = {{2.5}, {0.0}, {2}, {8}};
  auto m = test_metrics(p, "", truth, out);
  // scikit-learn's documented example: MSE 0.375, MAE 0.5, R^2 0.9486081370449679.
  EXPECT_NEAR(m.values["rmse"], std::sqrt(0.375), 1e-6);
  EXPECT_NEAR(m.values["mae"], 0.5, 1e-6);
  EXPECT_NEAR(m.values["r2"], 0.9486081370449679, 1e-6);
}

TEST(RunDir, StatusOfADeadRunReadsAsKilled) {
  testing::ScratchDir dir("train-status");
  EXPECT_FALSE(read_status(dir.path()).has_value());
  pid_t child = fork();
  if (child == 0) _exit(0);
  int st = 0;
  waitpid(child, &st, 0);
  util::atomic_write(dir / "status", "{\"status\": \"running\", \"pid\": " + std::to_string(child) + "}");
  EXPECT_EQ(read_status(dir.path())->status, Status::killed);
  util::atomic_write(dir / "status", "{\"status\": \"running\", \"pid\": " + std::to_string(getpid()) + "}");
  EXPECT_EQ(read_status(dir.path())->status, Status::running);
}

TEST(RunDir, TensorFileLayout) {
  testing::ScratchDir dir("train-tensors");
  data::Dataset d;
  d.preprocess.features.push_back({"x", data::ColumnType::number, 0, 1, {}, std::nullopt, ""});
  d.train = {2, {1.0f, 2.0f}, {0.0f, 1.0f}};
  d.test = {1, {3.0f}, {1.0f}};
  write_tensors(dir / "t.bin", d);
  auto bytes = util::read_file(dir / "t.bin");
  ASSERT_EQ(bytes.rfind("MLOPSTENSORS/1\n", 0), 0u);
  auto nl = bytes.find('\n', 15);
  auto header = nlohmann::json::parse(bytes.substr(15, nl - 15));
  EXPECT_EQ(header["inputs"], 1);
  EXPECT_EQ(header["splits"][2]["name"], "test");
  std::size_t test_x = header["splits"][2]["x"];
  float v = 0;
  std::memcpy(&v, bytes.data() + nl + 1 + test_x, sizeof v);
  EXPECT_EQ(v, 3.0f);
  EXPECT_EQ(bytes.size() - nl - 1, (2 + 2 + 0 + 0 + 1 + 1) * sizeof(float));
}

// The tracker records what a training run reports as a tracked run, and a
// resumed run directory continues the same tracked run.
TEST(RunTracker, RecordsParamsEpochsArtifactsAndTestMetrics) {
  testing::ScratchDir dir{"tracker"};
  store::Db db(dir.path() / "state.db", store::Db::Mode::create);
  store::ObjectStore objects(dir.path() / "objects", db);
  runs::Runs runs(db, &objects);
  fs::path out = dir.path() / "run";
  fs::create_directories(out);
  util::atomic_write(out / "model.pt", "weights");

  RunMeta meta;
  meta.name = "bc";
  meta.config_hash = std::string(64, 'c');
  meta.data_hash = std::string(64, 'd');
  meta.seed = 7;
  meta.params = {{"model.type", "mlp"}, {"epochs", "3"}};
  meta.out_dir = out;
  meta.data = {{"rows", 100}, {"inputs", 4}, {"splits", {{"train", 70}, {"validation", 15}, {"test", 15}}}};
  TrackingOptions o;
  o.experiment = "cancer";
  o.user = "alice";
  std::string id;
  {
    RunTracker t(runs, o);
    t.on_start(meta);
    id = t.run_id();
    ASSERT_EQ(id.size(), 32u);
    EpochMetrics e1;
    e1.epoch = 1;
    e1.values = {{"train_loss", 0.7}, {"val_loss", 0.6}};
    t.on_epoch(e1);
    e1.epoch = 2;
    e1.values = {{"train_loss", 0.5}, {"val_loss", 0.4}};
    t.on_epoch(e1);
    t.on_artifact(out / "model.pt", "model.pt");
    TestMetrics m;
    m.values = {{"accuracy", 0.9}, {"f1", 0.8}};
    m.samples = 15;
    t.on_end(m, Status::finished);
  }
  auto d = runs.detail(id);
  EXPECT_EQ(d.info.experiment, "cancer");
  EXPECT_EQ(d.info.name, "bc");
  EXPECT_EQ(d.info.status, runs::k_finished);
  EXPECT_EQ(d.info.source, "torch");
  EXPECT_EQ(d.info.config_sha256.value_or(""), meta.config_hash);
  EXPECT_EQ(d.info.data_sha256.value_or(""), meta.data_hash);
  EXPECT_EQ(d.info.seed.value_or(0), 7);
  EXPECT_EQ(d.params["model.type"], "mlp");
  EXPECT_EQ(d.params["data.rows"], "100");
  EXPECT_EQ(d.params["data.split.test.rows"], "15");
  EXPECT_EQ(d.tags[k_model_kind_tag], "torch");
  EXPECT_DOUBLE_EQ(d.metrics["val_loss"].value, 0.4);
  EXPECT_EQ(d.metrics["val_loss"].step, 2);
  EXPECT_DOUBLE_EQ(d.metrics["accuracy"].value, 0.9);
  EXPECT_EQ(d.metrics["accuracy"].step, 2);
  EXPECT_DOUBLE_EQ(d.metrics["test_samples"].value, 15);
  EXPECT_EQ(runs.metric_history(id, "train_loss").size(), 2u);
  ASSERT_EQ(d.artifacts.size(), 1u);
  EXPECT_EQ(d.artifacts[0].name, "model.pt");

  // The directory remembers the run: a resumed training continues it.
  {
    RunTracker t(runs, o);
    meta.resumed_from_epoch = 2;
    t.on_start(meta);
    EXPECT_EQ(t.run_id(), id);
    t.on_end(TestMetrics{}, Status::killed);
  }
  EXPECT_EQ(runs.get(id).status, runs::k_killed);
  EXPECT_EQ(runs.detail(id).tags["mlops.train.resumed_from_epoch"], "2");
  EXPECT_EQ(runs.list().size(), 1u);
}

TEST(RunTracker, AForeignTrackingFileIsAnErrorNamingIt) {
  testing::ScratchDir dir{"tracker-bad"};
  store::Db db(dir.path() / "state.db", store::Db::Mode::create);
  runs::Runs runs(db);
  fs::path out = dir.path() / "run";
  fs::create_directories(out);
  util::atomic_write(out / k_tracking_file, "[1, 2]");
  RunMeta meta;
  meta.name = "bc";
  meta.out_dir = out;
  RunTracker t(runs, {});
  auto msg = error_of([&] { t.on_start(meta); });
  EXPECT_NE(msg.find("tracking.json"), std::string::npos) << msg;
}

}  // namespace
}  // namespace mlops::train
