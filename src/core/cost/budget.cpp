#include "cost/budget.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/time.hpp"

namespace mlops::cost {

Scope parse_scope(std::string_view text) {
  if (text == "workspace") return {};
  auto colon = text.find(':');
  std::string kind(text.substr(0, colon));
  if (colon != std::string_view::npos && colon + 1 < text.size() &&
      (kind == "model" || kind == "prompt" || kind == "provider"))
    return {kind, std::string(text.substr(colon + 1))};
  throw UsageError("invalid budget scope '" + std::string(text) + "'",
                   "use workspace, model:MODEL, prompt:NAME or provider:PROVIDER");
}

void check_budget_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= k_max_budget_name;
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    throw UsageError("invalid budget name '" + std::string(name) + "'",
                     "use 1 to 64 letters, digits, '-', '_' or '.', e.g. team-monthly");
}

bool scope_matches(const Scope& scope, const CallScope& call) {
  if (scope.kind == "workspace") return true;
  if (scope.kind == "provider") return call.provider == scope.value;
  if (scope.kind == "prompt") return call.prompt && *call.prompt == scope.value;
  if (scope.kind == "model") return call.model == scope.value || strip_date_suffix(call.model) == scope.value;
  return false;
}

std::string format_usd(double usd) {
  double a = std::fabs(usd);
  if (a == 0 || a >= 0.01) return fmt::format("${:.2f}", usd);
  std::string s = fmt::format("${:.6f}", usd);
  while (s.back() == '0') s.pop_back();
  return s;
}

namespace {

const char* k_columns =
    "name, limit_usd, period, scope_kind, scope_value, soft, coalesce(notify_url, ''), created_ms, updated_ms";

Budget read_budget(store::Statement& st) {
  Budget b;
  b.name = st.get_text(0);
  b.limit_usd = st.get_double(1);
  b.period = parse_period(st.get_text(2)).value_or(Period::month);
  b.scope = {st.get_text(3), st.get_text(4)};
  b.soft = st.is_null(5) ? k_default_soft : st.get_double(5);
  b.notify_url = st.get_text(6);
  b.created_ms = st.get_int(7);
  b.updated_ms = st.get_int(8);
  return b;
}

std::string period_phrase(Period p) {
  switch (p) {
    case Period::day:
      return "today";
    case Period::week:
      return "this week";
    case Period::month:
      return "this month";
  }
  return "";
}

}  // namespace

Budgets::Budgets(store::Db& db) : db_(db) {}

void Budgets::set(Budget b, std::int64_t now_ms) {
  check_budget_name(b.name);
  if (!(b.limit_usd > 0) || !std::isfinite(b.limit_usd))
    throw UsageError("budget limit must be a positive amount in USD, not " + fmt::format("{}", b.limit_usd));
  if (!(b.soft > 0 && b.soft <= 1))
    throw UsageError("--soft must be a fraction of the limit in (0, 1], not " + fmt::format("{}", b.soft),
                     "e.g. --soft 0.8 alerts at 80% of the limit");
  db_.write([&] {
    db_.prepare(
           "INSERT INTO budgets (name, limit_usd, period, scope_kind, scope_value, soft, notify_url, created_ms, "
           "updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, nullif(?7, ''), ?8, ?8) ON CONFLICT (name) DO UPDATE SET "
           "limit_usd = excluded.limit_usd, period = excluded.period, scope_kind = excluded.scope_kind, "
           "scope_value = excluded.scope_value, soft = excluded.soft, notify_url = excluded.notify_url, "
           "updated_ms = excluded.updated_ms")
        .bind_all(b.name, b.limit_usd, period_name(b.period), b.scope.kind, b.scope.value, b.soft, b.notify_url, now_ms)
        .run();
  });
}

bool Budgets::remove(const std::string& name) {
  bool existed = false;
  db_.write([&] {
    existed = get(name).has_value();
    db_.prepare("DELETE FROM budgets WHERE name = ?1").bind_all(name).run();
    db_.prepare("DELETE FROM budget_alerts WHERE budget = ?1").bind_all(name).run();
  });
  return existed;
}

std::vector<Budget> Budgets::list() const {
  std::vector<Budget> out;
  auto st = db_.prepare(std::string("SELECT ") + k_columns + " FROM budgets ORDER BY name");
  while (st.step()) out.push_back(read_budget(st));
  return out;
}

std::optional<Budget> Budgets::get(const std::string& name) const {
  auto st = db_.prepare(std::string("SELECT ") + k_columns + " FROM budgets WHERE name = ?1");
  st.bind_all(name);
  if (!st.step()) return std::nullopt;
  return read_budget(st);
}

BudgetStatus Budgets::status(const Budget& b, std::int64_t now_ms) const {
  BudgetStatus s;
  s.budget = b;
  s.window = period_window(b.period, now_ms);
  GroupBy g = b.scope.kind == "workspace" || b.scope.kind == "provider" ? GroupBy::provider
              : b.scope.kind == "prompt"                                ? GroupBy::prompt
                                                                        : GroupBy::model;
  auto report = Ledger(db_).report(g, s.window.start_ms, s.window.end_ms);
  for (const auto& row : report.rows) {
    CallScope call;
    for (const auto& [label, value] : row.labels) {
      if (label == "provider") call.provider = value;
      if (label == "model") call.model = value;
      if (label == "prompt") call.prompt = value;
    }
    if (scope_matches(b.scope, call)) s.spent.add(row.totals);
  }
  return s;
}

void Budgets::check_before(const CallScope& call, double estimated_cost_usd, std::int64_t now_ms) const {
  for (const auto& b : list()) {
    if (!scope_matches(b.scope, call)) continue;
    auto s = status(b, now_ms);
    if (s.spent_usd() + estimated_cost_usd <= b.limit_usd) continue;
    throw CheckFailed(
        "budget '" + b.name + "' (" + b.scope.text() + ") would be exceeded: " + format_usd(s.spent_usd()) +
            " spent of " + format_usd(b.limit_usd) + " " + period_phrase(b.period) +
            ", and this call is estimated at " + format_usd(estimated_cost_usd) + "; the " + period_name(b.period) +
            " resets at " + util::format_rfc3339(s.window.end_ms * 1000000),
        "raise the limit with 'mlopsctl cost budget set " + b.name + " --limit USD --period " + period_name(b.period) +
            "', remove it with 'mlopsctl cost budget rm " + b.name + "', or wait for the reset");
  }
}

std::vector<Alert> Budgets::alerts_after(const CallScope& call, std::int64_t now_ms) {
  std::vector<Alert> out;
  for (const auto& b : list()) {
    if (!scope_matches(b.scope, call)) continue;
    auto s = status(b, now_ms);
    if (s.spent_usd() < b.soft * b.limit_usd) continue;
    bool first = false;
    db_.write([&] {
      auto st = db_.prepare(
          "INSERT INTO budget_alerts (budget, period_start_ms, raised_ms, spent_usd) VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT DO NOTHING RETURNING budget");
      st.bind_all(b.name, s.window.start_ms, now_ms, s.spent_usd());
      while (st.step()) first = true;
    });
    if (!first) continue;
    Alert a;
    a.budget = b.name;
    a.notify_url = b.notify_url;
    a.spent = s.spent_usd();
    a.limit = b.limit_usd;
    a.text = fmt::format(
        "mlopsctl budget '{}' ({}, per {}) has used {:.0f}% of its limit: {} of {} spent {}{}, past the {:.0f}% "
        "alert threshold. The {} resets at {}.",
        b.name, b.scope.text(), period_name(b.period), s.percent_used(), format_usd(a.spent), format_usd(a.limit),
        period_phrase(b.period),
        s.spent.unknown_price_calls > 0
            ? fmt::format(" (plus {} calls at an unknown price)", s.spent.unknown_price_calls)
            : std::string(),
        b.soft * 100, period_name(b.period), util::format_rfc3339(s.window.end_ms * 1000000));
    out.push_back(std::move(a));
  }
  return out;
}

std::string slack_payload(const Alert& alert) {
  return nlohmann::json{{"text", alert.text}}.dump();
}

}  // namespace mlops::cost
