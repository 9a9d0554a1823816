#pragma once
// The cost ledger: one row per LLM call in state.db (table llm_calls), and
// hourly and daily rollups of it (llm_rollup) kept by the ledger in the same
// transaction as the rows: each write batch is summed in memory and upserted once
// per rollup key, so a killed process never leaves rows and rollups out of step
// (schema v8 dropped the per-row trigger that did this before). Every writer of
// llm_calls goes through Ledger. A report over any range is exact: whole days come
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
  // Appends calls in one write transaction (joining the caller's when one is
  // open): every row, then each hourly and daily rollup they touch upserted once
  // with their sums. All rows are checked before anything is written; a bad one
  // throws UsageError as record() does and nothing is written.
  void record_batch(const std::vector<CallRecord>& calls);
  // Calls with since_ms <= ts_ms < until_ms, grouped; reads one snapshot.
  Report report(GroupBy group_by, std::int64_t since_ms, std::int64_t until_ms);

 private:
  // Inserts the rows and upserts their rollups; returns the last row's id.
  std::int64_t insert_rows(const CallRecord* calls, std::size_t n);

  store::Db& db_;
  std::optional<store::Statement> insert_, upsert_;
};

// The rollup rows (dim, grain, bucket, k1, k2 and sums) that `calls` add to
// llm_rollup, in key order: what the ledger upserts for one batch. Costs are
// rounded to nano-dollars as SQLite's CAST(round(cost_usd * 1e9) AS INTEGER).
struct RollupRow {
  std::string dim;
  std::int64_t grain = 0, bucket = 0;
  std::string k1, k2;
  Totals totals;
};
std::vector<RollupRow> rollup_rows(const CallRecord* calls, std::size_t n);
// cost_usd in integer nano-dollars, rounded as SQLite's round() then CAST AS INTEGER.
std::int64_t cost_nusd(double cost_usd);

}  // namespace mlops::cost
