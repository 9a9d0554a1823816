#pragma once
// The model registry: named models with integer versions (1, 2, …), each made
// from a run's model artifact, a TorchScript file or an LLM prompt + provider.
// Aliases work as in MLflow >= 2.9: any name (staging, production, champion)
// points at one version, and one version may hold several. Promotions pass the
// alias's gates first (metrics of the version's run, approvals); every alias move
// is kept in model_alias_events and written to the audit log in the same
// transaction, so the history can be replayed and rolled back.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit.hpp"
#include "config/config.hpp"
#include "runs/runs.hpp"
#include "store/db.hpp"
#include "store/objects.hpp"

namespace mlops::registry {

inline constexpr const char* k_ready = "ready";
inline constexpr const char* k_archived = "archived";

struct ModelVersion {
  std::string name;
  int version = 0;
  std::string kind;  // torch, torchscript, llm
  std::optional<std::string> run_id;
  std::optional<std::string> artifact_sha256;
  std::optional<std::string> artifact_name;
  nlohmann::json spec = nlohmann::json::object();  // kind-specific (llm: prompt, prompt_version, provider)
  std::string status;                              // ready or archived
  std::string description;
  std::string actor;
  std::int64_t created_ms = 0;
  std::vector<std::string> aliases;  // sorted
};

struct ModelSummary {
  std::string name;
  std::string description;
  std::int64_t created_ms = 0;
  int latest_version = 0;
  int versions = 0;
  std::map<std::string, int> aliases;
};

struct AliasEvent {
  std::int64_t id = 0;
  std::string alias;
  std::string kind;  // promote, rollback, archive
  std::optional<int> from_version;
  std::optional<int> to_version;  // nullopt: the alias was removed
  std::string actor;
  std::int64_t ts_ms = 0;
  std::string reason;
};

struct Approval {
  int version = 0;
  std::string alias;
  std::string actor;
  std::int64_t ts_ms = 0;
  std::string comment;
};

struct RegisterRequest {
  std::string name;
  std::string kind;  // empty: from the run's mlops.model.kind tag, else torch (run) / torchscript (file)
  std::optional<std::string> run;            // run id or prefix
  std::optional<std::string> file;           // a model file to store
  std::optional<std::string> artifact;       // which artifact of the run (default: model*, see .cpp)
  nlohmann::json spec = nlohmann::json::object();
  std::string description;
  std::string actor;
};

struct GateResult {
  std::string condition;
  bool passed = false;
  std::string detail;  // "accuracy = 0.93", "1 approval by alice", "no metric accuracy"
};

struct PromoteResult {
  ModelVersion version;
  std::string alias;
  std::optional<int> from_version;
  std::vector<GateResult> gates;
};

// Lineage of a version: its run and what the run recorded.
struct Lineage {
  std::optional<runs::RunInfo> run;
  std::map<std::string, double> metrics;  // the run's final metrics
  std::map<std::string, std::string> params;
};

class Registry {
 public:
  Registry(store::Db& db, store::ObjectStore& objects) : db_(db), objects_(objects), runs_(db, &objects) {}

  ModelVersion register_version(const RegisterRequest& req);
  std::vector<ModelSummary> list();
  // NAME (latest ready version), NAME@ALIAS, NAME@latest, NAME/VERSION, NAME@vVERSION
  // and the same behind MLflow's models:/ prefix. NotFoundError naming what is missing.
  ModelVersion resolve(const std::string& ref);
  ModelVersion get(const std::string& name, int version);
  std::vector<ModelVersion> versions(const std::string& name);
  Lineage lineage(const ModelVersion& v);

  // Moves `alias` to `version` after checking `gates` (conditions, see
  // evaluate_gates); CheckFailed lists every failed condition and nothing moves.
  PromoteResult promote(const std::string& name, int version, const std::string& alias,
                        const std::vector<std::string>& gates, const std::string& actor, const std::string& reason = {});
  std::vector<GateResult> evaluate_gates(const ModelVersion& v, const std::string& alias,
                                         const std::vector<std::string>& gates);
  Approval approve(const std::string& name, int version, const std::string& alias, const std::string& actor,
                   const std::string& comment = {});
  std::vector<Approval> approvals(const std::string& name, std::optional<int> version = std::nullopt);
  // Archives a version: it loses its aliases (each a recorded move) and cannot be promoted.
  ModelVersion archive(const std::string& name, int version, const std::string& actor);
  // Moves `alias` back to the version that held it before the current holder's
  // promotion; repeated rollbacks keep going back (archived versions are skipped).
  PromoteResult rollback(const std::string& name, const std::string& alias, const std::string& actor);
  std::vector<AliasEvent> history(const std::string& name, const std::string& alias = {});

 private:
  void require_model(const std::string& name);
  std::optional<int> alias_holder(const std::string& name, const std::string& alias);
  void move_alias(const std::string& name, const std::string& alias, std::optional<int> from, std::optional<int> to,
                  const std::string& kind, const std::string& actor, const std::string& reason);
  store::Db& db_;
  store::ObjectStore& objects_;
  runs::Runs runs_;
};

void check_model_name(const std::string& name);
void check_alias(const std::string& alias);
// Gate conditions for promotions to `alias`: models.gates.ALIAS from config, a
// YAML list such as ["accuracy >= 0.9", "approval"]. ConfigError naming the key.
std::vector<std::string> gates_for(const config::Config& cfg, const std::string& alias);
// Throws ConfigError when a condition cannot be parsed (names the condition).
void check_gate(const std::string& condition, const std::string& origin);

nlohmann::json to_json(const ModelVersion& v);
nlohmann::json to_json(const AliasEvent& e);
nlohmann::json to_json(const GateResult& g);

}  // namespace mlops::registry
