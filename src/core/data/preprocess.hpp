#pragma once
// The feature encoding a trained model expects, fitted on the training split
// and stored beside the model as preprocess.json. Training (mlops_data) and
// serving (the mlopsctl-torch-model plugin) encode rows with this one class,
// so a model always sees features prepared the same way.
//
// Encoding, column by column in `features` order:
//   number       (x - mean) / std, mean and population std (ddof 0) of the
//                training split; std 0 is stored as 1.
//   bool         1 for true/yes/1, 0 for false/no/0 (not scaled).
//   categorical  one-hot over `vocabulary` (the training split's values, sorted
//                by byte order); a value outside it encodes as all zeros.
// A missing value takes `impute` when set (the training mean or mode), and is
// an error otherwise.
//
// This module depends on nlohmann_json only and is built position-independent,
// so the plugin (a shared library) links it too.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::data {

inline constexpr const char* k_preprocess_format = "mlopsctl-preprocess/1";

enum class ColumnType { number, boolean, categorical, text };
const char* type_name(ColumnType t);
// "number", "bool", "categorical", "string"; nullopt otherwise.
std::optional<ColumnType> parse_type(std::string_view name);

// One input value: missing, a number (bools as 0/1) or text.
struct Cell {
  enum class Kind { missing, number, text } kind = Kind::missing;
  double number = 0;
  std::string text;
  static Cell missing() { return {}; }
  static Cell of(double v) { return {Kind::number, v, {}}; }
  static Cell of(std::string s) { return {Kind::text, 0, std::move(s)}; }
};

// True/false of a bool column's text ("true", "yes", "1", "false", "no", "0",
// any case); nullopt for anything else.
std::optional<bool> parse_bool(std::string_view s);
// A finite number written the way CSV and JSON write them; nullopt otherwise.
std::optional<double> parse_number(std::string_view s);

struct Feature {
  std::string name;
  ColumnType type = ColumnType::number;
  double mean = 0, std = 1;              // number
  std::vector<std::string> vocabulary;   // categorical
  std::optional<Cell> impute;            // value used for a missing input
  std::string impute_method;             // "mean" or "mode" when impute is set
};

enum class Task { classification, regression };

class Preprocessor {
 public:
  Task task = Task::classification;
  std::string target;
  std::vector<std::string> classes;  // classification: labels, index = class id
  double target_mean = 0, target_std = 1;  // regression: the model works in standard units
  std::vector<Feature> features;

  // Length of one encoded row.
  std::size_t width() const;
  // Names of the encoded inputs: "age", "color=red", ...
  std::vector<std::string> encoded_names() const;
  // Encodes one row given as one cell per feature (in `features` order) into
  // out[0, width()). Throws UsageError naming `where` and the feature when a
  // value is missing without an imputation, or is not of the feature's type.
  void encode(const std::vector<Cell>& cells, float* out, const std::string& where) const;
  // Serving: rows as JSON objects keyed by column name (extra keys ignored), or
  // one object. Throws UsageError naming the row index and the key.
  std::vector<float> encode_json(const nlohmann::json& rows, std::size_t& count) const;
  // Serving: model outputs (count x outputs) to one JSON object per row:
  // {"prediction": label, "probabilities": {label: p}} for classification,
  // {"prediction": value} for regression.
  nlohmann::json decode(const float* outputs, std::size_t count, std::size_t outputs_per_row) const;

  nlohmann::json to_json() const;
  // Throws UsageError naming the field that is missing or malformed.
  static Preprocessor from_json(const nlohmann::json& j);
};

}  // namespace mlops::data
