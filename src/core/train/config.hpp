#pragma once
// `kind: torch` experiment configs (train.yaml): what to load, which model,
// how to optimise. Parsed strictly: an unknown key, a wrong type or an
// out-of-range value is a ConfigError naming the file, line and key.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.hpp"

namespace mlops::train {

namespace fs = std::filesystem;

struct ModelSpec {
  std::string type = "mlp";  // mlp | logistic | linear
  std::vector<int> layers = {64, 32};  // hidden layer widths (mlp)
  std::string activation = "relu";     // relu | tanh | gelu
  double dropout = 0;                  // after each hidden layer, training only
};

struct OptimizerSpec {
  std::string type = "adam";  // adam | sgd
  double learning_rate = 1e-3;
  double momentum = 0;        // sgd
  double weight_decay = 0;
};

struct EarlyStopping {
  std::string metric = "val_loss";  // train_loss, val_loss, val_accuracy, val_rmse, val_mae
  int patience = 5;                 // epochs without improvement before stopping
  std::string mode;                 // min | max; default from the metric
  double min_delta = 0;             // smallest change that counts as improvement
};

struct TrainConfig {
  fs::path file;     // the config file (messages, relative paths)
  std::string name;  // optional; defaults to the file's stem
  data::DatasetSpec data;
  std::string positive;  // classification: the class precision/recall/F1/AUC are about
  ModelSpec model;
  OptimizerSpec optimizer;
  int epochs = 20;
  int batch_size = 32;
  std::optional<EarlyStopping> early_stopping;
  std::uint64_t seed = 42;
  int threads = 0;  // torch intra-op threads; 0 = torch's default

  // The resolved config (defaults applied) as canonical JSON; the data source's
  // path is left out (the data hash covers the bytes).
  nlohmann::json canonical() const;
  // sha256 of canonical().dump().
  std::string hash() const;
  // Flat "key" -> "value" parameters for a run ("model.layers" -> "[64,32]").
  std::vector<std::pair<std::string, std::string>> params() const;
};

// Where the data loader and source come from when a config leaves them out or
// the environment overrides them (DATA_LOADER_TYPE / DATA_SOURCE_PATH, then
// mlops.yaml data.loader / data.source_path). `*_from_env` makes the value win
// over the config file, as environment beats files in mlopsctl's precedence.
struct DataDefaults {
  std::optional<std::string> loader, source;
  bool loader_from_env = false, source_from_env = false;
  std::string loader_origin, source_origin;  // "env DATA_LOADER_TYPE", "mlops.yaml:7"
};

// Reads and checks a config file. Relative data paths resolve against the
// config file's directory; an environment source against `cwd`.
TrainConfig load_config(const fs::path& file, const DataDefaults& defaults = {}, const fs::path& cwd = {});
// The same from text (tests); `file` names it in messages.
TrainConfig parse_config(const std::string& text, const fs::path& file, const DataDefaults& defaults = {},
                         const fs::path& cwd = {});

}  // namespace mlops::train
