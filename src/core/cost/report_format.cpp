#include "cost/report_format.hpp"

#include <fmt/format.h>

#include "util/time.hpp"

namespace mlops::cost {

namespace {

nlohmann::json totals_json(const Totals& t) {
  auto cost = t.cost_usd();
  return {{"calls", t.calls},
          {"errors", t.errors},
          {"cache_hits", t.cache_hits},
          {"tokens_in", t.tokens_in},
          {"tokens_out", t.tokens_out},
          {"tokens_cached", t.tokens_cache_read},
          {"tokens_cache_write", t.tokens_cache_write},
          {"cost_usd", cost ? nlohmann::json(*cost) : nlohmann::json(nullptr)},
          {"unknown_price_calls", t.unknown_price_calls}};
}

std::string cost_text(const Totals& t) {
  auto c = t.cost_usd();
  return c ? fmt::format("{}", *c) : std::string();
}

}  // namespace

nlohmann::json to_json(const Report& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json j = {{"key", row.key}};
    for (const auto& [label, value] : row.labels) j[label] = value;
    j.update(totals_json(row.totals));
    rows.push_back(std::move(j));
  }
  return {{"group_by", group_by_name(r.group_by)},
          {"since", util::format_rfc3339(r.since_ms * 1000000)},
          {"until", util::format_rfc3339(r.until_ms * 1000000)},
          {"rows", rows},
          {"total", totals_json(r.total)}};
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string to_csv(const Report& r) {
  bool by_model = r.group_by == GroupBy::model;
  std::string out = std::string(group_by_name(r.group_by)) + (by_model ? ",provider" : "") +
                    ",calls,errors,cache_hits,tokens_in,tokens_out,tokens_cached,cost_usd,unknown_price_calls\r\n";
  auto line = [&](const std::string& key, const std::string& provider, const Totals& t) {
    out += csv_field(key) + (by_model ? "," + csv_field(provider) : "") +
           fmt::format(",{},{},{},{},{},{},{},{}\r\n", t.calls, t.errors, t.cache_hits, t.tokens_in, t.tokens_out,
                       t.tokens_cache_read, cost_text(t), t.unknown_price_calls);
  };
  for (const auto& row : r.rows) line(row.key, by_model ? row.labels.front().second : "", row.totals);
  line("TOTAL", "", r.total);
  return out;
}

std::string prometheus_label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string to_prometheus(const Report& r) {
  std::string out;
  auto labels = [](const ReportRow& row, const char* extra_name = nullptr, const char* extra_value = nullptr) {
    std::string s;
    for (const auto& [name, value] : row.labels)
      s += (s.empty() ? "" : ",") + name + "=\"" + prometheus_label_value(value) + "\"";
    if (extra_name) s += (s.empty() ? "" : ",") + std::string(extra_name) + "=\"" + extra_value + "\"";
    return "{" + s + "}";
  };
  std::string window = "calls from " + util::format_rfc3339(r.since_ms * 1000000) + " to " +
                       util::format_rfc3339(r.until_ms * 1000000) + " by " + group_by_name(r.group_by);
  auto family = [&](const char* name, const std::string& help) {
    out += fmt::format("# HELP {} {} ({}).\n# TYPE {} counter\n", name, help, window, name);
  };
  auto counter = [&](const char* name, const std::string& help, auto value) {
    family(name, help);
    for (const auto& row : r.rows) out += name + labels(row) + fmt::format(" {}\n", value(row.totals));
  };
  counter("mlopsctl_llm_calls_total", "LLM calls recorded in the cost ledger", [](const Totals& t) { return t.calls; });
  counter("mlopsctl_llm_errors_total", "LLM calls that ended in an error", [](const Totals& t) { return t.errors; });
  counter("mlopsctl_llm_cache_hits_total", "LLM calls answered from the mlopsctl response cache",
          [](const Totals& t) { return t.cache_hits; });
  family("mlopsctl_llm_tokens_total",
         "Tokens of LLM calls by direction, cached being input read from the prompt cache");
  for (const auto& row : r.rows)
    for (auto [direction, n] : {std::pair{"input", row.totals.tokens_in}, std::pair{"output", row.totals.tokens_out},
                                std::pair{"cached", row.totals.tokens_cache_read}})
      out += "mlopsctl_llm_tokens_total" + labels(row, "direction", direction) + fmt::format(" {}\n", n);
  counter("mlopsctl_llm_cost_usd_total", "Cost in US dollars of LLM calls at a known price",
          [](const Totals& t) { return static_cast<double>(t.cost_nusd) / 1e9; });
  counter("mlopsctl_llm_unknown_price_calls_total", "LLM calls whose cost is unknown (no price for the model)",
          [](const Totals& t) { return t.unknown_price_calls; });
  return out;
}

}  // namespace mlops::cost
