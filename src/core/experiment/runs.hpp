#pragma once
// A/B experiment runs in the workspace database (tables ab_runs, ab_arms): the
// run, its arms and the eval run holding each arm's results.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/db.hpp"

namespace mlops::experiment {

struct ArmLink {
  std::string arm;
  std::string eval_run;
};

struct AbRun {
  std::string id;
  std::string name;
  std::string description;
  std::string config_path;
  std::string config_sha256;
  bool paired = false;
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> finished_ms;
  std::string status;                  // running, finished, interrupted, failed
  std::optional<std::string> outcome;  // winner, no decision
  std::optional<std::string> winner;
  nlohmann::json summary = nlohmann::json::object();   // arms, metrics, srm, config
  nlohmann::json decision = nlohmann::json::object();  // outcome, winner, reasons, variants, guards
  std::string actor;
  std::string trace_id;
  std::vector<ArmLink> arms;
};

// The A/B runs of one experiment name, for `experiment list`.
struct AbExperimentSummary {
  std::string name;
  std::int64_t runs = 0;
  std::map<std::string, std::int64_t> by_status;  // effective statuses
  std::int64_t first_ms = 0, last_ms = 0;          // first and latest start
};

class AbRuns {
 public:
  explicit AbRuns(store::Db& db) : db_(db) {}
  // Inserts a running run owned by this process (pid and host).
  void create(const AbRun& run);
  void link_arm(const std::string& run_id, int position, const ArmLink& link);
  // Writes status, finished time, outcome, summary and decision.
  void finish(const AbRun& run);
  // By id, unique id prefix, or the newest run of that experiment name;
  // NotFoundError / UsageError (ambiguous prefix) otherwise. A run still marked
  // running whose owner process on this host is gone reads as interrupted.
  AbRun get(const std::string& ref);
  std::vector<AbRun> list(std::size_t limit, const std::optional<std::string>& name);
  // One summary per experiment name, by name.
  std::vector<AbExperimentSummary> experiments();

 private:
  store::Db& db_;
};

// The experiment show -o json document (man/mlopsctl-experiment.1).
nlohmann::json to_json(const AbRun& run);

}  // namespace mlops::experiment
