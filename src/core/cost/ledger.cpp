#include "cost/ledger.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "cost/period.hpp"
#include "util/error.hpp"

namespace mlops::cost {

const std::vector<std::string>& call_statuses() {
  static const std::vector<std::string> s = {"ok",          "auth",         "rate_limit", "timeout",   "bad_request",
                                             "bad_response", "server",      "connection", "budget"};
  return s;
}

std::optional<GroupBy> parse_group_by(std::string_view text) {
  for (auto g : {GroupBy::model, GroupBy::provider, GroupBy::prompt, GroupBy::day, GroupBy::eval})
    if (text == group_by_name(g)) return g;
  return std::nullopt;
}

const char* group_by_name(GroupBy g) {
  switch (g) {
    case GroupBy::model:
      return "model";
    case GroupBy::provider:
      return "provider";
    case GroupBy::prompt:
      return "prompt";
    case GroupBy::day:
      return "day";
    case GroupBy::eval:
      return "eval";
  }
  return "?";
}

std::optional<double> Totals::cost_usd() const {
  if (calls > 0 && unknown_price_calls == calls) return std::nullopt;
  return static_cast<double>(cost_nusd) / 1e9;
}

void Totals::add(const Totals& o) {
  calls += o.calls;
  errors += o.errors;
  cache_hits += o.cache_hits;
  tokens_in += o.tokens_in;
  tokens_out += o.tokens_out;
  tokens_cache_read += o.tokens_cache_read;
  tokens_cache_write += o.tokens_cache_write;
  unknown_price_calls += o.unknown_price_calls;
  cost_nusd += o.cost_nusd;
}

namespace {

// How one grouping reads the rollups (dim, key expressions over llm_rollup) and
// the raw rows (key expressions over llm_calls). Provider and day totals are
// sums of the per-model rollups.
struct GroupSpec {
  const char* dim;
  const char* rollup_k1;
  const char* rollup_k2;
  const char* raw_k1;
  const char* raw_k2;
};

GroupSpec spec_for(GroupBy g) {
  switch (g) {
    case GroupBy::model:
      return {"model", "k1", "k2", "provider", "model"};
    case GroupBy::provider:
      return {"model", "k1", "''", "provider", "''"};
    case GroupBy::prompt:
      return {"prompt", "k1", "''", "coalesce(prompt, '')", "''"};
    case GroupBy::eval:
      return {"eval", "k1", "''", "coalesce(eval_id, '')", "''"};
    case GroupBy::day:
      return {"model", "bucket * grain / 86400000", "''", "ts_ms / 86400000", "''"};
  }
  return {};
}

using Groups = std::map<std::pair<std::string, std::string>, Totals>;

// Adds the rows of a query whose columns are k1, k2 and then the Totals fields.
void accumulate(store::Statement& st, Groups& groups) {
  while (st.step()) {
    Totals t;
    t.calls = st.get_int(2);
    t.errors = st.get_int(3);
    t.cache_hits = st.get_int(4);
    t.tokens_in = st.get_int(5);
    t.tokens_out = st.get_int(6);
    t.tokens_cache_read = st.get_int(7);
    t.tokens_cache_write = st.get_int(8);
    t.unknown_price_calls = st.get_int(9);
    t.cost_nusd = st.get_int(10);
    groups[{st.get_text(0), st.get_text(1)}].add(t);
  }
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

ReportRow make_row(GroupBy g, const std::pair<std::string, std::string>& key, const Totals& t) {
  ReportRow row;
  row.totals = t;
  switch (g) {
    case GroupBy::model:
      row.key = key.second;
      row.labels = {{"provider", key.first}, {"model", key.second}};
      break;
    case GroupBy::day:
      row.key = format_day(std::stoll(key.first) * k_day_ms);
      row.labels = {{"day", row.key}};
      break;
    default:
      row.key = key.first;
      row.labels = {{group_by_name(g), key.first}};
      break;
  }
  return row;
}

}  // namespace

std::int64_t cost_nusd(double cost_usd) {
  // SQLite's round(X) with no digits is (double)(sqlite_int64)(X + 0.5) for
  // 0 <= X < LARGEST_INT64 - 1 (and the mirror image below 0); larger values
  // are whole already, and CAST AS INTEGER saturates them.
  constexpr double k_limit = 9223372036854775807.0 - 1;
  double r = cost_usd * 1e9;
  if (r >= 0 && r < k_limit) return static_cast<std::int64_t>(r + 0.5);
  if (r < 0 && -r < k_limit) return -static_cast<std::int64_t>(-r + 0.5);
  return r < 0 ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
}

std::vector<RollupRow> rollup_rows(const CallRecord* calls, std::size_t n) {
  // Key: dim index (model, prompt, eval), grain, bucket, k1, k2. The three dims and
  // two grains of the former trigger, one row per distinct key.
  static const char* const k_dims[] = {"model", "prompt", "eval"};
  using Key = std::tuple<int, std::int64_t, std::int64_t, std::string_view, std::string_view>;
  std::map<Key, Totals> sums;
  static const std::string k_empty;
  for (std::size_t i = 0; i < n; ++i) {
    const CallRecord& c = calls[i];
    Totals t;
    t.calls = 1;
    t.errors = c.status != "ok";
    t.cache_hits = c.cache_hit;
    t.tokens_in = c.usage.input_tokens;
    t.tokens_out = c.usage.output_tokens;
    t.tokens_cache_read = c.usage.cache_read_tokens;
    t.tokens_cache_write = c.usage.cache_write_tokens;
    // A NaN cost is stored as NULL by SQLite: an unknown price, as the row reads.
    bool known = c.cost_usd && !std::isnan(*c.cost_usd);
    t.unknown_price_calls = !known;
    t.cost_nusd = known ? cost_nusd(*c.cost_usd) : 0;
    const std::string& prompt = c.prompt ? *c.prompt : k_empty;
    const std::string& eval = c.eval_id ? *c.eval_id : k_empty;
    for (std::int64_t grain : {k_hour_ms, k_day_ms}) {
      std::int64_t bucket = c.ts_ms / grain;
      sums[Key{0, grain, bucket, c.provider, c.model}].add(t);
      sums[Key{1, grain, bucket, prompt, k_empty}].add(t);
      sums[Key{2, grain, bucket, eval, k_empty}].add(t);
    }
  }
  std::vector<RollupRow> out;
  out.reserve(sums.size());
  for (const auto& [k, t] : sums)
    out.push_back({k_dims[std::get<0>(k)], std::get<1>(k), std::get<2>(k), std::string(std::get<3>(k)),
                   std::string(std::get<4>(k)), t});
  return out;
}

Ledger::Ledger(store::Db& db) : db_(db) {}

namespace {

void check(const CallRecord& c) {
  const auto& statuses = call_statuses();
  if (std::find(statuses.begin(), statuses.end(), c.status) == statuses.end())
    throw UsageError("cannot record an LLM call with status '" + c.status + "'",
                     "use ok or one of the error classes: auth, rate_limit, timeout, bad_request, bad_response, server, connection, "
                     "budget");
  const Usage& u = c.usage;
  if (u.input_tokens < 0 || u.output_tokens < 0 || u.cache_read_tokens < 0 || u.cache_write_tokens < 0 || c.ts_ms < 0)
    throw UsageError("cannot record an LLM call with a negative token count or time");
}

}  // namespace

// Rows and their rollups in the caller's transaction (db_.write joins it).
std::int64_t Ledger::insert_rows(const CallRecord* calls, std::size_t n) {
  if (!insert_)
    insert_.emplace(db_.prepare(
        "INSERT INTO llm_calls (ts_ms, provider, model, prompt, prompt_version, eval_id, experiment_id, "
        "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, status, "
        "cache_hit, trace_id, span_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16, ?17)"));
  if (!upsert_)
    upsert_.emplace(db_.prepare(
        "INSERT INTO llm_rollup (dim, grain, bucket, k1, k2, calls, errors, cache_hits, tokens_in, tokens_out, "
        "tokens_cache_read, tokens_cache_write, unknown_price_calls, cost_nusd) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT (dim, grain, bucket, k1, k2) DO UPDATE SET "
        "calls = calls + excluded.calls, errors = errors + excluded.errors, "
        "cache_hits = cache_hits + excluded.cache_hits, tokens_in = tokens_in + excluded.tokens_in, "
        "tokens_out = tokens_out + excluded.tokens_out, "
        "tokens_cache_read = tokens_cache_read + excluded.tokens_cache_read, "
        "tokens_cache_write = tokens_cache_write + excluded.tokens_cache_write, "
        "unknown_price_calls = unknown_price_calls + excluded.unknown_price_calls, "
        "cost_nusd = cost_nusd + excluded.cost_nusd"));
  for (std::size_t i = 0; i < n; ++i) {
    const CallRecord& c = calls[i];
    const Usage& u = c.usage;
    insert_->reset();
    insert_->bind_all(c.ts_ms, c.provider, c.model, c.prompt, c.prompt_version, c.eval_id, c.experiment_id,
                      u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, c.cost_usd,
                      c.latency_ms, c.status, static_cast<int>(c.cache_hit), c.trace_id, c.span_id);
    insert_->run();
  }
  std::int64_t last_id = db_.last_insert_rowid();
  for (const RollupRow& r : rollup_rows(calls, n)) {
    const Totals& t = r.totals;
    upsert_->reset();
    upsert_->bind_all(r.dim, r.grain, r.bucket, r.k1, r.k2, t.calls, t.errors, t.cache_hits, t.tokens_in, t.tokens_out,
                      t.tokens_cache_read, t.tokens_cache_write, t.unknown_price_calls, t.cost_nusd);
    upsert_->run();
  }
  return last_id;
}

std::int64_t Ledger::record(const CallRecord& c) {
  check(c);
  std::int64_t id = 0;
  db_.write([&] { id = insert_rows(&c, 1); });
  return id;
}

void Ledger::record_batch(const std::vector<CallRecord>& calls) {
  if (calls.empty()) return;
  for (const auto& c : calls) check(c);
  db_.write([&] { insert_rows(calls.data(), calls.size()); });
}

Report Ledger::report(GroupBy group_by, std::int64_t since_ms, std::int64_t until_ms) {
  Report r;
  r.group_by = group_by;
  r.since_ms = std::max<std::int64_t>(since_ms, 0);
  r.until_ms = std::max(until_ms, r.since_ms);
  GroupSpec spec = spec_for(group_by);
  std::string totals_sql =
      "count(*), sum(status <> 'ok'), sum(cache_hit), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
      "sum(cache_write_tokens), sum(cost_usd IS NULL), sum(CAST(round(cost_usd * 1e9) AS INTEGER))";
  auto raw = db_.prepare(std::string("SELECT ") + spec.raw_k1 + ", " + spec.raw_k2 + ", " + totals_sql +
                         " FROM llm_calls WHERE ts_ms >= ?1 AND ts_ms < ?2 GROUP BY 1, 2");
  auto rollup = db_.prepare(std::string("SELECT ") + spec.rollup_k1 + ", " + spec.rollup_k2 +
                            ", sum(calls), sum(errors), sum(cache_hits), sum(tokens_in), sum(tokens_out), "
                            "sum(tokens_cache_read), sum(tokens_cache_write), sum(unknown_price_calls), "
                            "sum(cost_nusd) FROM llm_rollup WHERE dim = ?1 AND grain = ?2 AND bucket >= ?3 AND "
                            "bucket < ?4 GROUP BY 1, 2");
  Groups groups;
  auto raw_range = [&](std::int64_t from, std::int64_t to) {
    if (from >= to) return;
    raw.reset();
    raw.bind_all(from, to);
    accumulate(raw, groups);
  };
  auto rollup_range = [&](std::int64_t grain, std::int64_t from, std::int64_t to) {
    if (from >= to) return;
    rollup.reset();
    rollup.bind_all(spec.dim, grain, from / grain, to / grain);
    accumulate(rollup, groups);
  };
  // [since, until) = raw | hours | days | hours | raw, each part possibly empty:
  // whole days from the daily buckets, whole hours at the edges of those from
  // the hourly buckets, and the partial hours at either end from the raw rows.
  db_.read([&] {
    std::int64_t h0 = ceil_div(r.since_ms, k_hour_ms) * k_hour_ms, h1 = r.until_ms / k_hour_ms * k_hour_ms;
    if (h0 >= h1) {
      raw_range(r.since_ms, r.until_ms);
      return;
    }
    std::int64_t d0 = ceil_div(h0, k_day_ms) * k_day_ms, d1 = h1 / k_day_ms * k_day_ms;
    if (d0 >= d1) d0 = d1 = h1;
    raw_range(r.since_ms, h0);
    rollup_range(k_hour_ms, h0, d0);
    rollup_range(k_day_ms, d0, d1);
    rollup_range(k_hour_ms, d1, h1);
    raw_range(h1, r.until_ms);
  });
  for (const auto& [key, t] : groups) {
    if (t.calls == 0) continue;
    r.rows.push_back(make_row(group_by, key, t));
    r.total.add(t);
  }
  std::stable_sort(r.rows.begin(), r.rows.end(), [group_by](const ReportRow& a, const ReportRow& b) {
    if (group_by == GroupBy::day) return a.key < b.key;
    if (a.totals.cost_nusd != b.totals.cost_nusd) return a.totals.cost_nusd > b.totals.cost_nusd;
    return a.totals.calls > b.totals.calls;
  });
  return r;
}

}  // namespace mlops::cost
