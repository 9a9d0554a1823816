#pragma once
// One prediction interface for every kind of registered model (torch,
// TorchScript, LLM), so `model predict` and `serve` never care which it is.
// Loaders are pluggable: a kind maps to a factory, and the torch kinds are added
// by the torch bridge without the mlopsctl binary linking libtorch.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/registry.hpp"
#include "trace/trace.hpp"
#include "util/error.hpp"
#include "workspace/workspace.hpp"

namespace mlops::model {

// The caller's input is malformed or wrongly shaped: serve answers 400 with the
// message, `model predict` exits 2 naming the input line.
struct InputError : UsageError {
  explicit InputError(std::string m, std::string h = {}) : UsageError(std::move(m), std::move(h)) {}
};

struct ModelInfo {
  std::string name;
  int version = 0;
  std::string kind;
  std::vector<std::string> aliases;
  // Input fields each instance must or may carry (empty when the model does not say).
  std::vector<std::string> required_inputs;
  std::vector<std::string> optional_inputs;
  nlohmann::json extra = nlohmann::json::object();  // kind-specific facts for /v1/models
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;
  // Predicts a batch. `instances` is a JSON array (one element per input, most
  // often an object of named fields); the result is an array of the same length,
  // element i the prediction for instance i. Throws InputError for input it
  // cannot take (naming the instance index and field), RuntimeError when the
  // backend fails. Safe to call from several threads at once.
  virtual nlohmann::json predict(const nlohmann::json& instances) = 0;
};

// What a loader gets: the registry entry, where its artifact is on disk (the
// object store path; empty for artifact-less kinds such as llm) and the workspace.
struct LoadContext {
  workspace::Workspace& ws;
  trace::Tracer& tracer;
  registry::ModelVersion version;
  std::filesystem::path artifact_path;
};

using Factory = std::function<std::unique_ptr<Model>(const LoadContext&)>;

class Loaders {
 public:
  void add(const std::string& kind, Factory factory) { factories_[kind] = std::move(factory); }
  bool has(const std::string& kind) const { return factories_.count(kind) != 0; }
  std::vector<std::string> kinds() const;
  // RuntimeError naming the kind and the kinds there are when none is registered.
  std::unique_ptr<Model> load(const LoadContext& ctx) const;

 private:
  std::map<std::string, Factory> factories_;
};

// The process-wide loaders, with the built-in kinds (llm) registered. Other
// modules add theirs (torch, torchscript) with loaders().add(...).
Loaders& loaders();

// Resolves `ref` (NAME@ALIAS, NAME/V, NAME) in the registry and loads it.
std::unique_ptr<Model> load(workspace::Workspace& ws, trace::Tracer& tracer, const std::string& ref);

// The LLM model: renders the version's pinned prompt with each instance's fields
// as variables and sends it to the version's provider through the llm module.
std::unique_ptr<Model> load_llm_model(const LoadContext& ctx);

// The torch kinds (torch: trained by `experiment run`, objects of named
// features in; torchscript: a registered TorchScript file, rows of numbers in),
// run by the mlopsctl-torch-model plugin, dlopen'ed on first use.
std::unique_ptr<Model> load_torch_model(const LoadContext& ctx);

}  // namespace mlops::model
