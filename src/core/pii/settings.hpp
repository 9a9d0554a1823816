#pragma once
// The pii: section of mlops.yaml (through config::Config, so the usual
// precedence applies): custom rules, tree excludes, extra JSON keys to mask and
// a default minimum confidence.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pii/custom.hpp"

namespace mlops::pii {

struct Settings {
  std::vector<std::string> exclude;           // pii.exclude: globs, as in .gitignore
  std::vector<std::string> json_keys;         // pii.json_keys: more keys whose values mask masks
  std::shared_ptr<const CustomRules> custom;  // pii.rules; null when none are configured
  std::optional<double> min_confidence;       // pii.min_confidence
};

// Throws ConfigError naming the file and line of a bad value.
Settings load_settings(const config::Config& cfg);

}  // namespace mlops::pii
