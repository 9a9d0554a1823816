#include "cost/ledger.hpp"

#include <algorithm>
#include <map>

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

Ledger::Ledger(store::Db& db) : db_(db) {}

std::int64_t Ledger::record(const CallRecord& c) {
  const auto& statuses = call_statuses();
  if (std::find(statuses.begin(), statuses.end(), c.status) == statuses.end())
    throw UsageError("cannot record an LLM call with status '" + c.status + "'",
                     "use ok or one of the error classes: auth, rate_limit, timeout, bad_request, bad_response, server, connection, "
                     "budget");
  const Usage& u = c.usage;
  if (u.input_tokens < 0 || u.output_tokens < 0 || u.cache_read_tokens < 0 || u.cache_write_tokens < 0 || c.ts_ms < 0)
    throw UsageError("cannot record an LLM call with a negative token count or time");
  std::int64_t id = 0;
  db_.write([&] {
    if (!insert_)
      insert_.emplace(db_.prepare(
          "INSERT INTO llm_calls (ts_ms, provider, model, prompt, prompt_version, eval_id, experiment_id, "
          "input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms, status, "
          "cache_hit, trace_id, span_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
          "?16, ?17)"));
    insert_->reset();
    insert_->bind_all(c.ts_ms, c.provider, c.model, c.prompt, c.prompt_version, c.eval_id, c.experiment_id,
                      u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, c.cost_usd,
                      c.latency_ms, c.status, static_cast<int>(c.cache_hit), c.trace_id, c.span_id);
    insert_->run();
    id = db_.last_insert_rowid();
  });
  return id;
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
