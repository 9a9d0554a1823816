#pragma once
// Feature enrichment: a model may declare a feature source keyed by an entity
// (spec "features": {"entity_key", "loader", "source", "query"}). A request
// instance that carries the entity key (such as user_id) gets that entity's
// features merged in before predict; fields the request carries itself win,
// as request-time features do in Feast. The source is read through the data
// loaders (csv, jsonl, json, sqlite query) when the model loads: at start, on
// SIGHUP and when the alias moves, so refreshed data is served after a reload.
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "data/loader.hpp"
#include "model/model.hpp"

namespace mlops::model {

struct FeatureSpec {
  std::string entity_key;
  data::SourceSpec source;  // path relative to the workspace root unless absolute
  nlohmann::json to_json() const;
  // From a version's spec["features"]; ConfigError naming the bad key.
  static FeatureSpec from_json(const nlohmann::json& j);
};

// Builds the spec `model register --features` stores: the loader from the
// extension unless given, the path relative to `root` when it lies inside it.
FeatureSpec make_feature_spec(const std::string& entity_key, const std::filesystem::path& source,
                              const std::string& loader, const std::string& query, const std::filesystem::path& root);

// One row per entity, cells typed: a cell that reads as a JSON number, true or
// false becomes one, other text stays a string, absent cells are left out.
class FeatureTable {
 public:
  // Reads the source (relative paths against `root`). ConfigError when the key
  // column is missing, a key is empty or appears twice (naming both places).
  static FeatureTable load(const FeatureSpec& spec, const std::filesystem::path& root);
  const nlohmann::json* find(const std::string& key) const;
  const std::vector<std::string>& columns() const { return columns_; }  // without the key
  std::size_t size() const { return rows_.size(); }
  const std::string& source_name() const { return source_name_; }

 private:
  std::vector<std::string> columns_;
  std::unordered_map<std::string, nlohmann::json> rows_;
  std::string source_name_;
};

// Wraps a loaded model with the lookup. The entity key stays in the instance
// only when the model itself takes it as an input.
std::unique_ptr<Model> with_features(std::unique_ptr<Model> inner, const FeatureSpec& spec,
                                     const std::filesystem::path& root);

}  // namespace mlops::model
