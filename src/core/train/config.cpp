#include "train/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace mlops::train {

namespace {

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  std::string at(const YAML::Node& n) const { return file_ + ":" + std::to_string(n.Mark().line + 1); }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& what, const std::string& hint = {}) const {
    throw ConfigError(at(n) + ": " + what, hint);
  }

  // Checks that `node` is a map whose keys are all in `known`.
  void keys(const YAML::Node& node, const std::string& section, const std::vector<std::string>& known) const {
    if (!node.IsMap()) fail(node, section + " must be a mapping");
    for (const auto& kv : node) {
      auto key = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string near = util::nearest(key, known);
      fail(kv.first,
           "unknown key '" + key + "'" + (section.empty() ? "" : " in " + section) +
               (near.empty() ? "" : " (did you mean '" + near + "'?)"),
           "known keys" + (section.empty() ? std::string() : " of " + section) + ": " + util::join(known, ", "));
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key + " must be a string");
    return n.Scalar();
  }
  double num(const YAML::Node& n, const std::string& key, double lo, double hi) const {
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v)) fail(n, key + " must be a number");
    if (v < lo || v > hi) fail(n, key + " must be between " + fmt(lo) + " and " + fmt(hi));
    return v;
  }
  long long integer(const YAML::Node& n, const std::string& key, long long lo, long long hi) const {
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v)) fail(n, key + " must be an integer");
    if (v < lo || v > hi) fail(n, key + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }
  std::string choice(const YAML::Node& n, const std::string& key, const std::vector<std::string>& options) const {
    auto v = str(n, key);
    if (std::find(options.begin(), options.end(), v) == options.end()) {
      std::string near = util::nearest(v, options);
      fail(n, key + " is '" + v + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"),
           key + " is one of: " + util::join(options, ", "));
    }
    return v;
  }
  std::vector<std::string> list(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, key + " must be a list");
    std::vector<std::string> out;
    for (const auto& e : n) out.push_back(str(e, key + " entry"));
    return out;
  }

 private:
  static std::string fmt(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  std::string file_;
};

data::MissingAction missing_action(const Parser& p, const YAML::Node& n, const std::string& key) {
  auto v = p.choice(n, key, {"error", "drop", "impute"});
  return v == "error" ? data::MissingAction::error : v == "drop" ? data::MissingAction::drop : data::MissingAction::impute;
}

void parse_data(const Parser& p, const YAML::Node& node, TrainConfig& c, const fs::path& base) {
  p.keys(node, "data",
         {"loader", "source", "query", "target", "positive", "features", "exclude", "types", "missing",
          "missing_by_column", "na_values", "max_categories", "split"});
  auto& d = c.data;
  if (node["loader"]) d.source.loader = p.choice(node["loader"], "data.loader", data::loader_names());
  if (node["source"]) {
    fs::path src = p.str(node["source"], "data.source");
    d.source.path = src.is_absolute() ? src : base / src;
  }
  if (node["query"]) d.source.query = p.str(node["query"], "data.query");
  if (!node["target"]) p.fail(node, "data.target is required", "name the column the model predicts");
  d.target = p.str(node["target"], "data.target");
  if (node["positive"]) c.positive = p.str(node["positive"], "data.positive");
  if (node["features"]) d.features = p.list(node["features"], "data.features");
  if (node["exclude"]) d.exclude = p.list(node["exclude"], "data.exclude");
  if (auto t = node["types"]) {
    if (!t.IsMap()) p.fail(t, "data.types must map column names to types");
    for (const auto& kv : t) {
      auto col = kv.first.as<std::string>();
      auto type = data::parse_type(p.choice(kv.second, "data.types." + col, {"number", "bool", "categorical", "string"}));
      d.types[col] = *type;
    }
  }
  if (node["missing"]) d.missing = missing_action(p, node["missing"], "data.missing");
  if (auto m = node["missing_by_column"]) {
    if (!m.IsMap()) p.fail(m, "data.missing_by_column must map column names to error, drop or impute");
    for (const auto& kv : m) {
      auto col = kv.first.as<std::string>();
      d.missing_by_column[col] = missing_action(p, kv.second, "data.missing_by_column." + col);
    }
  }
  if (node["na_values"]) d.na_values = p.list(node["na_values"], "data.na_values");
  if (node["max_categories"])
    d.max_categories = static_cast<std::size_t>(p.integer(node["max_categories"], "data.max_categories", 1, 100000));
  if (auto s = node["split"]) {
    p.keys(s, "data.split", {"train", "validation", "test", "seed"});
    bool has_train = static_cast<bool>(s["train"]);
    if (s["validation"]) d.split.validation = p.num(s["validation"], "data.split.validation", 0, 1);
    if (s["test"]) d.split.test = p.num(s["test"], "data.split.test", 0, 1);
    if (has_train)
      d.split.train = p.num(s["train"], "data.split.train", 0, 1);
    else
      d.split.train = 1 - d.split.validation - d.split.test;
    double sum = d.split.train + d.split.validation + d.split.test;
    if (std::abs(sum - 1) > 1e-6)
      p.fail(s, "data.split ratios add up to " + std::to_string(sum) + ", not 1",
             "e.g. train: 0.7, validation: 0.15, test: 0.15");
    if (s["seed"]) d.seed = static_cast<std::uint64_t>(p.integer(s["seed"], "data.split.seed", 0, (1LL << 53)));
  }
}

void parse_model(const Parser& p, const YAML::Node& node, TrainConfig& c) {
  p.keys(node, "model", {"type", "layers", "activation", "dropout"});
  auto& m = c.model;
  if (node["type"]) m.type = p.choice(node["type"], "model.type", {"mlp", "logistic", "linear"});
  if (auto l = node["layers"]) {
    if (!l.IsSequence()) p.fail(l, "model.layers must be a list of hidden layer widths, e.g. [64, 32]");
    m.layers.clear();
    for (const auto& e : l) m.layers.push_back(static_cast<int>(p.integer(e, "model.layers entry", 1, 1 << 20)));
  }
  if (node["activation"]) m.activation = p.choice(node["activation"], "model.activation", {"relu", "tanh", "gelu"});
  if (node["dropout"]) m.dropout = p.num(node["dropout"], "model.dropout", 0, 0.99);
  if (m.type != "mlp") {
    if (node["layers"] && !m.layers.empty())
      p.fail(node["layers"], "model.layers applies to mlp only (a " + m.type + " model has no hidden layers)");
    m.layers.clear();
  }
  if (m.type == "mlp" && m.layers.empty()) p.fail(node, "an mlp needs at least one hidden layer in model.layers");
  if (m.type == "logistic" && c.data.task != data::Task::classification)
    p.fail(node["type"], "model.type logistic is for classification", "use linear (or mlp) for regression");
  if (m.type == "linear" && c.data.task != data::Task::regression)
    p.fail(node["type"], "model.type linear is for regression", "use logistic (or mlp) for classification");
}

void parse_optimizer(const Parser& p, const YAML::Node& node, TrainConfig& c) {
  p.keys(node, "optimizer", {"type", "learning_rate", "momentum", "weight_decay"});
  auto& o = c.optimizer;
  if (node["type"]) o.type = p.choice(node["type"], "optimizer.type", {"adam", "sgd"});
  if (node["learning_rate"]) o.learning_rate = p.num(node["learning_rate"], "optimizer.learning_rate", 1e-12, 10);
  if (node["momentum"]) {
    o.momentum = p.num(node["momentum"], "optimizer.momentum", 0, 0.9999);
    if (o.type != "sgd") p.fail(node["momentum"], "optimizer.momentum applies to sgd only");
  }
  if (node["weight_decay"]) o.weight_decay = p.num(node["weight_decay"], "optimizer.weight_decay", 0, 1);
}

void parse_training(const Parser& p, const YAML::Node& node, TrainConfig& c) {
  p.keys(node, "training", {"epochs", "batch_size", "early_stopping", "threads"});
  if (node["epochs"]) c.epochs = static_cast<int>(p.integer(node["epochs"], "training.epochs", 1, 1000000));
  if (node["batch_size"])
    c.batch_size = static_cast<int>(p.integer(node["batch_size"], "training.batch_size", 1, 1 << 24));
  if (node["threads"]) c.threads = static_cast<int>(p.integer(node["threads"], "training.threads", 0, 1024));
  if (auto e = node["early_stopping"]) {
    p.keys(e, "training.early_stopping", {"metric", "patience", "mode", "min_delta"});
    EarlyStopping es;
    std::vector<std::string> metrics = {"train_loss", "val_loss"};
    if (c.data.task == data::Task::classification)
      metrics.push_back("val_accuracy");
    else
      metrics.insert(metrics.end(), {"val_rmse", "val_mae"});
    if (e["metric"]) es.metric = p.choice(e["metric"], "training.early_stopping.metric", metrics);
    if (e["patience"])
      es.patience = static_cast<int>(p.integer(e["patience"], "training.early_stopping.patience", 1, 1000000));
    es.mode = es.metric == "val_accuracy" ? "max" : "min";
    if (e["mode"]) es.mode = p.choice(e["mode"], "training.early_stopping.mode", {"min", "max"});
    if (e["min_delta"]) es.min_delta = p.num(e["min_delta"], "training.early_stopping.min_delta", 0, 1e9);
    if (es.metric != "train_loss" && c.data.split.validation <= 0)
      p.fail(e, "early stopping on " + es.metric + " needs a validation split",
             "set data.split.validation above 0, or stop on train_loss");
    c.early_stopping = es;
  }
}

}  // namespace

TrainConfig parse_config(const std::string& text, const fs::path& file, const DataDefaults& defaults,
                         const fs::path& cwd) {
  const std::string name = file.filename().string();
  Parser p(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": malformed YAML: " + e.msg);
  }
  if (!root || root.IsNull()) throw ConfigError(name + ": the file is empty", "see examples/configs/train-*.yaml");
  if (!root.IsMap()) throw ConfigError(name + ": expected a mapping at the top level");
  TrainConfig c;
  c.file = file;
  c.name = file.stem().string();
  p.keys(root, "", {"kind", "name", "description", "task", "seed", "data", "model", "optimizer", "training"});
  if (!root["kind"]) p.fail(root, "kind is missing", "training configs say kind: torch");
  auto kind = p.str(root["kind"], "kind");
  if (kind != "torch")
    p.fail(root["kind"], "kind is '" + kind + "', but this is the torch trainer", "training configs say kind: torch");
  if (root["name"]) c.name = p.str(root["name"], "name");
  if (root["seed"]) c.seed = static_cast<std::uint64_t>(p.integer(root["seed"], "seed", 0, (1LL << 53)));
  c.data.seed = c.seed;
  if (root["task"]) {
    auto task = p.choice(root["task"], "task", {"classification", "regression"});
    c.data.task = task == "classification" ? data::Task::classification : data::Task::regression;
  }
  if (!root["data"]) p.fail(root, "data is missing", "a training config needs data: with at least source and target");
  const fs::path base = file.has_parent_path() ? file.parent_path() : fs::path(".");
  parse_data(p, root["data"], c, base);
  if (root["model"]) parse_model(p, root["model"], c);
  if (c.data.task == data::Task::regression && !root["model"]) c.model = ModelSpec{};
  if (root["optimizer"]) parse_optimizer(p, root["optimizer"], c);
  if (root["training"]) parse_training(p, root["training"], c);

  // Environment beats the file; workspace defaults fill what the file leaves out.
  auto& src = c.data.source;
  if (defaults.loader && (defaults.loader_from_env || src.loader.empty())) {
    if (std::find(data::loader_names().begin(), data::loader_names().end(), *defaults.loader) ==
        data::loader_names().end())
      throw ConfigError(defaults.loader_origin + ": unknown data loader '" + *defaults.loader + "'",
                        "one of: " + util::join(data::loader_names(), ", "));
    src.loader = *defaults.loader;
  }
  if (defaults.source && (defaults.source_from_env || src.path.empty())) {
    fs::path s = *defaults.source;
    src.path = s.is_absolute() || cwd.empty() ? s : cwd / s;
  }
  if (src.path.empty())
    throw ConfigError(name + ": data.source is not set", "name the data file in data.source, or set DATA_SOURCE_PATH");
  if (src.loader.empty()) src.loader = data::loader_for_path(src.path);
  if (src.loader.empty())
    throw ConfigError(name + ": cannot tell the loader of " + src.path.filename().string() + " from its extension",
                      "set data.loader to one of: " + util::join(data::loader_names(), ", "));
  if (src.loader == "sqlite" && src.query.empty())
    throw ConfigError(name + ": the sqlite loader needs data.query", "e.g. query: SELECT * FROM samples");
  return c;
}

TrainConfig load_config(const fs::path& file, const DataDefaults& defaults, const fs::path& cwd) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw NotFoundError("config file " + file.string() + " does not exist");
  return parse_config(util::read_file(file), file, defaults, cwd);
}

nlohmann::json TrainConfig::canonical() const {
  nlohmann::json es = nullptr;
  if (early_stopping)
    es = {{"metric", early_stopping->metric},
          {"patience", early_stopping->patience},
          {"mode", early_stopping->mode},
          {"min_delta", early_stopping->min_delta}};
  return {{"kind", "torch"},
          {"name", name},
          {"data", data.canonical()},
          {"positive", positive},
          {"model",
           {{"type", model.type},
            {"layers", model.layers},
            {"activation", model.activation},
            {"dropout", model.dropout}}},
          {"optimizer",
           {{"type", optimizer.type},
            {"learning_rate", optimizer.learning_rate},
            {"momentum", optimizer.momentum},
            {"weight_decay", optimizer.weight_decay}}},
          {"training", {{"epochs", epochs}, {"batch_size", batch_size}, {"early_stopping", es}}},
          {"seed", seed}};
}

std::string TrainConfig::hash() const {
  return util::sha256_hex(canonical().dump());
}

std::vector<std::pair<std::string, std::string>> TrainConfig::params() const {
  std::vector<std::pair<std::string, std::string>> out;
  auto walk = [&](auto&& self, const nlohmann::json& j, const std::string& prefix) -> void {
    if (j.is_object() && !j.empty()) {
      for (const auto& [k, v] : j.items()) self(self, v, prefix.empty() ? k : prefix + "." + k);
      return;
    }
    out.emplace_back(prefix, j.is_string() ? j.get<std::string>() : j.dump());
  };
  walk(walk, canonical(), "");
  out.emplace_back("data.source", data.source.path.string());
  return out;
}

}  // namespace mlops::train
