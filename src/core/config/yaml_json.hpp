#pragma once
// YAML nodes as JSON values: maps, sequences, and scalars typed the way YAML 1.2
// core schema reads them (true/false, null, integers, floats); quoted scalars stay strings.
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace mlops::config {

nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace mlops::config
