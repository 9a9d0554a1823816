#include "pii/settings.hpp"

#include <yaml-cpp/yaml.h>

#include "util/error.hpp"

namespace mlops::pii {
namespace {

std::vector<std::string> string_list(const config::Config& cfg, const std::string& key) {
  auto v = cfg.get(key);
  if (!v || v->value.empty()) return {};
  const std::string hint = "write a list, e.g. " + key + ": [\"*.lock\", \"testdata/**\"]";
  try {
    YAML::Node n = YAML::Load(v->value);
    if (n.IsScalar()) return {n.as<std::string>()};
    if (n.IsSequence()) return n.as<std::vector<std::string>>();
  } catch (const YAML::Exception&) {
  }
  throw ConfigError(v->origin + ": " + key + " must be a list of strings", hint);
}

}  // namespace

Settings load_settings(const config::Config& cfg) {
  Settings s;
  s.exclude = string_list(cfg, "pii.exclude");
  s.json_keys = string_list(cfg, "pii.json_keys");
  if (auto v = cfg.get("pii.min_confidence"); v && !v->value.empty()) {
    try {
      std::size_t used = 0;
      double d = std::stod(v->value, &used);
      if (used != v->value.size() || d < 0 || d > 1) throw std::invalid_argument("range");
      s.min_confidence = d;
    } catch (const std::exception&) {
      throw ConfigError(v->origin + ": pii.min_confidence is '" + v->value + "'", "use a number from 0 to 1, e.g. 0.7");
    }
  }
  if (auto v = cfg.get("pii.rules"); v && !v->value.empty()) {
    auto specs = parse_custom_rules(v->value, v->origin);
    if (!specs.empty()) s.custom = std::make_shared<CustomRules>(std::move(specs), v->origin);
  }
  return s;
}

}  // namespace mlops::pii
