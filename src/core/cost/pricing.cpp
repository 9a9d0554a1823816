#include "cost/pricing.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "resources/resources.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/lock.hpp"
#include "util/text.hpp"

namespace mlops::cost {

namespace {

const char* k_format_hint =
    "the format is described at the top of the shipped table: run 'mlopsctl cost pricing list' to see what is "
    "loaded, or write the entry with 'mlopsctl cost pricing set'";

[[noreturn]] void bad(const std::string& origin, const YAML::Mark& mark, const std::string& what) {
  throw ConfigError(origin + ":" + std::to_string(mark.line + 1) + ": " + what, k_format_hint);
}

YAML::Node parse_yaml(std::string_view text, const std::string& origin) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                          ": invalid YAML: " + e.msg,
                      k_format_hint);
  }
}

double price_number(const YAML::Node& node, const std::string& origin, const std::string& key) {
  std::string text = node.IsScalar() ? node.Scalar() : "";
  char* end = nullptr;
  double v = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < 0)
    bad(origin, node.Mark(),
        key + " must be a price in USD per 1M tokens (a number >= 0), not '" + (node.IsScalar() ? text : "?") + "'");
  return v;
}

std::string scalar(const YAML::Node& node, const std::string& origin, const std::string& key) {
  if (!node.IsScalar()) bad(origin, node.Mark(), key + " must be a single value");
  return node.Scalar();
}

Price parse_entry(const YAML::Node& key_node, const YAML::Node& entry, const std::string& origin) {
  std::string id = key_node.IsScalar() ? key_node.Scalar() : "";
  auto colon = id.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == id.size())
    bad(origin, key_node.Mark(), "price key '" + id + "' must be PROVIDER:MODEL, e.g. openai:gpt-4o or ollama:*");
  if (!entry.IsMap()) bad(origin, key_node.Mark(), "prices." + id + " must be a mapping with input: and output:");
  Price p;
  p.provider = id.substr(0, colon);
  p.model = id.substr(colon + 1);
  p.origin = origin + ":" + std::to_string(key_node.Mark().line + 1);
  bool has_input = false, has_output = false;
  static const std::vector<std::string> fields = {"input",   "output", "cache_read", "cache_write",
                                                  "aliases", "source", "as_of"};
  for (const auto& kv : entry) {
    std::string name = kv.first.as<std::string>();
    std::string key = "prices." + id + "." + name;
    const YAML::Node& v = kv.second;
    if (name == "input") {
      p.input = price_number(v, origin, key);
      has_input = true;
    } else if (name == "output") {
      p.output = price_number(v, origin, key);
      has_output = true;
    } else if (name == "cache_read" || name == "cache_write") {
      auto& slot = name == "cache_read" ? p.cache_read : p.cache_write;
      if (!v.IsNull()) slot = price_number(v, origin, key);
    } else if (name == "aliases") {
      if (v.IsScalar()) {
        p.aliases.push_back(v.Scalar());
      } else if (v.IsSequence()) {
        for (const auto& a : v) p.aliases.push_back(scalar(a, origin, key));
      } else if (!v.IsNull()) {
        bad(origin, v.Mark(), key + " must be a list of model ids");
      }
    } else if (name == "source") {
      p.source = scalar(v, origin, key);
    } else if (name == "as_of") {
      p.as_of = scalar(v, origin, key);
    } else {
      std::string near = util::nearest(name, fields);
      bad(origin, kv.first.Mark(),
          "unknown key " + key + (near.empty() ? "" : " (did you mean '" + near + "'?)") +
              "; an entry takes input, output, cache_read, cache_write, aliases, source and as_of");
    }
  }
  if (!has_input || !has_output)
    bad(origin, key_node.Mark(),
        "prices." + id + " needs both input: and output: (USD per 1M tokens); " + (has_input ? "output" : "input") +
            " is missing");
  return p;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

std::optional<double> cost_at(const Price& price, const Usage& usage) {
  if (usage.cache_read_tokens > 0 && !price.cache_read) return std::nullopt;
  if (usage.cache_write_tokens > 0 && !price.cache_write) return std::nullopt;
  double micro = static_cast<double>(usage.input_tokens) * price.input +
                 static_cast<double>(usage.output_tokens) * price.output +
                 static_cast<double>(usage.cache_read_tokens) * price.cache_read.value_or(0) +
                 static_cast<double>(usage.cache_write_tokens) * price.cache_write.value_or(0);
  return micro / 1e6;
}

std::string strip_date_suffix(std::string_view model) {
  auto n = model.size();
  // A calendar date in 1900..2099, as YYYY MM DD digit groups.
  auto is_date = [](std::string_view y, std::string_view m, std::string_view d) {
    if (!all_digits(y) || !all_digits(m) || !all_digits(d) || !(y.substr(0, 2) == "19" || y.substr(0, 2) == "20"))
      return false;
    int month = (m[0] - '0') * 10 + (m[1] - '0'), day = (d[0] - '0') * 10 + (d[1] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
  };
  if (n > 11 && model[n - 11] == '-' && model[n - 6] == '-' && model[n - 3] == '-' &&
      is_date(model.substr(n - 10, 4), model.substr(n - 5, 2), model.substr(n - 2, 2)))
    return std::string(model.substr(0, n - 11));  // -YYYY-MM-DD
  if (n > 9 && model[n - 9] == '-' && is_date(model.substr(n - 8, 4), model.substr(n - 4, 2), model.substr(n - 2, 2)))
    return std::string(model.substr(0, n - 9));  // -YYYYMMDD
  return std::string(model);
}

PriceTable PriceTable::load(const std::vector<std::filesystem::path>& override_dirs) {
  PriceTable t;
  if (auto shipped = resources::embedded(k_pricing_file))
    t.overlay(*shipped, std::string("embedded:") + k_pricing_file);
  for (auto it = override_dirs.rbegin(); it != override_dirs.rend(); ++it) {
    auto file = *it / k_pricing_file;
    if (auto text = util::read_file_if_exists(file)) t.overlay(*text, file.string());
  }
  return t;
}

void PriceTable::overlay(std::string_view yaml_text, const std::string& origin) {
  YAML::Node root = parse_yaml(yaml_text, origin);
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError(origin + ":1: the top level must be a mapping holding 'prices:'", k_format_hint);
  std::map<std::string, Price> parsed;
  for (const auto& kv : root) {
    std::string top = kv.first.as<std::string>();
    if (top != "prices")
      bad(origin, kv.first.Mark(), "unknown top-level key '" + top + "'; the table lives under prices:");
    if (kv.second.IsNull()) continue;
    if (!kv.second.IsMap()) bad(origin, kv.first.Mark(), "prices: must be a mapping of PROVIDER:MODEL entries");
    for (const auto& entry : kv.second) {
      Price p = parse_entry(entry.first, entry.second, origin);
      parsed[p.id()] = std::move(p);
    }
  }
  for (auto& [id, p] : parsed) prices_[id] = std::move(p);
  aliases_.clear();
  for (const auto& [id, p] : prices_)
    for (const auto& a : p.aliases) aliases_[p.provider + ":" + a] = id;
}

const Price* PriceTable::find_exact(const std::string& provider, const std::string& model) const {
  std::string id = provider + ":" + model;
  if (auto it = prices_.find(id); it != prices_.end()) return &it->second;
  if (auto a = aliases_.find(id); a != aliases_.end()) return &prices_.at(a->second);
  return nullptr;
}

const Price* PriceTable::find(std::string_view provider, std::string_view model) const {
  std::string prov(provider), mod(model);
  if (const Price* p = find_exact(prov, mod)) return p;
  if (std::string base = strip_date_suffix(mod); base != mod)
    if (const Price* p = find_exact(prov, base)) return p;
  return find_exact(prov, "*");
}

std::optional<double> PriceTable::cost(std::string_view provider, std::string_view model, const Usage& usage) const {
  const Price* p = find(provider, model);
  if (!p) return std::nullopt;
  return cost_at(*p, usage);
}

std::vector<const Price*> PriceTable::entries() const {
  std::vector<const Price*> out;
  for (const auto& [_, p] : prices_) out.push_back(&p);
  return out;
}

// ---- editing the workspace file --------------------------------------------

namespace {

bool significant(const std::string& line) {
  auto pos = line.find_first_not_of(" \t");
  return pos != std::string::npos && line[pos] != '#';
}

std::vector<std::string> render_entry(const Price& p, int indent) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  std::string child = pad + "  ";
  std::vector<std::string> out = {pad + nlohmann::json(p.id()).dump() + ":", child + fmt::format("input: {}", p.input),
                                  child + fmt::format("output: {}", p.output)};
  if (p.cache_read) out.push_back(child + fmt::format("cache_read: {}", *p.cache_read));
  if (p.cache_write) out.push_back(child + fmt::format("cache_write: {}", *p.cache_write));
  if (!p.aliases.empty()) out.push_back(child + "aliases: " + nlohmann::json(p.aliases).dump());
  if (!p.source.empty()) out.push_back(child + "source: " + nlohmann::json(p.source).dump());
  if (!p.as_of.empty()) out.push_back(child + "as_of: " + nlohmann::json(p.as_of).dump());
  return out;
}

}  // namespace

std::string pricing_yaml_set(const std::string& text, const std::string& origin, const Price& price) {
  YAML::Node root = parse_yaml(text, origin);
  if (!root.IsNull() && !root.IsMap())
    throw ConfigError(origin + ":1: the top level must be a mapping holding 'prices:'", k_format_hint);
  std::vector<std::string> lines = text.empty() ? std::vector<std::string>{} : util::split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // text ended with a newline

  // Where prices: starts and where the next top-level key (or the end) is.
  std::optional<std::size_t> prices_line;
  std::size_t block_end = lines.size();
  YAML::Node prices;
  if (root.IsMap()) {
    for (const auto& kv : root) {
      auto line = static_cast<std::size_t>(kv.first.Mark().line);
      if (kv.first.as<std::string>() == "prices") {
        prices_line = line;
        prices = kv.second;
      } else if (prices_line && line > *prices_line) {
        block_end = std::min(block_end, line);
      }
    }
  }
  if (prices && prices.IsMap() && prices.Style() == YAML::EmitterStyle::Flow)
    throw ConfigError(origin + ":" + std::to_string(*prices_line + 1) + ": prices: is written in flow style ({...})",
                      "rewrite it as a block mapping, one PROVIDER:MODEL entry per key, then retry");
  if (!prices_line) {
    lines.push_back("prices:");
    prices_line = lines.size() - 1;
    block_end = lines.size();
  }

  int indent = 2;
  std::optional<std::size_t> found;
  std::vector<std::size_t> entry_lines;
  if (prices && prices.IsMap()) {
    for (const auto& kv : prices) {
      auto line = static_cast<std::size_t>(kv.first.Mark().line);
      entry_lines.push_back(line);
      if (entry_lines.size() == 1) indent = kv.first.Mark().column;
      if (kv.first.as<std::string>() == price.id()) {
        found = line;
        indent = kv.first.Mark().column;
      }
    }
  }
  auto rendered = render_entry(price, indent);
  // The extent of an entry: up to the next entry or the end of the block, less
  // the comments and blank lines that lead into what follows.
  auto extent_end = [&](std::size_t from) {
    std::size_t end = block_end;
    for (auto l : entry_lines)
      if (l > from) end = std::min(end, l);
    while (end > from + 1 && !significant(lines[end - 1])) --end;
    return end;
  };
  if (found) {
    auto end = extent_end(*found);
    lines.erase(lines.begin() + static_cast<long>(*found), lines.begin() + static_cast<long>(end));
    lines.insert(lines.begin() + static_cast<long>(*found), rendered.begin(), rendered.end());
  } else {
    std::size_t at = entry_lines.empty() ? *prices_line + 1 : extent_end(entry_lines.back());
    lines.insert(lines.begin() + static_cast<long>(at), rendered.begin(), rendered.end());
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  PriceTable check;
  check.overlay(out, origin);  // refuse to write what we could not read back
  return out;
}

void set_price_in_file(const std::filesystem::path& file, const std::filesystem::path& lock_file, const Price& price) {
  std::filesystem::create_directories(lock_file.parent_path());
  util::FileLock lock(lock_file);
  std::string text = util::read_file_if_exists(file).value_or(
      "# Workspace prices for mlopsctl, over the shipped table (format: man mlopsctl-cost).\n"
      "# Entries here replace shipped entries with the same PROVIDER:MODEL.\n");
  std::string edited = pricing_yaml_set(text, file.string(), price);
  std::filesystem::create_directories(file.parent_path());
  util::atomic_write(file, edited);
}

}  // namespace mlops::cost
