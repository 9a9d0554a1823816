#pragma once
// Per-token prices of LLM models. The table ships in templates/pricing.yaml
// (compiled into the binary; its header documents the format) and a workspace can
// override or extend it with <workspace>/templates/pricing.yaml: an entry there
// replaces the shipped entry with the same PROVIDER:MODEL, every other shipped
// entry stays. A model the table does not price has an unknown cost (nullopt),
// never 0.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::cost {

inline constexpr const char* k_pricing_file = "pricing.yaml";

// Token counts of one call, as billed. input_tokens are the uncached input
// tokens only: for OpenAI, prompt_tokens minus prompt_tokens_details.cached_tokens;
// for Anthropic, usage.input_tokens as reported. cache_read_tokens are input
// tokens served from the provider's prompt cache, cache_write_tokens input
// tokens written to it (Anthropic cache_creation_input_tokens).
struct Usage {
  std::int64_t input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_write_tokens = 0;
};

// USD per 1M tokens. A missing cache price means the source does not publish
// one: a call that used that kind of token has an unknown cost.
struct Price {
  std::string provider, model;
  double input = 0, output = 0;
  std::optional<double> cache_read, cache_write;
  std::string source, as_of;
  std::string origin;  // "embedded:pricing.yaml:12" or "/ws/templates/pricing.yaml:3"
  std::vector<std::string> aliases;
  std::string id() const { return provider + ":" + model; }
};

// The cost of `usage` at `price`; nullopt when a cache price it needs is missing.
std::optional<double> cost_at(const Price& price, const Usage& usage);

// "gpt-4o-2024-08-06" -> "gpt-4o", "claude-sonnet-4-20250514" -> "claude-sonnet-4";
// the model unchanged when it carries no trailing -YYYY-MM-DD or -YYYYMMDD date.
std::string strip_date_suffix(std::string_view model);

class PriceTable {
 public:
  // The shipped table, overlaid by <dir>/pricing.yaml of each directory that
  // has one; earlier directories win (pass the workspace templates/ dir first).
  static PriceTable load(const std::vector<std::filesystem::path>& override_dirs);
  // Parses one pricing file over this table. `origin` names it in errors and in
  // Price::origin. Throws ConfigError naming the file, line and key at fault.
  void overlay(std::string_view yaml_text, const std::string& origin);

  // Exact PROVIDER:MODEL, then an alias, then the model without a trailing
  // date (a dated snapshot), then PROVIDER:* (a workspace may price a whole
  // provider, e.g. ollama:* at 0). nullptr = unknown price.
  const Price* find(std::string_view provider, std::string_view model) const;
  // nullopt = unknown (no price, or a cache price the usage needs is missing).
  std::optional<double> cost(std::string_view provider, std::string_view model, const Usage& usage) const;
  // Every entry, sorted by PROVIDER:MODEL.
  std::vector<const Price*> entries() const;

 private:
  const Price* find_exact(const std::string& provider, const std::string& model) const;
  std::map<std::string, Price> prices_;         // by id
  std::map<std::string, std::string> aliases_;  // provider:alias -> id
};

// Writes `price` into the pricing file `file` (created when absent), replacing the
// entry with the same id and keeping every other entry and comment. The edit is
// atomic and serialised by `lock_file`; the result must parse, or nothing changes.
void set_price_in_file(const std::filesystem::path& file, const std::filesystem::path& lock_file, const Price& price);
// The text transformation behind set_price_in_file (unit-tested).
std::string pricing_yaml_set(const std::string& text, const std::string& origin, const Price& price);

}  // namespace mlops::cost
