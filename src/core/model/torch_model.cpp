// The torch kinds: a model trained by `experiment run` (kind torch: model.pt
// with the run's preprocess.json, so instances are objects of named features)
// and a TorchScript file registered with --file (kind torchscript: instances
// are rows of numbers, the model's float32 input). Both run in the
// mlopsctl-torch-model plugin, which is dlopen'ed here on first use; the
// mlopsctl binary never links libtorch.
#include <optional>

#include "model/model.hpp"
#include "runs/runs.hpp"
#include "torch/torch_model.hpp"

namespace mlops::model {

namespace {

using nlohmann::json;

std::optional<std::string> plugin_setting(workspace::Workspace& ws) {
  if (auto v = ws.env()("MLOPS_TORCH_MODEL_PLUGIN"); v && !v->empty()) return v;
  if (auto v = ws.config().get("torch.model_plugin"); v && !v->value.empty()) return v->value;
  return std::nullopt;
}

// The preprocess.json stored with the run that made the model, when there is one.
std::optional<std::filesystem::path> run_preprocess(const LoadContext& ctx) {
  if (ctx.version.kind != "torch" || !ctx.version.run_id) return std::nullopt;
  runs::Runs runs(ctx.ws.db());
  for (const auto& a : runs.detail(*ctx.version.run_id).artifacts)
    if (a.name == "preprocess.json") {
      if (!ctx.ws.objects().contains(a.sha256))
        throw RuntimeError("the artifact preprocess.json (" + a.sha256 + ") of run " + *ctx.version.run_id +
                               " is missing from the object store",
                           "run 'mlopsctl doctor' to check the workspace");
      return ctx.ws.objects().path_of(a.sha256);
    }
  return std::nullopt;
}

class TorchKindModel : public Model {
 public:
  explicit TorchKindModel(const LoadContext& ctx)
      : model_(torch::TorchModel::load(torch::locate_model_plugin(plugin_setting(ctx.ws)), ctx.artifact_path,
                                       run_preprocess(ctx))) {
    info_.name = ctx.version.name;
    info_.version = ctx.version.version;
    info_.kind = ctx.version.kind;
    info_.aliases = ctx.version.aliases;
    auto j = model_.info();
    if (j.contains("features") && j["features"].is_array())
      for (const auto& f : j["features"]) info_.required_inputs.push_back(f.get<std::string>());
    info_.extra = json::object();
    for (const char* k : {"task", "target", "classes", "torch_version"})
      if (j.contains(k)) info_.extra[k] = j[k];
    info_.extra["input"] = j["preprocess"].is_null() ? "rows of numbers" : "objects of named features";
  }

  const ModelInfo& info() const override { return info_; }

  json predict(const json& instances) override {
    if (!instances.is_array()) throw InputError("instances must be a JSON array");
    try {
      return model_.predict(instances);
    } catch (const InputError&) {
      throw;
    } catch (const UsageError& e) {
      throw InputError(e.what(), e.hint());
    }
  }

 private:
  torch::TorchModel model_;
  ModelInfo info_;
};

}  // namespace

std::unique_ptr<Model> load_torch_model(const LoadContext& ctx) {
  return std::make_unique<TorchKindModel>(ctx);
}

}  // namespace mlops::model
