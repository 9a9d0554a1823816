#include "train/tracking.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::train {

namespace {

std::optional<std::string> tracked_id(const fs::path& dir) {
  auto text = util::read_file_if_exists(dir / k_tracking_file);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("run_id") || !j["run_id"].is_string())
    throw RuntimeError((dir / k_tracking_file).string() + " is not the tracking file mlopsctl wrote",
                       "remove it to record the resumed run as a new tracked run");
  return j["run_id"].get<std::string>();
}

}  // namespace

void RunTracker::on_start(const RunMeta& meta) {
  runs::StartOptions o;
  o.experiment = options_.experiment.empty() ? meta.name : options_.experiment;
  o.name = meta.name;
  o.source = "torch";
  o.user = options_.user;
  o.owner_pid = options_.owner_pid;
  o.mlopsctl_version = options_.mlopsctl_version;
  // A run directory that holds a tracking file is being resumed (train::run
  // refuses a used directory otherwise): continue the same tracked run.
  auto previous = tracked_id(meta.out_dir);
  if (previous) {
    o.resume = *previous;
  } else {
    o.git_commit = options_.git_commit;
    o.config_sha256 = meta.config_hash;
    o.data_sha256 = meta.data_hash;
    o.seed = static_cast<std::int64_t>(meta.seed);
  }
  auto info = runs_.start(o);
  run_id_ = info.id;
  if (!previous) util::atomic_write(meta.out_dir / k_tracking_file, nlohmann::json{{"run_id", run_id_}}.dump() + "\n");
  std::map<std::string, std::string> params(meta.params.begin(), meta.params.end());
  std::map<std::string, std::string> tags = {{k_model_kind_tag, "torch"},
                                             {"mlops.train.out_dir", meta.out_dir.string()}};
  if (meta.data.is_object()) {
    for (const char* k : {"rows", "inputs"})
      if (meta.data.contains(k)) params[std::string("data.") + k] = meta.data[k].dump();
    if (meta.data.contains("splits") && meta.data["splits"].is_object())
      for (const auto& [k, v] : meta.data["splits"].items()) params["data.split." + k + ".rows"] = v.dump();
  }
  if (meta.resumed_from_epoch > 0) tags["mlops.train.resumed_from_epoch"] = std::to_string(meta.resumed_from_epoch);
  runs_.log_batch(run_id_, params, {}, tags);
}

void RunTracker::on_epoch(const EpochMetrics& e) {
  if (run_id_.empty()) return;
  std::vector<runs::Metric> ms;
  for (const auto& [k, v] : e.values) ms.push_back({k, v, e.epoch, 0});
  ms.push_back({"epoch_seconds", e.epoch_seconds, e.epoch, 0});
  runs_.log_metrics(run_id_, ms);
  last_epoch_ = e.epoch;
}

void RunTracker::on_artifact(const fs::path& path, const std::string& name) {
  if (run_id_.empty()) return;
  runs_.add_artifact(run_id_, path.string(), name);
}

void RunTracker::on_end(const TestMetrics& metrics, Status status) {
  if (run_id_.empty()) return;
  if (status == Status::finished) {
    std::vector<runs::Metric> ms;
    // Test-split metrics under their plain names (accuracy, f1, rmse, …): the
    // names registry gates such as `accuracy >= 0.9` read.
    for (const auto& [k, v] : metrics.values) ms.push_back({k, v, last_epoch_, 0});
    ms.push_back({"test_samples", static_cast<double>(metrics.samples), last_epoch_, 0});
    runs_.log_metrics(run_id_, ms);
    runs_.end(run_id_, runs::k_finished);
    return;
  }
  // The training error is what the caller reports; a failure to record the
  // end must not replace it. Left running, the run reads as failed once this
  // process (its owner) is gone.
  try {
    runs_.end(run_id_, status == Status::killed ? runs::k_killed : runs::k_failed);
  } catch (const std::exception&) {
  }
}

}  // namespace mlops::train
