#pragma once
// Runs, with MLflow's tracking semantics: an experiment (by name) holds runs; a
// run has write-once params, metrics that append (key, value, step, timestamp),
// tags that overwrite, artifacts in the content-addressed object store, a status
// (running, finished, failed, killed) and the lineage that makes it reproducible
// (workspace commit, config hash, data hash, seed, host, user, mlopsctl version).
//
// Every call is one SQLite write transaction, safe with many processes on one
// workspace. A run whose owner process died while it was running reads as failed
// (status_reason says why), so kill -9 never leaves a run "running" forever; it
// can be resumed with start(resume).
//
// This is the API the trainer and the A/B runner call; `run …` is plumbing over it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/db.hpp"
#include "store/objects.hpp"

namespace mlops::runs {

inline constexpr const char* k_running = "running";
inline constexpr const char* k_finished = "finished";
inline constexpr const char* k_failed = "failed";
inline constexpr const char* k_killed = "killed";

// Limits as in MLflow: keys up to 250 characters, param values up to 6000.
inline constexpr std::size_t k_max_key = 250;
inline constexpr std::size_t k_max_param_value = 6000;
inline constexpr std::size_t k_max_tag_value = 8000;

struct RunInfo {
  std::string id;  // 32 lowercase hex characters, as MLflow's run ids
  std::string experiment;
  std::string name;
  std::string status;         // effective: a dead owner turns running into failed
  std::string stored_status;  // as written
  std::string status_reason;  // why the effective status differs, else empty
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
  std::string user;
  std::string host;
  std::int64_t owner_pid = 0;  // 0 = not tracked
  std::optional<std::string> git_commit;
  std::optional<std::string> config_sha256;
  std::optional<std::string> data_sha256;
  std::optional<std::int64_t> seed;
  std::string mlopsctl_version;
  std::string source;  // who started it: cli, torch, ab, …
};

struct Metric {
  std::string key;
  double value = 0;
  std::int64_t step = 0;
  std::int64_t ts_ms = 0;  // 0 = now when logging
};

struct Artifact {
  std::string name;
  std::string sha256;
  std::uint64_t size = 0;
  std::int64_t added_ms = 0;
};

struct RunDetail {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, Metric> metrics;  // latest value of each key (highest step, then newest)
  std::vector<Artifact> artifacts;
};

struct StartOptions {
  std::string experiment;  // created on first use
  std::string name;
  std::string source = "cli";
  std::string user;
  std::string host;            // default: gethostname()
  std::int64_t owner_pid = 0;  // process whose death fails the run; 0 = none
  std::optional<std::string> git_commit;
  std::optional<std::string> config_sha256;
  std::optional<std::string> data_sha256;
  std::optional<std::int64_t> seed;
  std::string mlopsctl_version;
  // Resume this run instead of creating one: it becomes running again, owned by
  // owner_pid. The experiment, when given, must match.
  std::optional<std::string> resume;
};

struct ExperimentSummary {
  std::string name;
  std::int64_t created_ms = 0;
  std::int64_t runs = 0;
  std::map<std::string, std::int64_t> by_status;  // effective statuses
  std::optional<std::int64_t> last_start_ms;
};

struct ListFilter {
  std::optional<std::string> experiment;
  std::optional<std::string> status;  // effective status
  std::size_t limit = 0;              // 0 = all; newest first
};

// Params and final metrics of several runs side by side.
struct Comparison {
  std::vector<RunInfo> runs;
  std::vector<std::string> param_keys;   // union, sorted
  std::vector<std::string> metric_keys;  // union, sorted
  // [run index][key] -> value; absent keys are missing.
  std::vector<std::map<std::string, std::string>> params;
  std::vector<std::map<std::string, double>> metrics;
};

class Runs {
 public:
  // `objects` is needed only by add_artifact.
  explicit Runs(store::Db& db, store::ObjectStore* objects = nullptr) : db_(db), objects_(objects) {}

  RunInfo start(const StartOptions& opts);
  // Params are write-once: logging the same value again is a no-op, a different
  // value throws UsageError naming the key and both values.
  void log_param(const std::string& run, const std::string& key, const std::string& value);
  void log_metric(const std::string& run, const Metric& metric);
  void set_tag(const std::string& run, const std::string& key, const std::string& value);
  // Params, metrics and tags in one transaction (MLflow's log-batch); all or nothing.
  void log_batch(const std::string& run, const std::map<std::string, std::string>& params,
                 const std::vector<Metric>& metrics, const std::map<std::string, std::string>& tags);
  void log_metrics(const std::string& run, const std::vector<Metric>& metrics) { log_batch(run, {}, metrics, {}); }
  // Stores the file's content in the object store (once per content) under `name`
  // (default: the file name). Re-adding the same name with other content replaces it.
  Artifact add_artifact(const std::string& run, const std::string& path, const std::string& name = {});
  // Stores `content` directly (checkpoints, generated reports).
  Artifact add_artifact_content(const std::string& run, const std::string& name, std::string_view content);
  // Ends a run: finished, failed or killed. Ending an ended run again is a UsageError.
  RunInfo end(const std::string& run, const std::string& status = k_finished);

  // A run by full id or unique prefix (at least 4 characters); NotFoundError otherwise.
  RunInfo get(const std::string& ref);
  RunDetail detail(const std::string& ref);
  std::vector<Metric> metric_history(const std::string& run, const std::string& key);
  // Every metric key's full history, oldest first (for plots).
  std::map<std::string, std::vector<Metric>> all_metric_history(const std::string& run);
  std::vector<RunInfo> list(const ListFilter& filter = {});
  std::vector<ExperimentSummary> experiments();
  Comparison compare(const std::vector<std::string>& refs);

 private:
  std::string resolve_id(const std::string& ref);
  RunInfo get_by_id(const std::string& id);
  // The run must exist and not be ended; called inside a write transaction.
  void require_active(const std::string& id);
  // Stores (or replaces) the artifact row of an active run.
  void record_artifact(const std::string& id, const Artifact& a);
  store::Db& db_;
  store::ObjectStore* objects_;
};

// Validation shared with the CLI: MLflow-compatible keys (letters, digits, _ - . space /).
void check_key(const std::string& what, const std::string& key);
void check_experiment_name(const std::string& name);
// "k=v" → (k, v); UsageError naming the flag when malformed.
std::pair<std::string, std::string> parse_assignment(const std::string& flag, const std::string& text);
// A metric value: a finite or non-finite double ("nan", "inf" as MLflow allows).
double parse_metric_value(const std::string& key, const std::string& text);

// The data/config hash recorded as lineage: a file's SHA-256, or for a directory
// the SHA-256 over its files' relative paths and hashes in sorted order (so the
// same tree anywhere hashes the same). NotFoundError when absent.
std::string content_hash(const std::string& path);

nlohmann::json to_json(const RunInfo& r);
nlohmann::json to_json(const RunDetail& d);
nlohmann::json to_json(const Comparison& c);
// Comparison as CSV: one row per run, columns run, name, status, param:K…, metric:K….
std::string to_csv(const Comparison& c);

}  // namespace mlops::runs
