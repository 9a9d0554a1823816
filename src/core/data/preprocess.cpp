#include "data/preprocess.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "util/error.hpp"

namespace mlops::data {

const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::number:
      return "number";
    case ColumnType::boolean:
      return "bool";
    case ColumnType::categorical:
      return "categorical";
    case ColumnType::text:
      return "string";
  }
  return "?";
}

std::optional<ColumnType> parse_type(std::string_view name) {
  for (auto t : {ColumnType::number, ColumnType::boolean, ColumnType::categorical, ColumnType::text})
    if (name == type_name(t)) return t;
  if (name == "boolean") return ColumnType::boolean;
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view s) {
  auto eq = [&](std::string_view w) {
    return s.size() == w.size() && std::equal(s.begin(), s.end(), w.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  };
  if (eq("true") || eq("yes") || s == "1") return true;
  if (eq("false") || eq("no") || s == "0") return false;
  return std::nullopt;
}

std::optional<double> parse_number(std::string_view s) {
  // from_chars takes "inf", "nan" and hex floats too; data files mean none of those.
  if (s.empty() || s.size() > 64) return std::nullopt;
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return std::nullopt;
  if (s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::size_t Preprocessor::width() const {
  std::size_t w = 0;
  for (const auto& f : features) w += f.type == ColumnType::categorical ? f.vocabulary.size() : 1;
  return w;
}

std::vector<std::string> Preprocessor::encoded_names() const {
  std::vector<std::string> names;
  for (const auto& f : features) {
    if (f.type == ColumnType::categorical)
      for (const auto& v : f.vocabulary) names.push_back(f.name + "=" + v);
    else
      names.push_back(f.name);
  }
  return names;
}

void Preprocessor::encode(const std::vector<Cell>& cells, float* out, const std::string& where) const {
  if (cells.size() != features.size())
    throw UsageError(where + ": " + std::to_string(cells.size()) + " values for " + std::to_string(features.size()) +
                     " features");
  for (std::size_t i = 0; i < features.size(); ++i) {
    const Feature& f = features[i];
    const Cell* c = &cells[i];
    if (c->kind == Cell::Kind::missing) {
      if (!f.impute)
        throw UsageError(where + ": feature '" + f.name + "' is missing",
                         "give every feature a value, or train with data.missing: impute");
      c = &*f.impute;
    }
    switch (f.type) {
      case ColumnType::number: {
        double v = c->number;
        if (c->kind == Cell::Kind::text) {
          auto parsed = parse_number(c->text);
          if (!parsed) throw UsageError(where + ": feature '" + f.name + "' must be a number, not '" + c->text + "'");
          v = *parsed;
        }
        *out++ = static_cast<float>((v - f.mean) / f.std);
        break;
      }
      case ColumnType::boolean: {
        double v = c->number;
        if (c->kind == Cell::Kind::text) {
          auto parsed = parse_bool(c->text);
          if (!parsed) throw UsageError(where + ": feature '" + f.name + "' must be true or false, not '" + c->text + "'");
          v = *parsed ? 1 : 0;
        }
        *out++ = v != 0 ? 1.0f : 0.0f;
        break;
      }
      case ColumnType::categorical: {
        std::string text = c->kind == Cell::Kind::text ? c->text : nlohmann::json(c->number).dump();
        auto it = std::lower_bound(f.vocabulary.begin(), f.vocabulary.end(), text);
        bool known = it != f.vocabulary.end() && *it == text;
        for (std::size_t k = 0; k < f.vocabulary.size(); ++k) out[k] = 0.0f;
        if (known) out[it - f.vocabulary.begin()] = 1.0f;
        out += f.vocabulary.size();
        break;
      }
      case ColumnType::text:
        throw UsageError("feature '" + f.name + "' is free text, which a model cannot take as input");
    }
  }
}

std::vector<float> Preprocessor::encode_json(const nlohmann::json& rows, std::size_t& count) const {
  // One object is a batch of one, read in place (no copy of the request).
  if (!rows.is_object() && !rows.is_array())
    throw UsageError("input must be a JSON object or an array of objects keyed by feature name");
  count = rows.is_object() ? 1 : rows.size();
  std::vector<float> out(count * width());
  std::vector<Cell> cells(features.size());
  for (std::size_t r = 0; r < count; ++r) {
    const auto& row = rows.is_object() ? rows : rows[r];
    const std::string where = "row " + std::to_string(r);
    if (!row.is_object()) throw UsageError(where + ": expected an object keyed by feature name, got " + row.type_name());
    for (std::size_t i = 0; i < features.size(); ++i) {
      auto it = row.find(features[i].name);
      if (it == row.end() || it->is_null())
        cells[i] = Cell::missing();
      else if (it->is_number())
        cells[i] = Cell::of(it->get<double>());
      else if (it->is_boolean())
        cells[i] = Cell::of(it->get<bool>() ? 1.0 : 0.0);
      else if (it->is_string())
        cells[i] = Cell::of(it->get<std::string>());
      else
        throw UsageError(where + ": feature '" + features[i].name + "' holds " + it->type_name() +
                         ", expected a number, bool or string");
      // A category is matched by its text: 1 in JSON is the "1" of a CSV file.
      if (features[i].type == ColumnType::categorical && it != row.end() && (it->is_boolean() || it->is_number()))
        cells[i] = Cell::of(it->dump());
    }
    encode(cells, out.data() + r * width(), where);
  }
  return out;
}

nlohmann::json Preprocessor::decode(const float* outputs, std::size_t count, std::size_t per_row) const {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t r = 0; r < count; ++r) {
    const float* o = outputs + r * per_row;
    if (task == Task::regression) {
      out.push_back({{"prediction", static_cast<double>(o[0])}});
      continue;
    }
    std::size_t best = 0;
    nlohmann::json probs = nlohmann::json::object();
    for (std::size_t k = 0; k < per_row; ++k) {
      if (o[k] > o[best]) best = k;
      probs[k < classes.size() ? classes[k] : std::to_string(k)] = static_cast<double>(o[k]);
    }
    out.push_back({{"prediction", best < classes.size() ? classes[best] : std::to_string(best)},
                   {"probabilities", probs}});
  }
  return out;
}

namespace {

nlohmann::json cell_json(const Cell& c) {
  if (c.kind == Cell::Kind::number) return c.number;
  if (c.kind == Cell::Kind::text) return c.text;
  return nullptr;
}

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw UsageError("preprocess.json: " + where + " has no '" + key + "'");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw UsageError("preprocess.json: " + where + "." + key + " has the wrong type (" + it->type_name() + ")");
  }
}

}  // namespace

nlohmann::json Preprocessor::to_json() const {
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& f : features) {
    nlohmann::json j = {{"name", f.name}, {"type", type_name(f.type)}};
    if (f.type == ColumnType::number) {
      j["mean"] = f.mean;
      j["std"] = f.std;
    }
    if (f.type == ColumnType::categorical) j["vocabulary"] = f.vocabulary;
    if (f.impute) {
      j["impute"] = cell_json(*f.impute);
      j["impute_method"] = f.impute_method;
    }
    fs.push_back(j);
  }
  nlohmann::json j = {{"format", k_preprocess_format},
                      {"task", task == Task::classification ? "classification" : "regression"},
                      {"target", target},
                      {"features", fs},
                      {"inputs", encoded_names()}};
  if (task == Task::classification)
    j["classes"] = classes;
  else
    j["target_scaling"] = {{"mean", target_mean}, {"std", target_std}};
  return j;
}

Preprocessor Preprocessor::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw UsageError("preprocess.json: expected an object");
  if (j.value("format", "") != k_preprocess_format)
    throw UsageError("preprocess.json: format is '" + j.value("format", "") + "', expected '" + k_preprocess_format +
                     "'");
  Preprocessor p;
  auto task = field<std::string>(j, "task", "the file");
  if (task != "classification" && task != "regression")
    throw UsageError("preprocess.json: task must be classification or regression, not '" + task + "'");
  p.task = task == "classification" ? Task::classification : Task::regression;
  p.target = field<std::string>(j, "target", "the file");
  if (p.task == Task::classification) {
    p.classes = field<std::vector<std::string>>(j, "classes", "the file");
  } else if (j.contains("target_scaling")) {
    p.target_mean = field<double>(j["target_scaling"], "mean", "target_scaling");
    p.target_std = field<double>(j["target_scaling"], "std", "target_scaling");
  }
  auto fs = j.find("features");
  if (fs == j.end() || !fs->is_array()) throw UsageError("preprocess.json: 'features' must be an array");
  for (std::size_t i = 0; i < fs->size(); ++i) {
    const auto& fj = (*fs)[i];
    std::string where = "features[" + std::to_string(i) + "]";
    if (!fj.is_object()) throw UsageError("preprocess.json: " + where + " must be an object");
    Feature f;
    f.name = field<std::string>(fj, "name", where);
    auto type = parse_type(field<std::string>(fj, "type", where));
    if (!type || *type == ColumnType::text)
      throw UsageError("preprocess.json: " + where + ".type must be number, bool or categorical");
    f.type = *type;
    if (f.type == ColumnType::number) {
      f.mean = field<double>(fj, "mean", where);
      f.std = field<double>(fj, "std", where);
      if (!(f.std > 0)) throw UsageError("preprocess.json: " + where + ".std must be positive");
    }
    if (f.type == ColumnType::categorical) {
      f.vocabulary = field<std::vector<std::string>>(fj, "vocabulary", where);
      if (!std::is_sorted(f.vocabulary.begin(), f.vocabulary.end()))
        throw UsageError("preprocess.json: " + where + ".vocabulary must be sorted");
    }
    if (auto im = fj.find("impute"); im != fj.end() && !im->is_null()) {
      f.impute = im->is_number() ? Cell::of(im->get<double>()) : Cell::of(im->is_string() ? im->get<std::string>() : im->dump());
      f.impute_method = fj.value("impute_method", "");
    }
    p.features.push_back(std::move(f));
  }
  return p;
}

}  // namespace mlops::data
