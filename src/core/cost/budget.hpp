#pragma once
// Spending limits per calendar period (UTC), checked before an LLM call and
// alerted on after one. Budgets live in state.db; spend is the known cost in the
// ledger (calls at an unknown price cannot count and are reported beside it).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cost/ledger.hpp"
#include "cost/period.hpp"
#include "store/db.hpp"

namespace mlops::cost {

// What a budget covers: the whole workspace, or one model, prompt or provider.
struct Scope {
  std::string kind = "workspace";  // workspace | model | prompt | provider
  std::string value;
  std::string text() const { return kind == "workspace" ? kind : kind + ":" + value; }
};
// Parses "workspace", "model:M", "prompt:P", "provider:P"; throws UsageError.
Scope parse_scope(std::string_view text);

struct Budget {
  std::string name;
  double limit_usd = 0;
  Period period = Period::month;
  Scope scope;
  double soft = 0.8;  // alert once spend reaches soft * limit_usd
  std::string notify_url;
  std::int64_t created_ms = 0, updated_ms = 0;
};
inline constexpr double k_default_soft = 0.8;
inline constexpr std::size_t k_max_budget_name = 64;
// Letters, digits and - _ . up to 64 characters; throws UsageError.
void check_budget_name(std::string_view name);

struct CallScope {
  std::string provider, model;
  std::optional<std::string> prompt;
};
// A model scope matches the model id and its dated snapshots (model:claude-sonnet-4
// covers claude-sonnet-4-20250514).
bool scope_matches(const Scope& scope, const CallScope& call);

struct BudgetStatus {
  Budget budget;
  Window window;  // the current period; window.end_ms is when it resets
  Totals spent;   // calls in scope during the window
  double spent_usd() const { return spent.cost_usd().value_or(0); }
  double percent_used() const { return budget.limit_usd > 0 ? 100.0 * spent_usd() / budget.limit_usd : 0; }
};

struct Alert {
  std::string budget, notify_url, text;  // text: a human sentence for Slack {"text": ...}
  double spent = 0, limit = 0;
};

class Budgets {
 public:
  explicit Budgets(store::Db& db);
  // Creates or replaces the budget `b.name` (created_ms is kept on replace).
  void set(Budget b, std::int64_t now_ms);
  // False when no budget has that name.
  bool remove(const std::string& name);
  std::vector<Budget> list() const;
  std::optional<Budget> get(const std::string& name) const;
  BudgetStatus status(const Budget& b, std::int64_t now_ms) const;

  // Before a call: throws CheckFailed (exit 1) naming the budget, its spend, limit
  // and when the period resets, when spend-in-period + estimated_cost_usd would
  // exceed the hard limit of any budget whose scope matches.
  void check_before(const CallScope& call, double estimated_cost_usd, std::int64_t now_ms) const;
  // After a call is recorded: soft thresholds newly crossed in this period, each
  // returned once per budget and period (remembered in the database, so
  // concurrent processes alert once).
  std::vector<Alert> alerts_after(const CallScope& call, std::int64_t now_ms);

 private:
  store::Db& db_;
};

// Builds the Slack-compatible webhook body {"text": ...} for an alert.
std::string slack_payload(const Alert& alert);

// "$12.34", or more decimals for amounts under a cent ("$0.0042").
std::string format_usd(double usd);

}  // namespace mlops::cost
