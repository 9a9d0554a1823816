#pragma once
// Eval runs and their results in the workspace database (tables eval_runs,
// eval_results): written as a run goes, read by show/list/compare/history and
// the report writers, which stream rows so memory stays flat.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/db.hpp"

namespace mlops::eval {

struct ResultRow {
  std::int64_t idx = 0;
  std::int64_t test_idx = 0;
  int repeat_idx = 0;
  std::string prompt;
  std::string provider;
  std::string description;
  nlohmann::json vars = nlohmann::json::object();
  std::optional<std::string> output;
  std::optional<std::string> error;
  bool pass = false;
  double score = 0;
  nlohmann::json assertions = nlohmann::json::array();  // [{type, pass, score, weight, metric, reason}]
  double latency_ms = 0;
  std::optional<double> cost_usd;
  std::int64_t tokens_in = 0, tokens_out = 0;
  bool cache_hit = false;
};

struct RunInfo {
  std::string id;
  std::optional<std::string> name;
  std::string description;
  std::string config_path;
  std::string config_sha256;
  std::int64_t started_ms = 0;
  std::optional<std::int64_t> finished_ms;
  std::string status;  // running, passed, failed, interrupted
  std::int64_t total = 0, passed = 0, failed = 0, errors = 0;
  nlohmann::json summary = nlohmann::json::object();
  std::string actor;
  std::string trace_id;
  double pass_rate() const { return total ? static_cast<double>(passed) / static_cast<double>(total) : 0; }
};

class Results {
 public:
  explicit Results(store::Db& db) : db_(db) {}
  void create(const RunInfo& run);
  void append(const std::string& run_id, const std::vector<ResultRow>& rows);  // one transaction
  void finish(const RunInfo& run);
  // A run by id, unique id prefix, or the newest run with that --name; NotFoundError otherwise.
  RunInfo get(const std::string& ref);
  std::optional<RunInfo> latest(const std::optional<std::string>& name);
  std::vector<RunInfo> list(std::size_t limit, const std::optional<std::string>& name);
  // Rows of a run in order; `fn` returns false to stop.
  void for_each(const std::string& run_id, const std::function<bool(const ResultRow&)>& fn,
                bool failures_only = false);
  // Runs still marked running whose process is gone are marked interrupted by the caller.
  void mark(const std::string& run_id, const std::string& status);

 private:
  store::Db& db_;
};

nlohmann::json to_json(const RunInfo& r);
nlohmann::json to_json(const ResultRow& r);

}  // namespace mlops::eval
