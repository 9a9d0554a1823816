#pragma once
// `status` and `doctor`: what a workspace holds, and whether it is consistent.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workspace/workspace.hpp"

namespace mlops::workspace {

struct StatusReport {
  fs::path root;
  std::string name;
  int schema_version = 0;
  std::int64_t audit_entries = 0;
  std::int64_t spans = 0;
  std::int64_t traces = 0;
  std::int64_t objects = 0;
  std::int64_t tracked_files = 0;
  std::optional<std::string> head_commit;
  std::optional<std::int64_t> last_activity_ns;
  std::string last_activity;  // the newest audit action or span name
  std::uint64_t db_bytes = 0;
  std::uint64_t objects_bytes = 0;
  std::uint64_t repo_bytes = 0;
};

StatusReport status(Workspace& ws);

enum class CheckState { ok, warning, error, fixed };
const char* check_state_name(CheckState s);

struct CheckResult {
  std::string name;  // layout, database, schema, objects, git, index, audit
  CheckState state = CheckState::ok;
  std::vector<std::string> details;
};

struct DoctorReport {
  std::vector<CheckResult> checks;
  // True when no check is left in error (warnings do not fail).
  bool healthy() const;
};

// Runs every check; with `fix`, repairs what is safe to repair (never the audit
// chain: a broken chain is evidence and stays as it is).
DoctorReport doctor(const fs::path& root, bool fix, const config::EnvLookup& env);

}  // namespace mlops::workspace
