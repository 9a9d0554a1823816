#pragma once
// The cost ledger: one row per LLM call in state.db (table llm_calls), and
// hourly and daily rollups of it (llm_rollup) kept by a trigger in the same
// transaction as each insert. A report over any range is exact: whole days come
// from the daily rollups, whole hours around them from the hourly ones, and the
// partial hours at either end from the raw rows (indexed by time).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cost/pricing.hpp"
#include "store/db.hpp"

namespace mlops::cost {

// The statuses a call may be recorded with: "ok" or the error class.
const std::vector<std::string>& call_statuses();

struct CallRecord {
  std::int64_t ts_ms = 0;
  std::string provider, model;
  std::optional<std::string> prompt;
  std::optional<int> prompt_version;
  std::optional<std::string> eval_id, experiment_id;
  Usage usage;
  std::optional<double> cost_usd;  // nullopt = unknown price
  double latency_ms = 0;
  std::string status = "ok";
  bool cache_hit = false;  // answered from mlopsctl's response cache
  std::string trace_id, span_id;
};

enum class GroupBy { model, provider, prompt, day, eval };
std::optional<GroupBy> parse_group_by(std::string_view text);
const char* group_by_name(GroupBy g);

// Sums over a set of calls. Costs are summed as integer nano-dollars so that any
// split of a range into parts adds up to exactly the same figure.
struct Totals {
  std::int64_t calls = 0, errors = 0, cache_hits = 0;
  std::int64_t tokens_in = 0, tokens_out = 0, tokens_cache_read = 0, tokens_cache_write = 0;
  std::int64_t unknown_price_calls = 0;
  std::int64_t cost_nusd = 0;  // calls at a known price only
  // The known part of the cost; nullopt when every call had an unknown price.
  std::optional<double> cost_usd() const;
  void add(const Totals& o);
  bool operator==(const Totals&) const = default;
};

struct ReportRow {
  std::string key;                                          // model, provider, prompt, eval id or YYYY-MM-DD
  std::vector<std::pair<std::string, std::string>> labels;  // e.g. {provider, openai}, {model, gpt-4o}
  Totals totals;
};

struct Report {
  GroupBy group_by = GroupBy::model;
  std::int64_t since_ms = 0, until_ms = 0;  // [since, until)
  std::vector<ReportRow> rows;              // days in order; otherwise by cost, then calls
  Totals total;
};

class Ledger {
 public:
  explicit Ledger(store::Db& db);
  // Appends one call (and its rollups) in a write transaction, joining the
  // caller's when one is open. Returns the row id. Throws UsageError for a
  // status outside call_statuses() or a negative token count.
  std::int64_t record(const CallRecord& call);
  // Calls with since_ms <= ts_ms < until_ms, grouped; reads one snapshot.
  Report report(GroupBy group_by, std::int64_t since_ms, std::int64_t until_ms);

 private:
  store::Db& db_;
  std::optional<store::Statement> insert_;
};

}  // namespace mlops::cost
