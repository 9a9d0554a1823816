#pragma once
// Records a training run as a tracked run (runs module, MLflow semantics):
// the config's params, per-epoch metrics by step, test metrics, the run
// directory's files as artifacts in the object store, lineage (config hash,
// data hash, seed, workspace commit) and the final status. The tracked run id
// is kept in the run directory (tracking.json), so `--resume` continues the
// same tracked run. A killed mlopsctl leaves the tracked run owned by a dead
// process, which reads as failed until it is resumed.
#include <filesystem>
#include <optional>
#include <string>

#include "runs/runs.hpp"
#include "train/train.hpp"

namespace mlops::train {

// The tag `model register --run` reads to know what kind of model a run made.
inline constexpr const char* k_model_kind_tag = "mlops.model.kind";
inline constexpr const char* k_tracking_file = "tracking.json";

struct TrackingOptions {
  std::string experiment;  // default: the config's name
  std::string user;
  std::int64_t owner_pid = 0;  // the process whose death fails the run (mlopsctl itself)
  std::optional<std::string> git_commit;
  std::string mlopsctl_version;
};

class RunTracker : public TrainObserver {
 public:
  RunTracker(runs::Runs& runs, TrackingOptions options) : runs_(runs), options_(std::move(options)) {}
  void on_start(const RunMeta& meta) override;
  void on_epoch(const EpochMetrics& epoch) override;
  void on_artifact(const fs::path& path, const std::string& name) override;
  void on_end(const TestMetrics& metrics, Status status) override;
  // The tracked run's id once on_start ran, else empty.
  const std::string& run_id() const { return run_id_; }

 private:
  runs::Runs& runs_;
  TrackingOptions options_;
  std::string run_id_;
  int last_epoch_ = 0;
};

// Sends every callback to each observer in turn.
class TeeObserver : public TrainObserver {
 public:
  TeeObserver(TrainObserver& a, TrainObserver& b) : a_(a), b_(b) {}
  void on_start(const RunMeta& meta) override {
    a_.on_start(meta);
    b_.on_start(meta);
  }
  void on_epoch(const EpochMetrics& e) override {
    a_.on_epoch(e);
    b_.on_epoch(e);
  }
  void on_artifact(const fs::path& path, const std::string& name) override {
    a_.on_artifact(path, name);
    b_.on_artifact(path, name);
  }
  void on_end(const TestMetrics& m, Status s) override {
    a_.on_end(m, s);
    b_.on_end(m, s);
  }

 private:
  TrainObserver& a_;
  TrainObserver& b_;
};

}  // namespace mlops::train
