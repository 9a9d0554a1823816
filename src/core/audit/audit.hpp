#pragma once
// The append-only audit log. Each entry carries the SHA-256 of the previous entry,
// so editing, deleting or reordering any entry breaks the chain, and the newest
// entry's hash is mirrored in meta.audit_head so truncation is caught too.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/db.hpp"

namespace mlops::audit {

inline constexpr const char* k_genesis_hash = "0000000000000000000000000000000000000000000000000000000000000000";

struct Entry {
  std::int64_t seq = 0;
  std::int64_t ts_ns = 0;
  std::string actor;
  std::string action;  // dotted verb: config.set, prompt.deploy, workspace.init
  std::string target;
  nlohmann::json details = nlohmann::json::object();
  std::optional<std::string> trace_id;
  std::string prev_hash;
  std::string hash;
};

struct Filter {
  std::optional<std::int64_t> since_ns;
  std::string action_prefix;
  std::string actor;
  std::size_t limit = 0;  // 0 = all; newest entries when limited
};

struct VerifyResult {
  std::int64_t entries = 0;
  std::vector<std::string> problems;
  std::optional<std::int64_t> first_bad_seq;
  bool ok() const { return problems.empty(); }
};

// The hash an entry must carry (over its fields and prev_hash).
std::string entry_hash(const Entry& e);

class AuditLog {
 public:
  explicit AuditLog(store::Db& db) : db_(db) {}
  // Appends in a write transaction (joining the caller's if one is open, so the
  // entry commits or rolls back with the change it records). Safe under
  // concurrent processes: the chain is extended under SQLite's write lock.
  Entry append(const std::string& actor, const std::string& action, const std::string& target,
               const nlohmann::json& details, const std::optional<std::string>& trace_id = std::nullopt);
  std::vector<Entry> list(const Filter& filter = {});
  VerifyResult verify();
  std::int64_t count();
  std::optional<std::int64_t> last_ts_ns();

 private:
  store::Db& db_;
};

nlohmann::json to_json(const Entry& e);

}  // namespace mlops::audit
