#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "cost/budget.hpp"
#include "cost/ledger.hpp"
#include "cost/period.hpp"
#include "cost/pricing.hpp"
#include "cost/report_format.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::cost {
namespace {

// 2026-11-21T10:30:00Z, a Saturday.
constexpr std::int64_t k_sat = 1795257000000;

std::int64_t utc(const std::string& iso) {
  return parse_instant_ms(iso, 0, "test");
}

// ---- pricing ------------------------------------------------------------------

TEST(Pricing, ShippedTableFindsExactAliasAndDatedSnapshots) {
  auto t = PriceTable::load({});
  const Price* p = t.find("openai", "gpt-4o");
  ASSERT_NE(p, nullptr);
  EXPECT_DOUBLE_EQ(p->input, 2.50);
  EXPECT_DOUBLE_EQ(p->output, 10.00);
  EXPECT_EQ(p->origin.rfind("embedded:pricing.yaml:", 0), 0u);
  EXPECT_EQ(t.find("openai", "gpt-4o-2024-08-06"), p);                   // dated snapshot -> base
  EXPECT_DOUBLE_EQ(t.find("openai", "gpt-4o-2024-05-13")->input, 5.00);  // its own entry wins
  const Price* sonnet = t.find("anthropic", "claude-sonnet-4");
  ASSERT_NE(sonnet, nullptr);
  EXPECT_EQ(t.find("anthropic", "claude-sonnet-4-20250514"), sonnet);
  EXPECT_EQ(t.find("anthropic", "claude-sonnet-4-0"), sonnet);  // alias
  EXPECT_EQ(t.find("anthropic", "claude-3-7-sonnet-20250219"), t.find("anthropic", "claude-3-7-sonnet"));
  EXPECT_EQ(t.find("ollama", "llama3"), nullptr);
  EXPECT_EQ(t.find("openai", "claude-sonnet-4"), nullptr);  // the provider is part of the id
  EXPECT_FALSE(t.cost("ollama", "llama3", {100, 100, 0, 0}).has_value());
  for (const auto* e : t.entries()) {
    EXPECT_FALSE(e->source.empty()) << e->id();
    EXPECT_FALSE(e->as_of.empty()) << e->id();
  }
}

TEST(Pricing, CostArithmetic) {
  auto t = PriceTable::load({});
  // claude-sonnet-4: 3 in, 15 out, 0.30 cache read, 3.75 cache write per 1M.
  auto c = t.cost("anthropic", "claude-sonnet-4-20250514", {1000, 500, 2000, 100});
  ASSERT_TRUE(c.has_value());
  EXPECT_NEAR(*c, (1000 * 3.0 + 500 * 15.0 + 2000 * 0.30 + 100 * 3.75) / 1e6, 1e-15);
  EXPECT_NEAR(*t.cost("openai", "gpt-4o-mini", {1000000, 1000000, 0, 0}), 0.75, 1e-12);
  // OpenAI publishes no cache-write price: such a call's cost is unknown, not a guess.
  EXPECT_FALSE(t.cost("openai", "gpt-4o", {10, 10, 0, 5}).has_value());
  EXPECT_DOUBLE_EQ(*t.cost("openai", "gpt-4o", {0, 0, 0, 0}), 0.0);
}

TEST(Pricing, StripDateSuffix) {
  EXPECT_EQ(strip_date_suffix("gpt-4o-2024-08-06"), "gpt-4o");
  EXPECT_EQ(strip_date_suffix("claude-opus-4-1-20250805"), "claude-opus-4-1");
  EXPECT_EQ(strip_date_suffix("gpt-4o"), "gpt-4o");
  EXPECT_EQ(strip_date_suffix("claude-opus-4-1"), "claude-opus-4-1");
  EXPECT_EQ(strip_date_suffix("-20250805"), "-20250805");
  EXPECT_EQ(strip_date_suffix("model-12345678"), "model-12345678");  // not a date
}

TEST(Pricing, WorkspaceOverridesWinAndKeepTheRest) {
  testing::ScratchDir ws("pricing"), user("pricing-user");
  util::atomic_write(ws / "pricing.yaml",
                     "prices:\n  openai:gpt-4o:\n    input: 1\n    output: 2\n    source: ours\n"
                     "  \"ollama:*\":\n    input: 0\n    output: 0\n");
  util::atomic_write(user / "pricing.yaml",
                     "prices:\n  openai:gpt-4o:\n    input: 9\n    output: 9\n"
                     "  openai:gpt-4o-mini:\n    input: 7\n    output: 7\n");
  auto t = PriceTable::load({ws.path(), user.path()});
  EXPECT_DOUBLE_EQ(t.find("openai", "gpt-4o")->input, 1);  // the workspace beats the user dir
  EXPECT_EQ(t.find("openai", "gpt-4o")->origin, (ws / "pricing.yaml").string() + ":2");
  EXPECT_DOUBLE_EQ(t.find("openai", "gpt-4o-mini")->input, 7);              // the user dir beats the shipped table
  EXPECT_DOUBLE_EQ(t.find("openai", "gpt-4.1")->input, 2.00);               // untouched shipped entry
  EXPECT_DOUBLE_EQ(*t.cost("ollama", "llama3:8b", {500, 500, 0, 0}), 0.0);  // priced at 0 on purpose
}

TEST(Pricing, MalformedFilesNameFileLineAndKey) {
  PriceTable t;
  try {
    t.overlay("prices:\n  openai:x:\n    input: [1\n", "/ws/templates/pricing.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/ws/templates/pricing.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid YAML"), std::string::npos) << e.what();
  }
  try {
    t.overlay("prices:\n  openai:x:\n    input: 1\n    output: cheap\n", "f.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("f.yaml:4:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("prices.openai:x.output"), std::string::npos) << e.what();
    EXPECT_FALSE(e.hint().empty());
  }
  EXPECT_THROW(t.overlay("prices:\n  gpt-4o:\n    input: 1\n    output: 1\n", "f.yaml"), ConfigError);
  EXPECT_THROW(t.overlay("prices:\n  a:b:\n    input: 1\n", "f.yaml"), ConfigError);  // no output
  EXPECT_THROW(t.overlay("prices:\n  a:b:\n    input: -1\n    output: 1\n", "f.yaml"), ConfigError);
  try {
    t.overlay("prices:\n  a:b:\n    input: 1\n    output: 1\n    cache_raed: 1\n", "f.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'cache_read'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.overlay("price:\n  a:b:\n    input: 1\n    output: 1\n", "f.yaml"), ConfigError);
}

TEST(Pricing, SetKeepsCommentsAndOtherEntries) {
  std::string text =
      "# my prices\n"
      "prices:\n"
      "  # local models are free\n"
      "  \"ollama:*\":\n"
      "    input: 0\n"
      "    output: 0\n"
      "\n"
      "  # our gateway\n"
      "  openai:gpt-4o:\n"
      "    input: 1\n"
      "    output: 2\n"
      "    source: contract\n";
  Price p;
  p.provider = "ollama";
  p.model = "*";
  p.input = 0.5;
  p.output = 0.25;
  p.cache_read = 0.125;
  p.source = "https://example.org/\"quoted\"";
  p.as_of = "2026-11-21";
  std::string out = pricing_yaml_set(text, "f.yaml", p);
  EXPECT_NE(out.find("# my prices\n"), std::string::npos);
  EXPECT_NE(out.find("# local models are free\n"), std::string::npos);
  EXPECT_NE(out.find("\n\n  # our gateway\n  openai:gpt-4o:\n    input: 1\n"), std::string::npos) << out;
  PriceTable t;
  t.overlay(out, "f.yaml");
  EXPECT_DOUBLE_EQ(t.find("ollama", "x")->input, 0.5);
  EXPECT_EQ(*t.find("ollama", "x")->cache_read, 0.125);
  EXPECT_EQ(t.find("ollama", "x")->source, "https://example.org/\"quoted\"");
  EXPECT_EQ(t.find("openai", "gpt-4o")->source, "contract");

  p.provider = "openai";
  p.model = "gpt-5";
  std::string added = pricing_yaml_set(out, "f.yaml", p);
  PriceTable t2;
  t2.overlay(added, "f.yaml");
  EXPECT_EQ(t2.entries().size(), 3u);
  EXPECT_EQ(added.substr(0, out.size() - 1), out.substr(0, out.size() - 1));  // appended at the end

  PriceTable t3;
  t3.overlay(pricing_yaml_set("", "new.yaml", p), "new.yaml");
  EXPECT_EQ(t3.entries().size(), 1u);
  EXPECT_THROW(pricing_yaml_set("prices: {a:b: {input: 1, output: 1}}\n", "f.yaml", p), ConfigError);
}

// ---- periods and instants -----------------------------------------------------

TEST(Period, CalendarPeriodsInUtc) {
  auto day = period_window(Period::day, k_sat);
  EXPECT_EQ(day.start_ms, utc("2026-11-21"));
  EXPECT_EQ(day.end_ms, utc("2026-11-22"));
  auto week = period_window(Period::week, k_sat);
  EXPECT_EQ(week.start_ms, utc("2026-11-16"));  // Monday
  EXPECT_EQ(week.end_ms, utc("2026-11-23"));
  EXPECT_EQ(period_window(Period::week, utc("2026-11-23")).start_ms, utc("2026-11-23"));                // Monday 00:00
  EXPECT_EQ(period_window(Period::week, utc("2026-11-22T23:59:59.999Z")).start_ms, utc("2026-11-16"));  // Sunday
  auto month = period_window(Period::month, k_sat);
  EXPECT_EQ(month.start_ms, utc("2026-11-01"));
  EXPECT_EQ(month.end_ms, utc("2026-12-01"));
  auto dec = period_window(Period::month, utc("2026-12-31T23:59:59Z"));
  EXPECT_EQ(dec.end_ms, utc("2027-01-01"));
  EXPECT_EQ(period_window(Period::month, utc("2028-02-29T12:00")).end_ms, utc("2028-03-01"));
  EXPECT_EQ(period_window(Period::week, 0).start_ms, utc("1969-12-29"));  // the epoch was a Thursday
}

TEST(Period, ParsesInstants) {
  EXPECT_EQ(utc("1970-01-02"), 86400000);
  EXPECT_EQ(utc("1970-01-01T01:00"), 3600000);
  EXPECT_EQ(utc("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(utc("1970-01-01T09:00:00+09:00"), 0);
  EXPECT_EQ(parse_instant_ms("30d", k_sat, "--since"), k_sat - 30 * k_day_ms);
  EXPECT_EQ(parse_instant_ms("90m", k_sat, "--since"), k_sat - 90 * 60000);
  EXPECT_EQ(parse_instant_ms("2w", k_sat, "--since"), k_sat - 14 * k_day_ms);
  EXPECT_THROW(utc("2026-02-30"), UsageError);
  EXPECT_THROW(utc("yesterday"), UsageError);
  EXPECT_THROW(utc("30x"), UsageError);
  EXPECT_THROW(utc("2026-11-01T25:00"), UsageError);
  EXPECT_EQ(format_day(k_sat), "2026-11-21");
}

// ---- ledger and reports -------------------------------------------------------

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = std::make_unique<store::Db>(dir_ / "state.db", store::Db::Mode::create); }
  CallRecord call(std::int64_t ts, const std::string& model, std::optional<double> cost) {
    CallRecord c;
    c.ts_ms = ts;
    c.provider = "openai";
    c.model = model;
    c.usage = {100, 50, 10, 0};
    c.cost_usd = cost;
    return c;
  }
  testing::ScratchDir dir_{"ledger"};
  std::unique_ptr<store::Db> db_;
};

TEST_F(LedgerTest, RecordsAndRejectsBadRows) {
  Ledger l(*db_);
  auto c = call(k_sat, "gpt-4o", 0.01);
  c.prompt = "greeting";
  c.prompt_version = 3;
  c.trace_id = "t";
  EXPECT_EQ(l.record(c), 1);
  c.status = "teapot";
  EXPECT_THROW(l.record(c), UsageError);
  c.status = "rate_limit";
  c.usage.input_tokens = -1;
  EXPECT_THROW(l.record(c), UsageError);
  EXPECT_EQ(db_->query_int("SELECT count(*) FROM llm_calls"), 1);
  EXPECT_EQ(db_->query_text("SELECT prompt || '@' || prompt_version FROM llm_calls"), "greeting@3");
  EXPECT_ANY_THROW(db_->exec("UPDATE llm_calls SET cost_usd = 0"));
  EXPECT_ANY_THROW(db_->exec("DELETE FROM llm_calls"));
}

TEST_F(LedgerTest, UnknownPricesAreCountedNotZeroed) {
  Ledger l(*db_);
  l.record(call(k_sat, "gpt-4o", 0.25));
  l.record(call(k_sat + 1, "mystery", std::nullopt));
  l.record(call(k_sat + 2, "mystery", std::nullopt));
  auto r = l.report(GroupBy::model, k_sat - k_day_ms, k_sat + k_day_ms);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].key, "gpt-4o");
  EXPECT_EQ(r.rows[1].key, "mystery");
  EXPECT_FALSE(r.rows[1].totals.cost_usd().has_value());  // unknown, not $0
  EXPECT_EQ(r.rows[1].totals.unknown_price_calls, 2);
  EXPECT_DOUBLE_EQ(*r.total.cost_usd(), 0.25);
  EXPECT_EQ(r.total.unknown_price_calls, 2);
  auto j = to_json(r);
  EXPECT_TRUE(j["rows"][1]["cost_usd"].is_null());
  EXPECT_EQ(j["total"]["unknown_price_calls"], 2);
  EXPECT_EQ(j["rows"][0]["provider"], "openai");
}

// Rollups plus raw edges must equal a plain GROUP BY over the raw rows, for
// every grouping and any range, to the nano-dollar.
TEST_F(LedgerTest, RollupReportsEqualBruteForceOverRandomRanges) {
  Ledger l(*db_);
  std::mt19937_64 rng(42);
  const std::int64_t start = utc("2026-10-30T17:20:00Z");
  const std::int64_t span = 4 * k_day_ms;
  const std::vector<std::string> models = {"gpt-4o", "gpt-4o-mini", "o3", "claude-sonnet-4", "mystery"};
  const std::vector<std::string> statuses = {"ok", "ok", "ok", "timeout", "rate_limit"};
  db_->write([&] {
    for (int i = 0; i < 3000; ++i) {
      CallRecord c;
      c.ts_ms = start + static_cast<std::int64_t>(rng() % span);
      c.model = models[rng() % models.size()];
      c.provider = c.model.rfind("claude", 0) == 0 ? "anthropic" : "openai";
      if (rng() % 4) c.prompt = "p" + std::to_string(rng() % 7);
      if (rng() % 3 == 0) c.eval_id = "e" + std::to_string(rng() % 3);
      c.usage = {static_cast<std::int64_t>(rng() % 5000), static_cast<std::int64_t>(rng() % 900),
                 static_cast<std::int64_t>(rng() % 300), static_cast<std::int64_t>(rng() % 50)};
      if (c.model != "mystery") c.cost_usd = static_cast<double>(rng() % 100000) / 7e6;
      c.status = statuses[rng() % statuses.size()];
      c.cache_hit = rng() % 10 == 0;
      l.record(c);
    }
  });
  const char* brute_keys[] = {"provider || '|' || model", "provider", "coalesce(prompt, '')",
                              "CAST(ts_ms / 86400000 AS TEXT)", "coalesce(eval_id, '')"};
  const GroupBy groups[] = {GroupBy::model, GroupBy::provider, GroupBy::prompt, GroupBy::day, GroupBy::eval};
  for (int round = 0; round < 40; ++round) {
    std::int64_t a = start - k_hour_ms + static_cast<std::int64_t>(rng() % (span + 2 * k_hour_ms));
    std::int64_t b = start - k_hour_ms + static_cast<std::int64_t>(rng() % (span + 2 * k_hour_ms));
    if (round == 0) a = utc("2026-10-31"), b = utc("2026-11-02");  // whole hours only
    if (round == 1) a = start + 1000, b = start + 2000;            // inside one hour
    if (a > b) std::swap(a, b);
    for (int g = 0; g < 5; ++g) {
      auto r = l.report(groups[g], a, b);
      std::map<std::string, Totals> expected;
      auto st = db_->prepare(std::string("SELECT ") + brute_keys[g] +
                             ", count(*), sum(status <> 'ok'), sum(cache_hit), sum(input_tokens), sum(output_tokens), "
                             "sum(cache_read_tokens), sum(cache_write_tokens), sum(cost_usd IS NULL), "
                             "sum(CAST(round(cost_usd * 1e9) AS INTEGER)) FROM llm_calls WHERE ts_ms >= ?1 AND "
                             "ts_ms < ?2 GROUP BY 1");
      st.bind_all(a, b);
      while (st.step())
        expected[st.get_text(0)] = {st.get_int(1), st.get_int(2), st.get_int(3), st.get_int(4), st.get_int(5),
                                    st.get_int(6), st.get_int(7), st.get_int(8), st.get_int(9)};
      std::map<std::string, Totals> got;
      for (const auto& row : r.rows) {
        std::string key = row.key;
        if (groups[g] == GroupBy::model) key = row.labels[0].second + "|" + row.key;
        if (groups[g] == GroupBy::day) key = std::to_string(utc(row.key) / k_day_ms);
        got[key] = row.totals;
      }
      EXPECT_EQ(got, expected) << "group " << group_by_name(groups[g]) << " range " << a << ".." << b;
    }
  }
}

TEST_F(LedgerTest, DaysAreUtcDaysInOrder) {
  Ledger l(*db_);
  l.record(call(utc("2026-11-20T23:59:59.999Z"), "gpt-4o", 1));
  l.record(call(utc("2026-11-21T00:00:00Z"), "gpt-4o", 2));
  l.record(call(utc("2026-11-19T12:00:00Z"), "gpt-4o", 3));
  auto r = l.report(GroupBy::day, utc("2026-11-01"), utc("2026-12-01"));
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].key, "2026-11-19");
  EXPECT_EQ(r.rows[1].key, "2026-11-20");
  EXPECT_EQ(r.rows[2].key, "2026-11-21");
  EXPECT_DOUBLE_EQ(*r.rows[2].totals.cost_usd(), 2);
}

// ---- rollups kept per write batch (schema v8) --------------------------------

// llm_rollup as it stands, and as the former per-row trigger would have built it
// from llm_calls: one text line per rollup row, in key order.
std::string rollup_table(store::Db& db) {
  std::string out;
  auto st = db.prepare(
      "SELECT dim, grain, bucket, k1, k2, calls, errors, cache_hits, tokens_in, tokens_out, tokens_cache_read, "
      "tokens_cache_write, unknown_price_calls, cost_nusd FROM llm_rollup ORDER BY dim, grain, bucket, k1, k2");
  while (st.step()) {
    for (int i = 0; i < 14; ++i) out += (i ? "|" : "") + st.get_text(i);
    out += "\n";
  }
  return out;
}

std::string rollup_recomputed(store::Db& db) {
  std::string out;
  auto st = db.prepare(
      "SELECT d.dim, g.grain, c.ts_ms / g.grain AS bucket, d.k1, d.k2, count(*), sum(c.status <> 'ok'), "
      "sum(c.cache_hit != 0), sum(c.input_tokens), sum(c.output_tokens), sum(c.cache_read_tokens), "
      "sum(c.cache_write_tokens), sum(c.cost_usd IS NULL), "
      "sum(coalesce(CAST(round(c.cost_usd * 1e9) AS INTEGER), 0)) "
      "FROM llm_calls c JOIN (SELECT id, 'model' AS dim, provider AS k1, model AS k2 FROM llm_calls "
      "  UNION ALL SELECT id, 'prompt', coalesce(prompt, ''), '' FROM llm_calls "
      "  UNION ALL SELECT id, 'eval', coalesce(eval_id, ''), '' FROM llm_calls) d ON d.id = c.id "
      "JOIN (SELECT 3600000 AS grain UNION ALL SELECT 86400000) g "
      "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5");
  while (st.step()) {
    for (int i = 0; i < 14; ++i) out += (i ? "|" : "") + st.get_text(i);
    out += "\n";
  }
  return out;
}

// A random call over ~3 days from `start`: errors, cache hits, unknown prices,
// prompts with versions, evals, costs on half-nano-dollar edges.
CallRecord random_call(std::mt19937_64& rng, std::int64_t start) {
  static const std::vector<std::string> models = {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "mystery"};
  static const std::vector<std::string> statuses = {"ok", "ok", "ok", "ok", "timeout", "rate_limit", "server", "budget"};
  CallRecord c;
  c.ts_ms = start + static_cast<std::int64_t>(rng() % (3 * k_day_ms));
  c.model = models[rng() % models.size()];
  c.provider = c.model.rfind("claude", 0) == 0 ? "anthropic" : (rng() % 5 ? "openai" : "local");
  if (rng() % 4) {
    c.prompt = "p" + std::to_string(rng() % 5);
    c.prompt_version = static_cast<int>(rng() % 3) + 1;
  }
  if (rng() % 3 == 0) c.eval_id = "e" + std::to_string(rng() % 3);
  if (rng() % 7 == 0) c.experiment_id = "x1";
  c.status = statuses[rng() % statuses.size()];
  c.cache_hit = c.status == "ok" && rng() % 6 == 0;
  if (!c.cache_hit && c.status == "ok")
    c.usage = {static_cast<std::int64_t>(rng() % 5000), static_cast<std::int64_t>(rng() % 900),
               static_cast<std::int64_t>(rng() % 300), static_cast<std::int64_t>(rng() % 50)};
  switch (rng() % 6) {
    case 0:
      break;  // unknown price
    case 1:
      c.cost_usd = 0.0;
      break;
    case 2:
      c.cost_usd = (static_cast<double>(rng() % 1000) + 0.5) * 1e-9;  // on a rounding edge
      break;
    default:
      c.cost_usd = static_cast<double>(rng() % 100000) / 7e6;
  }
  if (c.model == "mystery") c.cost_usd.reset();
  return c;
}

TEST_F(LedgerTest, RollupsEqualARecomputationAfterMixedBatches) {
  Ledger l(*db_);
  std::mt19937_64 rng(7);
  const std::int64_t start = utc("2026-11-19T22:10:00Z");
  int rows = 0;
  for (int b = 0; b < 60; ++b) {
    std::vector<CallRecord> batch(static_cast<std::size_t>(rng() % 200));
    for (auto& c : batch) c = random_call(rng, start);
    rows += static_cast<int>(batch.size());
    switch (b % 3) {
      case 0:
        l.record_batch(batch);
        break;
      case 1:  // one call at a time, as `llm call` does
        for (const auto& c : batch) l.record(c);
        break;
      default:  // several batches in the caller's transaction, as a client flush inside an eval
        db_->write([&] {
          std::size_t half = batch.size() / 2;
          l.record_batch(std::vector<CallRecord>(batch.begin(), batch.begin() + static_cast<long>(half)));
          l.record_batch(std::vector<CallRecord>(batch.begin() + static_cast<long>(half), batch.end()));
        });
    }
  }
  ASSERT_EQ(db_->query_int("SELECT count(*) FROM llm_calls"), rows);
  // Several hours and days, every dimension: a real mix, not one bucket.
  EXPECT_GT(db_->query_int("SELECT count(DISTINCT bucket) FROM llm_rollup WHERE grain = 86400000"), 2);
  EXPECT_GT(db_->query_int("SELECT count(DISTINCT bucket) FROM llm_rollup WHERE grain = 3600000"), 48);
  EXPECT_GT(db_->query_int("SELECT sum(errors) FROM llm_rollup WHERE dim = 'eval'"), 0);
  EXPECT_GT(db_->query_int("SELECT sum(cache_hits) FROM llm_rollup WHERE dim = 'prompt'"), 0);
  EXPECT_GT(db_->query_int("SELECT sum(unknown_price_calls) FROM llm_rollup WHERE dim = 'model'"), 0);
  std::string got = rollup_table(*db_);
  EXPECT_EQ(got, rollup_recomputed(*db_));
  // Every call lands once per dim and grain.
  EXPECT_EQ(db_->query_int("SELECT sum(calls) FROM llm_rollup"), 6LL * rows);
}

TEST_F(LedgerTest, ABatchUpsertsEachRollupKeyOnce) {
  std::vector<CallRecord> batch;
  for (int i = 0; i < 128; ++i) batch.push_back(call(k_sat + i, "gpt-4o", 0.001));
  auto rows = rollup_rows(batch.data(), batch.size());
  ASSERT_EQ(rows.size(), 6u);  // model, prompt, eval x hour, day
  for (const auto& r : rows) {
    EXPECT_EQ(r.totals.calls, 128);
    EXPECT_EQ(r.totals.cost_nusd, 128 * 1000000);
    EXPECT_EQ(r.totals.tokens_in, 128 * 100);
  }
  EXPECT_EQ(rows[0].dim, "model");
  EXPECT_EQ(rows[0].k1, "openai");
  EXPECT_EQ(rows[0].k2, "gpt-4o");
  EXPECT_EQ(rows[0].grain, k_hour_ms);
  EXPECT_EQ(rows[0].bucket, k_sat / k_hour_ms);
}

TEST_F(LedgerTest, CostsRoundToNanoDollarsAsSqliteDoes) {
  std::mt19937_64 rng(3);
  std::vector<double> costs = {0, 0.5e-9, 1.5e-9, 2.5e-9, 0.49999999999999994e-9, 1e-9 * 0.49999999999999994,
                               123.4567890125, 1e9, 1e10, 1e12, -0.5e-9, -2.5e-9, -1.25};
  for (int i = 0; i < 2000; ++i) costs.push_back(static_cast<double>(rng() % 10000000) / 1e9 + 0.5e-9);
  for (int i = 0; i < 500; ++i) costs.push_back(std::ldexp(static_cast<double>(rng() % 1000000), -20 - static_cast<int>(rng() % 20)));
  auto st = db_->prepare("SELECT CAST(round(?1 * 1e9) AS INTEGER)");
  for (double c : costs) {
    st.reset();
    st.bind(1, c);
    ASSERT_TRUE(st.step());
    EXPECT_EQ(cost_nusd(c), st.get_int(0)) << std::hexfloat << c;
  }
}

TEST_F(LedgerTest, ABadRowInABatchWritesNothing) {
  Ledger l(*db_);
  l.record(call(k_sat, "gpt-4o", 0.5));
  std::string before = rollup_table(*db_);
  std::vector<CallRecord> batch = {call(k_sat + 1, "gpt-4o", 0.25), call(k_sat + 2, "gpt-4o", 0.25)};
  batch[1].status = "teapot";
  EXPECT_THROW(l.record_batch(batch), UsageError);
  EXPECT_EQ(db_->query_int("SELECT count(*) FROM llm_calls"), 1);
  EXPECT_EQ(rollup_table(*db_), before);
  // A caller's transaction that fails after the batch takes rows and rollups back together.
  batch[1].status = "ok";
  EXPECT_THROW(db_->write([&] {
    l.record_batch(batch);
    throw RuntimeError("the caller fails after the ledger wrote");
  }),
               RuntimeError);
  EXPECT_EQ(db_->query_int("SELECT count(*) FROM llm_calls"), 1);
  EXPECT_EQ(rollup_table(*db_), before);
  l.record_batch(batch);
  EXPECT_EQ(rollup_table(*db_), rollup_recomputed(*db_));
  EXPECT_EQ(db_->query_int("SELECT calls FROM llm_rollup WHERE dim = 'model' AND grain = 3600000"), 3);
}

// A writer killed (SIGKILL) between and inside its transactions leaves rows and
// rollups in step: they are written in the same transaction.
TEST_F(LedgerTest, KillNineNeverLeavesRollupsAndRowsOutOfStep) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        store::Db db(dir_ / "state.db");
        Ledger l(db);
        std::mt19937_64 rng(static_cast<std::uint64_t>(attempt) + 100);
        const std::int64_t start = utc("2026-11-19T22:10:00Z");
        for (;;) {
          std::vector<CallRecord> batch(500);
          for (auto& c : batch) c = random_call(rng, start);
          l.record_batch(batch);
        }
      } catch (...) {
      }
      _exit(1);
    }
    // Wait until the child has written something, then kill it mid-stream.
    for (int i = 0; i < 2000 && db_->query_int("SELECT count(*) FROM llm_calls") < 1000 * (attempt + 1); ++i)
      usleep(2000);
    usleep(static_cast<useconds_t>(3000 + attempt * 7000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped before it was killed";
  }
  store::Db after(dir_ / "state.db");
  EXPECT_GT(after.query_int("SELECT count(*) FROM llm_calls"), 0);
  EXPECT_EQ(rollup_table(after), rollup_recomputed(after));
}

// A v7 database: rows already rolled up by the trigger. Migration 8 drops the
// trigger only; rows written after it are rolled up by the ledger, and the table
// matches the rows throughout.
TEST_F(LedgerTest, MigrationFromV7KeepsRollupsExact) {
  // Turn the fresh database back into a v7 one: the shipped trigger, user_version 7.
  std::string v3 = store::migrations().at(2).sql;
  auto from = v3.find("CREATE TRIGGER llm_calls_rollup");
  auto to = v3.find("END;", from);
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  db_->exec(v3.substr(from, to + 4 - from));
  db_->exec("PRAGMA user_version=7");
  std::mt19937_64 rng(11);
  const std::int64_t start = utc("2026-11-19T22:10:00Z");
  {  // as a v7 binary wrote: plain inserts, the trigger keeps the rollups
    auto ins = db_->prepare(
        "INSERT INTO llm_calls (ts_ms, provider, model, prompt, eval_id, input_tokens, output_tokens, cost_usd, "
        "status, cache_hit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    db_->write([&] {
      for (int i = 0; i < 400; ++i) {
        CallRecord c = random_call(rng, start);
        ins.reset();
        ins.bind_all(c.ts_ms, c.provider, c.model, c.prompt, c.eval_id, c.usage.input_tokens, c.usage.output_tokens,
                     c.cost_usd, c.status, static_cast<int>(c.cache_hit));
        ins.run();
      }
    });
  }
  ASSERT_EQ(db_->query_int("SELECT sum(calls) FROM llm_rollup"), 6 * 400);
  db_.reset();
  db_ = std::make_unique<store::Db>(dir_ / "state.db");  // migrates to v8 and on to the latest
  EXPECT_EQ(db_->user_version(), store::latest_schema_version());
  EXPECT_EQ(db_->query_int("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'llm_calls_rollup'"), 0);
  EXPECT_EQ(db_->query_int("SELECT sum(calls) FROM llm_rollup"), 6 * 400) << "the migration changed the rollups";
  Ledger l(*db_);
  std::vector<CallRecord> batch(300);
  for (auto& c : batch) c = random_call(rng, start);
  l.record_batch(batch);
  l.record(random_call(rng, start));
  EXPECT_EQ(db_->query_int("SELECT sum(calls) FROM llm_rollup"), 6 * 701) << "a row counted twice or not at all";
  EXPECT_EQ(rollup_table(*db_), rollup_recomputed(*db_));
}

TEST(ReportFormat, CsvQuotesPerRfc4180) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  Report r;
  r.group_by = GroupBy::model;
  Totals t{2, 1, 0, 10, 20, 5, 0, 1, 1500000000};
  r.rows.push_back({"gpt,\"x\"", {{"provider", "openai"}, {"model", "gpt,\"x\""}}, t});
  r.total = t;
  EXPECT_EQ(to_csv(r),
            "model,provider,calls,errors,cache_hits,tokens_in,tokens_out,tokens_cached,cost_usd,unknown_price_calls\r\n"
            "\"gpt,\"\"x\"\"\",openai,2,1,0,10,20,5,1.5,1\r\n"
            "TOTAL,,2,1,0,10,20,5,1.5,1\r\n");
  Report empty;
  empty.group_by = GroupBy::prompt;
  EXPECT_EQ(to_csv(empty),
            "prompt,calls,errors,cache_hits,tokens_in,tokens_out,tokens_cached,cost_usd,unknown_price_calls\r\n"
            "TOTAL,0,0,0,0,0,0,0,0\r\n");
  Totals unknown{3, 0, 0, 1, 1, 0, 0, 3, 0};
  empty.rows.push_back({"p", {{"prompt", "p"}}, unknown});
  EXPECT_NE(to_csv(empty).find("\r\np,3,0,0,1,1,0,,3\r\n"), std::string::npos) << to_csv(empty);
}

TEST(ReportFormat, PrometheusExposition) {
  EXPECT_EQ(prometheus_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  Report r;
  r.group_by = GroupBy::model;
  r.rows.push_back({"m\"1", {{"provider", "openai"}, {"model", "m\"1"}}, Totals{4, 1, 2, 100, 50, 7, 0, 1, 250000000}});
  std::string text = to_prometheus(r);
  EXPECT_NE(text.find("# TYPE mlopsctl_llm_cost_usd_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP mlopsctl_llm_calls_total "), std::string::npos);
  EXPECT_NE(text.find("mlopsctl_llm_cost_usd_total{provider=\"openai\",model=\"m\\\"1\"} 0.25\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("mlopsctl_llm_tokens_total{provider=\"openai\",model=\"m\\\"1\",direction=\"cached\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("mlopsctl_llm_unknown_price_calls_total{provider=\"openai\",model=\"m\\\"1\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.back(), '\n');
  // Each family is one block: HELP, TYPE, then its samples.
  auto help = text.find("# HELP mlopsctl_llm_tokens_total");
  auto next = text.find("# HELP", help + 1);
  EXPECT_EQ(text.substr(help, next - help).find("mlopsctl_llm_calls_total{"), std::string::npos);
}

// ---- budgets ------------------------------------------------------------------

class BudgetTest : public LedgerTest {
 protected:
  Budget budget(const std::string& name, double limit, const std::string& scope = "workspace") {
    Budget b;
    b.name = name;
    b.limit_usd = limit;
    b.period = Period::month;
    b.scope = parse_scope(scope);
    return b;
  }
};

TEST_F(BudgetTest, NamesAndScopesAreValidated) {
  EXPECT_NO_THROW(check_budget_name("team-monthly_v1.2"));
  EXPECT_THROW(check_budget_name(""), UsageError);
  EXPECT_THROW(check_budget_name("has space"), UsageError);
  EXPECT_THROW(check_budget_name(std::string(65, 'a')), UsageError);
  EXPECT_EQ(parse_scope("model:gpt-4o").kind, "model");
  EXPECT_EQ(parse_scope("provider:openai").text(), "provider:openai");
  EXPECT_THROW(parse_scope("team:x"), UsageError);
  EXPECT_THROW(parse_scope("model:"), UsageError);
  EXPECT_TRUE(scope_matches(parse_scope("model:claude-sonnet-4"), {"anthropic", "claude-sonnet-4-20250514", {}}));
  EXPECT_FALSE(scope_matches(parse_scope("prompt:a"), {"openai", "gpt-4o", std::nullopt}));
  Budgets bs(*db_);
  auto b = budget("x", 1);
  b.soft = 1.5;
  EXPECT_THROW(bs.set(b, k_sat), UsageError);
}

TEST_F(BudgetTest, HardLimitStopsTheCallThatWouldPassIt) {
  Ledger l(*db_);
  Budgets bs(*db_);
  bs.set(budget("monthly", 1.00), k_sat);
  bs.set(budget("minis", 100, "model:gpt-4o-mini"), k_sat);
  l.record(call(utc("2026-10-31T23:00:00Z"), "gpt-4o", 5.00));  // last month: does not count
  l.record(call(k_sat - 1000, "gpt-4o", 0.90));
  l.record(call(k_sat - 500, "mystery", std::nullopt));
  EXPECT_NO_THROW(bs.check_before({"openai", "gpt-4o", std::nullopt}, 0.05, k_sat));
  try {
    bs.check_before({"openai", "gpt-4o", std::nullopt}, 0.20, k_sat);
    FAIL() << "no CheckFailed";
  } catch (const CheckFailed& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("budget 'monthly'"), std::string::npos) << m;
    EXPECT_NE(m.find("$0.90 spent of $1.00 this month"), std::string::npos) << m;
    EXPECT_NE(m.find("resets at 2026-12-01T00:00:00.000Z"), std::string::npos) << m;
    EXPECT_EQ(e.code(), ExitCode::check_failed);
  }
  auto s = bs.status(*bs.get("monthly"), k_sat);
  EXPECT_DOUBLE_EQ(s.spent_usd(), 0.90);
  EXPECT_EQ(s.spent.unknown_price_calls, 1);
  EXPECT_NEAR(s.percent_used(), 90, 1e-9);
  // Next month starts from zero.
  EXPECT_NO_THROW(bs.check_before({"openai", "gpt-4o", std::nullopt}, 0.20, utc("2026-12-01")));
  EXPECT_TRUE(bs.remove("monthly"));
  EXPECT_FALSE(bs.remove("monthly"));
  EXPECT_NO_THROW(bs.check_before({"openai", "gpt-4o", std::nullopt}, 0.20, k_sat));
}

TEST_F(BudgetTest, SoftAlertFiresOncePerPeriodAcrossConnections) {
  Ledger l(*db_);
  Budgets bs(*db_);
  auto b = budget("team", 10);
  b.soft = 0.5;
  b.notify_url = "https://hooks.example/T1";
  bs.set(b, k_sat);
  CallScope scope{"openai", "gpt-4o", std::nullopt};
  l.record(call(k_sat, "gpt-4o", 4.00));
  EXPECT_TRUE(bs.alerts_after(scope, k_sat).empty());  // 40%: below the threshold
  l.record(call(k_sat + 1, "gpt-4o", 2.00));
  store::Db other(dir_ / "state.db");
  auto first = bs.alerts_after(scope, k_sat + 2);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].budget, "team");
  EXPECT_EQ(first[0].notify_url, "https://hooks.example/T1");
  EXPECT_DOUBLE_EQ(first[0].spent, 6.00);
  EXPECT_NE(first[0].text.find("$6.00 of $10.00"), std::string::npos) << first[0].text;
  EXPECT_TRUE(Budgets(other).alerts_after(scope, k_sat + 3).empty());  // the other process: already raised
  EXPECT_TRUE(bs.alerts_after(scope, k_sat + 4).empty());
  auto payload = nlohmann::json::parse(slack_payload(first[0]));
  EXPECT_EQ(payload["text"], first[0].text);
  // A new period alerts again once it crosses.
  l.record(call(utc("2026-12-02"), "gpt-4o", 7.00));
  EXPECT_EQ(Budgets(other).alerts_after(scope, utc("2026-12-02T01:00")).size(), 1u);
}

TEST_F(BudgetTest, SoftAlertOnceUnderConcurrentProcesses) {
  Ledger l(*db_);
  Budgets bs(*db_);
  bs.set(budget("team", 1), k_sat);
  l.record(call(k_sat, "gpt-4o", 0.95));
  auto path = dir_ / "state.db";
  testing::run_in_processes(6, [&](int i) {
    store::Db db(path);
    auto alerts = Budgets(db).alerts_after({"openai", "gpt-4o", std::nullopt}, k_sat + 1);
    if (!alerts.empty()) util::atomic_write(dir_ / ("alert-" + std::to_string(i)), "1");
  });
  int raised = 0;
  for (int i = 0; i < 6; ++i) raised += std::filesystem::exists(dir_ / ("alert-" + std::to_string(i)));
  EXPECT_EQ(raised, 1);
}

TEST(Money, FormatUsd) {
  EXPECT_EQ(format_usd(12.345), "$12.35");
  EXPECT_EQ(format_usd(0), "$0.00");
  EXPECT_EQ(format_usd(0.0042), "$0.0042");
}

}  // namespace
}  // namespace mlops::cost
