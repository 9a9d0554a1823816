#pragma once
// Training runs (`experiment run` with kind: torch). This module never links
// libtorch: it loads and preprocesses data with mlops_data, writes the tensors
// to a file, runs `mlopsctl-torch train` as a child that streams one JSON line
// per epoch, and computes test metrics from the predictions the helper returns.
//
// Run directory (crash-safe: every file is written to a temporary name and
// renamed, so each is either whole or absent; `status` is written first and
// last):
//   status           {"status": "running"|"finished"|"failed"|"killed", "pid", ...}
//   config.json      the resolved config (canonical JSON) and its hash
//   data.json        column types, missing values, split sizes, data hash
//   preprocess.json  the encoding fitted on the training split (data/preprocess.hpp)
//   epochs.jsonl     one line per finished epoch
//   checkpoints/     last.pt (resume point) and best.pt, written by the helper
//   metrics.json     test-split metrics          (only once finished)
//   model.pt         the TorchScript model        (only once finished)
// A run killed mid-way keeps status "running" with a dead pid; read_status
// reports it as "killed", and `resume` continues from checkpoints/last.pt.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/config.hpp"

namespace mlops::train {

enum class Status { running, finished, failed, killed };
const char* status_name(Status s);

struct RunMeta {
  std::string name;
  std::string config_hash, data_hash;
  std::uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> params;  // TrainConfig::params()
  fs::path out_dir;
  nlohmann::json data;  // Dataset::summary()
  int resumed_from_epoch = 0;  // 0 for a fresh run
};

struct EpochMetrics {
  int epoch = 0;  // 1-based
  // train_loss, val_loss, val_accuracy (classification) or val_rmse, val_mae (regression).
  std::map<std::string, double> values;
  double epoch_seconds = 0, data_seconds = 0;  // wall time: the epoch, and batch assembly in it
  double cpu_seconds = 0, data_cpu_seconds = 0;  // CPU time (all helper threads; batch assembly)
  bool improved = false;  // the early-stopping metric improved (best.pt rewritten)
};

struct TestMetrics {
  // classification: accuracy, precision, recall, f1, auc (binary: of the
  // positive class; multiclass: macro averages, AUC one-vs-rest);
  // regression: rmse, mae, r2.
  std::map<std::string, double> values;
  nlohmann::json detail;  // confusion matrix, per-class scores, positive class
  std::size_t samples = 0;
};

// What a run reports as it goes; the runs module implements this to record
// params, step metrics, artifacts and status. Callbacks run on the calling
// thread in this order: on_start, on_epoch per epoch, on_artifact per output
// file, and on_end exactly once after on_start (also when run() then throws;
// a config or data error before on_start calls nothing).
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_start(const RunMeta& meta) { (void)meta; }
  virtual void on_epoch(const EpochMetrics& epoch) { (void)epoch; }
  // `name` is the file's name inside the run directory ("model.pt", "checkpoints/best.pt").
  virtual void on_artifact(const fs::path& path, const std::string& name) {
    (void)path;
    (void)name;
  }
  virtual void on_end(const TestMetrics& metrics, Status status) {
    (void)metrics;
    (void)status;
  }
};

struct RunOptions {
  fs::path out_dir;
  bool resume = false;
  fs::path helper;  // mlopsctl-torch (torch::locate_helper)
};

struct TrainResult {
  RunMeta meta;
  TestMetrics test;
  int epochs_run = 0, best_epoch = 0;
  bool stopped_early = false;
  double mean_epoch_seconds = 0, mean_data_seconds = 0;
  nlohmann::json to_json() const;
};

// Trains one model. Throws ConfigError for data or config problems (before
// the helper starts), UsageError when out_dir is not usable (exists without
// --resume, finished already, config changed since), RuntimeError when the
// helper fails; the run directory's status then says failed.
TrainResult run(const TrainConfig& config, const RunOptions& options, TrainObserver& observer);

struct DirStatus {
  Status status = Status::running;
  nlohmann::json raw;  // the status file
};
// Reads out_dir/status; "running" with a pid that is no longer alive reads as killed.
std::optional<DirStatus> read_status(const fs::path& out_dir);

// Test metrics from the helper's outputs: per row, class probabilities
// (classification) or the prediction in target units (regression). `truth`
// holds class indexes or target values in standard units, as in data::Split::y.
TestMetrics test_metrics(const data::Preprocessor& pre, const std::string& positive, const std::vector<float>& truth,
                         const std::vector<std::vector<double>>& outputs);

// The tensor file the helper reads: "MLOPSTENSORS/1\n", one JSON header line
// {"inputs": W, "splits": [{"name", "rows", "x", "y"}]} where x and y are byte
// offsets after the header of row-major little-endian float32 blocks.
void write_tensors(const fs::path& file, const data::Dataset& d);

}  // namespace mlops::train
