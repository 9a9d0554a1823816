// cost report / cost pricing list|set / cost budget set|list|rm: what LLM calls
// cost, the prices behind it and the limits on it.
#include <fmt/format.h>

#include <cctype>
#include <iostream>

#include "audit/audit.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cost/budget.hpp"
#include "cost/ledger.hpp"
#include "cost/pricing.hpp"
#include "cost/report_format.hpp"
#include "util/error.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

std::int64_t now_ms() {
  return util::now_ns() / 1000000;
}

std::string rfc3339_ms(std::int64_t ms) {
  return util::format_rfc3339(ms * 1000000);
}

// Workspace overrides first, then the user's; the shipped table under both.
std::vector<std::filesystem::path> pricing_dirs(Context& ctx) {
  std::vector<std::filesystem::path> dirs;
  if (workspace::discover(ctx.cwd()) || ctx.env("MLOPS_DIR")) dirs.push_back(ctx.ws().paths().overrides());
  dirs.push_back(config::user_config_path(ctx.env).parent_path() / "templates");
  return dirs;
}

void audit(Context& ctx, const std::string& action, const std::string& target, const nlohmann::json& details) {
  auto& ws = ctx.ws();
  audit::AuditLog(ws.db()).append(ws.author().name, action, target, details, ctx.tracer().trace_id());
}

// ---- report -------------------------------------------------------------------

std::string cost_cell(const cost::Totals& t) {
  auto c = t.cost_usd();
  return c ? cost::format_usd(*c) : "unknown";
}

void print_report(std::ostream& os, const cost::Report& r, bool color) {
  bool by_model = r.group_by == cost::GroupBy::model;
  std::string key_header = cost::group_by_name(r.group_by);
  for (auto& c : key_header) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> headers = {by_model ? "PROVIDER" : key_header};
  if (by_model) headers.push_back("MODEL");
  for (const char* h :
       {"CALLS", "ERRORS", "CACHE_HITS", "TOKENS_IN", "TOKENS_OUT", "CACHED", "COST_USD", "UNKNOWN_PRICE"})
    headers.emplace_back(h);
  Table table(headers);
  auto add = [&](const std::string& first, const std::string& model, const cost::Totals& t) {
    std::vector<std::string> cells = {first};
    if (by_model) cells.push_back(model);
    for (auto n : {t.calls, t.errors, t.cache_hits, t.tokens_in, t.tokens_out, t.tokens_cache_read})
      cells.push_back(std::to_string(n));
    cells.push_back(cost_cell(t));
    cells.push_back(std::to_string(t.unknown_price_calls));
    table.add(cells);
  };
  for (const auto& row : r.rows)
    add(by_model ? row.labels.front().second : (row.key.empty() ? "(none)" : row.key), row.key, row.totals);
  add("TOTAL", "", r.total);
  table.print(os, color);
  const auto& t = r.total;
  std::string line = "cost: " + cost::format_usd(static_cast<double>(t.cost_nusd) / 1e9);
  if (t.unknown_price_calls > 0)
    line += fmt::format(" + {} call{} at unknown price", t.unknown_price_calls, t.unknown_price_calls == 1 ? "" : "s");
  os << "\n"
     << bold(line, color)
     << dim(fmt::format("  ({} calls from {} to {})", t.calls, rfc3339_ms(r.since_ms), rfc3339_ms(r.until_ms)), color)
     << "\n";
}

struct ReportOptions {
  std::string since = "30d", until, group_by = "model", format;
};

int run_report(Context& ctx, const ReportOptions& o) {
  std::int64_t now = now_ms();
  std::int64_t since = cost::parse_instant_ms(o.since, now, "--since");
  std::int64_t until = o.until.empty() ? now + 1 : cost::parse_instant_ms(o.until, now, "--until");
  if (until <= since)
    throw UsageError("--until (" + rfc3339_ms(until) + ") is not after --since (" + rfc3339_ms(since) + ")",
                     "give a --since earlier than --until");
  auto group = cost::parse_group_by(o.group_by).value();  // CLI11 checked the choice
  auto report = cost::Ledger(ctx.ws().db()).report(group, since, until);
  if (o.format == "csv") {
    std::cout << cost::to_csv(report);
  } else if (o.format == "prometheus") {
    std::cout << cost::to_prometheus(report);
  } else {
    if (o.format == "json") ctx.opts.output = "json";
    if (o.format == "table") ctx.opts.output = "table";
    emit(ctx, cost::to_json(report), [&](std::ostream& os, bool color) { print_report(os, report, color); });
  }
  return 0;
}

// ---- pricing ------------------------------------------------------------------

nlohmann::json price_json(const cost::Price& p) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"id", p.id()},
          {"provider", p.provider},
          {"model", p.model},
          {"input", p.input},
          {"output", p.output},
          {"cache_read", opt(p.cache_read)},
          {"cache_write", opt(p.cache_write)},
          {"aliases", p.aliases},
          {"source", p.source},
          {"as_of", p.as_of},
          {"origin", p.origin}};
}

int run_pricing_list(Context& ctx, const std::string& provider) {
  auto table = cost::PriceTable::load(pricing_dirs(ctx));
  std::vector<const cost::Price*> shown;
  for (const auto* p : table.entries())
    if (provider.empty() || p->provider == provider) shown.push_back(p);
  nlohmann::json j = nlohmann::json::array();
  for (const auto* p : shown) j.push_back(price_json(*p));
  emit(ctx, j, [&](std::ostream& os, bool color) {
    Table t({"ID", "INPUT", "OUTPUT", "CACHE_READ", "CACHE_WRITE", "AS_OF", "ORIGIN"});
    auto num = [](const std::optional<double>& v) { return v ? fmt::format("{:.4g}", *v) : std::string("-"); };
    for (const auto* p : shown)
      t.add({p->id(), num(p->input), num(p->output), num(p->cache_read), num(p->cache_write), p->as_of, p->origin});
    t.print(os, color);
    os << dim("USD per 1M tokens", color) << "\n";
  });
  return 0;
}

struct PriceOptions {
  std::string id, source;
  double input = 0, output = 0;
  std::optional<double> cache_read, cache_write;
  std::vector<std::string> aliases;
};

int run_pricing_set(Context& ctx, const PriceOptions& o) {
  auto colon = o.id.find(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < o.id.size();
  for (char c : o.id) ok = ok && !std::isspace(static_cast<unsigned char>(c)) && c != '"' && c != '\\';
  if (!ok)
    throw UsageError("invalid model id '" + o.id + "'",
                     "write PROVIDER:MODEL, e.g. openai:gpt-4o, or PROVIDER:* for every model of a provider");
  cost::Price p;
  p.provider = o.id.substr(0, colon);
  p.model = o.id.substr(colon + 1);
  p.input = o.input;
  p.output = o.output;
  p.cache_read = o.cache_read;
  p.cache_write = o.cache_write;
  p.aliases = o.aliases;
  p.source = o.source.empty() ? "manual" : o.source;
  p.as_of = util::format_rfc3339(util::now_ns()).substr(0, 10);
  auto& ws = ctx.ws();
  auto file = ws.paths().overrides() / cost::k_pricing_file;
  cost::set_price_in_file(file, ws.paths().state_dir() / "pricing.lock", p);
  auto details = price_json(p);
  details.erase("origin");
  details["file"] = "templates/" + std::string(cost::k_pricing_file);
  audit(ctx, "cost.pricing.set", p.id(), details);
  return 0;
}

// ---- budgets ------------------------------------------------------------------

nlohmann::json status_json(const cost::BudgetStatus& s) {
  const auto& b = s.budget;
  return {{"name", b.name},
          {"limit_usd", b.limit_usd},
          {"period", cost::period_name(b.period)},
          {"scope", b.scope.text()},
          {"soft", b.soft},
          {"notify_url", b.notify_url.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.notify_url)},
          {"spent_usd", s.spent_usd()},
          {"unknown_price_calls", s.spent.unknown_price_calls},
          {"percent_used", s.percent_used()},
          {"period_start", rfc3339_ms(s.window.start_ms)},
          {"resets_at", rfc3339_ms(s.window.end_ms)}};
}

struct BudgetOptions {
  std::string name, period, scope = "workspace", notify;
  double limit = 0, soft = cost::k_default_soft;
};

int run_budget_set(Context& ctx, const BudgetOptions& o) {
  cost::check_budget_name(o.name);
  cost::Budget b;
  b.name = o.name;
  b.limit_usd = o.limit;
  b.period = cost::parse_period(o.period).value();  // CLI11 checked the choice
  b.scope = cost::parse_scope(o.scope);
  b.soft = o.soft;
  b.notify_url = o.notify;
  if (!b.notify_url.empty() && b.notify_url.rfind("https://", 0) != 0 && b.notify_url.rfind("http://", 0) != 0)
    throw UsageError("invalid --notify URL '" + b.notify_url + "'",
                     "give the webhook's http:// or https:// URL, e.g. a Slack incoming webhook");
  auto& db = ctx.ws().db();
  db.write([&] {
    cost::Budgets(db).set(b, now_ms());
    audit(ctx, "cost.budget.set", b.name,
          {{"limit_usd", b.limit_usd},
           {"period", cost::period_name(b.period)},
           {"scope", b.scope.text()},
           {"soft", b.soft},
           {"notify_url", b.notify_url}});
  });
  return 0;
}

int run_budget_list(Context& ctx) {
  cost::Budgets budgets(ctx.ws().db());
  std::vector<cost::BudgetStatus> statuses;
  std::int64_t now = now_ms();
  for (const auto& b : budgets.list()) statuses.push_back(budgets.status(b, now));
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : statuses) j.push_back(status_json(s));
  emit(ctx, j, [&](std::ostream& os, bool color) {
    Table t({"NAME", "SCOPE", "PERIOD", "LIMIT", "SPENT", "USED", "SOFT", "RESETS", "NOTIFY"});
    for (const auto& s : statuses) {
      const auto& b = s.budget;
      std::string spent = cost::format_usd(s.spent_usd());
      if (s.spent.unknown_price_calls > 0) spent += fmt::format(" + {} unknown", s.spent.unknown_price_calls);
      std::string used = fmt::format("{:.1f}%", s.percent_used());
      if (s.spent_usd() >= b.limit_usd)
        used = red(used, color);
      else if (s.spent_usd() >= b.soft * b.limit_usd)
        used = yellow(used, color);
      t.add({b.name, b.scope.text(), cost::period_name(b.period), cost::format_usd(b.limit_usd), spent, used,
             fmt::format("{:.0f}%", b.soft * 100), rfc3339_ms(s.window.end_ms), b.notify_url.empty() ? "-" : "yes"});
    }
    t.print(os, color);
  });
  return 0;
}

int run_budget_rm(Context& ctx, const std::string& name) {
  cost::check_budget_name(name);
  auto& db = ctx.ws().db();
  bool removed = false;
  db.write([&] {
    removed = cost::Budgets(db).remove(name);
    if (removed) audit(ctx, "cost.budget.rm", name, nlohmann::json::object());
  });
  if (!removed) throw NotFoundError("no budget named '" + name + "'", "see 'mlopsctl cost budget list'");
  return 0;
}

}  // namespace

void add_cost_commands(CLI::App& app, Context& ctx) {
  auto* cost_cmd = app.add_subcommand("cost", "What LLM calls cost: reports, prices and budgets");
  cost_cmd->require_subcommand(1);

  auto ro = std::make_shared<ReportOptions>();
  auto* report = cost_cmd->add_subcommand("report", "Sum the cost ledger by model, provider, prompt, day or eval");
  report->add_option("--since", ro->since, "Start: a duration back from now (30d, 12h, 90m, 2w) or a UTC date/time")
      ->default_str("30d");
  report->add_option("--until", ro->until, "End (exclusive), in the same forms; default now");
  report->add_option("--group-by", ro->group_by, "Group rows by model, provider, prompt, day or eval")
      ->check(CLI::IsMember({"model", "provider", "prompt", "day", "eval"}))
      ->default_str("model");
  report->add_option("--format", ro->format, "table, json, csv or prometheus (default: the -o format)")
      ->check(CLI::IsMember({"table", "json", "csv", "prometheus"}));
  on_run(report, ctx, [&ctx, ro] { return run_report(ctx, *ro); });

  auto* pricing = cost_cmd->add_subcommand("pricing", "Per-token prices: the shipped table and workspace overrides");
  pricing->require_subcommand(1);
  auto provider = std::make_shared<std::string>();
  auto* plist = pricing->add_subcommand("list", "List prices (USD per 1M tokens) and where each comes from");
  plist->add_option("--provider", *provider, "Only this provider's models, e.g. openai");
  on_run(plist, ctx, [&ctx, provider] { return run_pricing_list(ctx, *provider); });

  auto po = std::make_shared<PriceOptions>();
  auto* pset = pricing->add_subcommand("set", "Price a model in the workspace's templates/pricing.yaml");
  pset->add_option("id", po->id, "PROVIDER:MODEL, e.g. openai:gpt-4o or 'ollama:*'")->required();
  pset->add_option("--input", po->input, "USD per 1M uncached input tokens")->required()->check(CLI::NonNegativeNumber);
  pset->add_option("--output", po->output, "USD per 1M output tokens")->required()->check(CLI::NonNegativeNumber);
  pset->add_option("--cache-read", po->cache_read, "USD per 1M input tokens read from the prompt cache")
      ->check(CLI::NonNegativeNumber);
  pset->add_option("--cache-write", po->cache_write, "USD per 1M input tokens written to the prompt cache")
      ->check(CLI::NonNegativeNumber);
  pset->add_option("--alias", po->aliases, "Another model id billed the same (repeatable)");
  pset->add_option("--source", po->source, "Where the price comes from, e.g. the provider's pricing URL");
  on_run(pset, ctx, [&ctx, po] { return run_pricing_set(ctx, *po); });

  auto* budget = cost_cmd->add_subcommand("budget", "Spending limits per day, week or month (UTC)");
  budget->require_subcommand(1);
  auto bo = std::make_shared<BudgetOptions>();
  auto* bset = budget->add_subcommand("set", "Create or replace a budget");
  bset->add_option("name", bo->name, "Budget name: letters, digits, - _ . (at most 64)")->required();
  bset->add_option("--limit", bo->limit, "Hard limit in USD per period; calls that would pass it fail")
      ->required()
      ->check(CLI::PositiveNumber);
  bset->add_option("--period", bo->period, "day (from 00:00 UTC), week (from Monday) or month (from the 1st)")
      ->required()
      ->check(CLI::IsMember({"day", "week", "month"}));
  bset->add_option("--scope", bo->scope, "workspace, model:MODEL, prompt:NAME or provider:PROVIDER")
      ->default_str("workspace");
  bset->add_option("--soft", bo->soft, "Alert once spend reaches this fraction of the limit")->default_str("0.8");
  bset->add_option("--notify", bo->notify, "Webhook URL (Slack-compatible) that receives the alert");
  on_run(bset, ctx, [&ctx, bo] { return run_budget_set(ctx, *bo); });

  auto* blist = budget->add_subcommand("list", "List budgets with spend, % used and when each period resets");
  on_run(blist, ctx, [&ctx] { return run_budget_list(ctx); });

  auto rm_name = std::make_shared<std::string>();
  auto* brm = budget->add_subcommand("rm", "Remove a budget");
  brm->add_option("name", *rm_name, "Budget name")->required();
  on_run(brm, ctx, [&ctx, rm_name] { return run_budget_rm(ctx, *rm_name); });
}

}  // namespace mlops::cli
