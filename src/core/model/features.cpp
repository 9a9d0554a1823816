#include "model/features.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "util/error.hpp"

namespace mlops::model {

namespace fs = std::filesystem;
using nlohmann::json;

json FeatureSpec::to_json() const {
  json j = {{"entity_key", entity_key}, {"loader", source.loader}, {"source", source.path.generic_string()}};
  if (!source.query.empty()) j["query"] = source.query;
  return j;
}

FeatureSpec FeatureSpec::from_json(const json& j) {
  auto text = [&](const char* key, bool required) -> std::string {
    if (!j.is_object() || !j.contains(key)) {
      if (required)
        throw ConfigError(std::string("the model's features spec lacks '") + key + "'",
                          "register the version again with --features FILE --entity-key KEY");
      return {};
    }
    if (!j[key].is_string()) throw ConfigError(std::string("the model's features.") + key + " is not a string");
    return j[key].get<std::string>();
  };
  FeatureSpec s;
  s.entity_key = text("entity_key", true);
  s.source.loader = text("loader", true);
  s.source.path = text("source", true);
  s.source.query = text("query", false);
  return s;
}

FeatureSpec make_feature_spec(const std::string& entity_key, const fs::path& source, const std::string& loader,
                              const std::string& query, const fs::path& root) {
  if (entity_key.empty())
    throw UsageError("--features needs --entity-key KEY, the request field and source column that name an entity",
                     "e.g. --features features.csv --entity-key user_id");
  FeatureSpec s;
  s.entity_key = entity_key;
  s.source.loader = loader.empty() ? data::loader_for_path(source) : loader;
  if (s.source.loader.empty())
    throw UsageError("cannot tell the loader of " + source.string() + " from its extension",
                     "pass --features-loader csv|jsonl|json|sqlite");
  s.source.query = query;
  fs::path abs = fs::absolute(source).lexically_normal();
  fs::path rel = abs.lexically_relative(fs::absolute(root).lexically_normal());
  // Inside the workspace the path is kept relative, so a server in a container
  // with the workspace mounted elsewhere still finds it.
  s.source.path = !rel.empty() && *rel.begin() != ".." ? rel : abs;
  return s;
}

namespace {

json typed(const std::string& cell) {
  if (cell == "true") return true;
  if (cell == "false") return false;
  if (!cell.empty()) {
    double v = 0;
    const char* end = cell.data() + cell.size();
    auto [p, ec] = std::from_chars(cell.data(), end, v);
    if (ec == std::errc() && p == end && std::isfinite(v)) {
      std::int64_t i = 0;
      auto [pi, eci] = std::from_chars(cell.data(), end, i);
      if (eci == std::errc() && pi == end) return i;
      return v;
    }
  }
  return cell;
}

class EnrichedModel : public Model {
 public:
  EnrichedModel(std::unique_ptr<Model> inner, FeatureSpec spec, FeatureTable table)
      : inner_(std::move(inner)), spec_(std::move(spec)), table_(std::move(table)) {
    info_ = inner_->info();
    const auto& key = spec_.entity_key;
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
      return std::find(v.begin(), v.end(), s) != v.end();
    };
    keep_key_ = has(info_.required_inputs, key) || has(info_.optional_inputs, key);
    // Inputs the source provides become optional; the entity key names them.
    std::vector<std::string> required = {key};
    for (const auto& f : info_.required_inputs) {
      if (f == key) continue;
      if (has(table_.columns(), f))
        info_.optional_inputs.push_back(f);
      else
        required.push_back(f);
    }
    info_.required_inputs = std::move(required);
    info_.extra["features"] = {{"entity_key", key},
                               {"source", spec_.source.path.generic_string()},
                               {"loader", spec_.source.loader},
                               {"entities", table_.size()},
                               {"columns", table_.columns()}};
  }

  const ModelInfo& info() const override { return info_; }

  json predict(const json& instances) override {
    if (!instances.is_array()) throw InputError("instances must be a JSON array");
    json enriched = json::array();
    for (std::size_t i = 0; i < instances.size(); ++i) {
      const json& in = instances[i];
      auto it = in.is_object() ? in.find(spec_.entity_key) : in.end();
      if (!in.is_object() || it == in.end()) {
        enriched.push_back(in);
        continue;
      }
      std::string key = it->is_string() ? it->get<std::string>() : it->dump();
      if (it->is_null() || key.empty())
        throw InputError("instance " + std::to_string(i) + ": " + spec_.entity_key + " is empty");
      const json* row = table_.find(key);
      if (!row)
        throw InputError("instance " + std::to_string(i) + ": no features for " + spec_.entity_key + " '" + key +
                             "' in " + table_.source_name(),
                         "send the features in the request, or add the entity to the source and reload the server");
      json merged = *row;
      for (const auto& [k, v] : in.items()) merged[k] = v;  // the request's own fields win
      if (!keep_key_) merged.erase(spec_.entity_key);
      enriched.push_back(std::move(merged));
    }
    return inner_->predict(enriched);
  }

 private:
  std::unique_ptr<Model> inner_;
  FeatureSpec spec_;
  FeatureTable table_;
  ModelInfo info_;
  bool keep_key_ = false;
};

}  // namespace

FeatureTable FeatureTable::load(const FeatureSpec& spec, const fs::path& root) {
  data::SourceSpec src = spec.source;
  if (src.path.is_relative()) src.path = root / src.path;
  auto raw = data::make_loader(src)->read();
  FeatureTable t;
  t.source_name_ = spec.source.path.generic_string();
  std::size_t key_col = raw.columns.size();
  for (std::size_t c = 0; c < raw.columns.size(); ++c) {
    if (raw.columns[c] == spec.entity_key)
      key_col = c;
    else
      t.columns_.push_back(raw.columns[c]);
  }
  if (key_col == raw.columns.size())
    throw ConfigError("feature source " + t.source_name_ + " has no column '" + spec.entity_key + "' (the entity key)",
                      "its columns are: " + [&] {
                        std::string s;
                        for (const auto& c : raw.columns) s += (s.empty() ? "" : ", ") + c;
                        return s;
                      }());
  std::unordered_map<std::string, std::size_t> first;
  t.rows_.reserve(raw.rows());
  for (std::size_t r = 0; r < raw.rows(); ++r) {
    const auto& k = raw.cells[key_col][r];
    if (!k || k->empty()) throw ConfigError(raw.where(r) + ": the entity key " + spec.entity_key + " is empty");
    if (auto [it, fresh] = first.emplace(*k, r); !fresh)
      throw ConfigError(raw.where(r) + ": " + spec.entity_key + " '" + *k + "' appears twice (first at " +
                            raw.where(it->second) + ")",
                        "a feature source holds one row per entity");
    json row = json::object();
    for (std::size_t c = 0; c < raw.columns.size(); ++c) {
      if (c == key_col || !raw.cells[c][r]) continue;
      row[raw.columns[c]] = typed(*raw.cells[c][r]);
    }
    t.rows_.emplace(*k, std::move(row));
  }
  return t;
}

const json* FeatureTable::find(const std::string& key) const {
  auto it = rows_.find(key);
  return it == rows_.end() ? nullptr : &it->second;
}

std::unique_ptr<Model> with_features(std::unique_ptr<Model> inner, const FeatureSpec& spec, const fs::path& root) {
  auto table = FeatureTable::load(spec, root);
  return std::make_unique<EnrichedModel>(std::move(inner), spec, std::move(table));
}

}  // namespace mlops::model
