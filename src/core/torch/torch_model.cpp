#include "torch/torch_model.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "data/preprocess.hpp"
#include "torch/model_abi.h"
#include "util/error.hpp"
#include "util/process.hpp"

namespace mlops::torch {

namespace fs = std::filesystem;

fs::path locate_model_plugin(const std::optional<std::string>& configured) {
  if (configured && !configured->empty()) {
    fs::path p(*configured);
    if (::access(p.c_str(), R_OK) == 0) return p;
    throw RuntimeError("torch model plugin " + p.string() + " (from torch.model_plugin / MLOPS_TORCH_MODEL_PLUGIN) "
                       "cannot be read",
                       "point torch.model_plugin at a built mlopsctl-torch-model.so, or unset it");
  }
  auto dir = util::self_dir();
  std::vector<fs::path> tried = {dir / k_model_plugin_name, dir.parent_path() / "lib" / "mlopsctl" / k_model_plugin_name};
  for (const auto& p : tried)
    if (::access(p.c_str(), R_OK) == 0) return p;
  throw RuntimeError("this command needs the torch model plugin " + std::string(k_model_plugin_name) +
                         ", not found (looked in " + tried[0].string() + ", " + tried[1].string() + ")",
                     "build it with 'cmake -DMLOPS_WITH_TORCH=ON' (needs libtorch-dev), or set "
                     "MLOPS_TORCH_MODEL_PLUGIN");
}

// The dlopen'ed plugin: opened once per path for the process, never closed
// (unloading libtorch at exit is unsafe).
class ModelPlugin {
 public:
  decltype(&mlops_torch_model_load) load = nullptr;
  decltype(&mlops_torch_model_predict) predict = nullptr;
  decltype(&mlops_torch_model_forward) forward = nullptr;
  decltype(&mlops_torch_model_free_floats) free_floats = nullptr;
  decltype(&mlops_torch_model_info) info = nullptr;
  decltype(&mlops_torch_model_free_string) free_string = nullptr;
  decltype(&mlops_torch_model_free) free = nullptr;

  static const ModelPlugin& open(const fs::path& path) {
    static std::mutex mu;
    static std::vector<std::pair<fs::path, std::unique_ptr<ModelPlugin>>> opened;
    std::lock_guard lock(mu);
    for (const auto& [p, plugin] : opened)
      if (p == path) return *plugin;
    void* so = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!so) throw RuntimeError(std::string("cannot load the torch model plugin: ") + ::dlerror());
    auto sym = [&](const char* name) {
      void* f = ::dlsym(so, name);
      if (!f) throw RuntimeError(path.string() + " lacks " + name, "rebuild mlopsctl-torch-model with this mlopsctl");
      return f;
    };
    auto version = reinterpret_cast<decltype(&mlops_torch_model_abi_version)>(sym("mlops_torch_model_abi_version"));
    if (version() != MLOPS_TORCH_MODEL_ABI_VERSION)
      throw RuntimeError(path.string() + " speaks ABI " + std::to_string(version()) + ", this mlopsctl needs " +
                             std::to_string(MLOPS_TORCH_MODEL_ABI_VERSION),
                         "install mlopsctl and mlopsctl-torch-model.so from the same build");
    auto p = std::make_unique<ModelPlugin>();
    p->load = reinterpret_cast<decltype(p->load)>(sym("mlops_torch_model_load"));
    p->predict = reinterpret_cast<decltype(p->predict)>(sym("mlops_torch_model_predict"));
    p->forward = reinterpret_cast<decltype(p->forward)>(sym("mlops_torch_model_forward"));
    p->free_floats = reinterpret_cast<decltype(p->free_floats)>(sym("mlops_torch_model_free_floats"));
    p->info = reinterpret_cast<decltype(p->info)>(sym("mlops_torch_model_info"));
    p->free_string = reinterpret_cast<decltype(p->free_string)>(sym("mlops_torch_model_free_string"));
    p->free = reinterpret_cast<decltype(p->free)>(sym("mlops_torch_model_free"));
    opened.emplace_back(path, std::move(p));
    return *opened.back().second;
  }
};

struct TorchModel::Handle {
  const ModelPlugin* plugin = nullptr;
  mlops_torch_model* model = nullptr;
  // The model's preprocess.json, when it has one: rows are encoded and decoded
  // here and only floats cross the ABI (mlops_torch_model_forward).
  std::optional<data::Preprocessor> preprocess;
  ~Handle() {
    if (model) plugin->free(model);
  }
  std::string take(char* s) const {
    std::string out = s ? s : "";
    plugin->free_string(s);
    return out;
  }
};

TorchModel TorchModel::load(const fs::path& plugin, const fs::path& model, const std::optional<fs::path>& preprocess) {
  std::error_code ec;
  if (!fs::exists(model, ec)) throw NotFoundError("model file " + model.string() + " does not exist");
  if (preprocess && !fs::exists(*preprocess, ec))
    throw NotFoundError("preprocessing file " + preprocess->string() + " does not exist");
  TorchModel m;
  m.handle_ = std::make_shared<Handle>();
  m.handle_->plugin = &ModelPlugin::open(plugin);
  char* error = nullptr;
  m.handle_->model = m.handle_->plugin->load(model.c_str(), preprocess ? preprocess->c_str() : nullptr, &error);
  if (!m.handle_->model)
    throw RuntimeError("cannot load the TorchScript model " + model.string() + ": " + m.handle_->take(error),
                       "the file must be saved with torch.jit.save (or by 'mlopsctl experiment run')");
  if (preprocess) {
    // The plugin has just read the same file; it cannot fail here but for a race.
    std::ifstream in(*preprocess);
    std::stringstream text;
    text << in.rdbuf();
    try {
      m.handle_->preprocess = data::Preprocessor::from_json(nlohmann::json::parse(text.str()));
    } catch (const nlohmann::json::exception& e) {
      throw RuntimeError("cannot read " + preprocess->string() + ": " + e.what());
    }
  }
  return m;
}

TorchModel TorchModel::load_dir(const fs::path& plugin, const fs::path& dir) {
  return load(plugin, dir / "model.pt", dir / "preprocess.json");
}

nlohmann::json TorchModel::predict(const nlohmann::json& input) const {
  if (const auto& pre = handle_->preprocess) {
    std::size_t count = 0;
    std::vector<float> x = pre->encode_json(input, count);  // UsageError for input the model cannot take
    if (count == 0) return nlohmann::json::array();
    float* y = nullptr;
    std::size_t per_row = 0;
    char* error = nullptr;
    int rc = handle_->plugin->forward(handle_->model, x.data(), count, pre->width(), &y, &per_row, &error);
    if (rc != MLOPS_TORCH_MODEL_OK) {
      std::string text = handle_->take(error);
      if (rc == MLOPS_TORCH_MODEL_BAD_INPUT) throw UsageError(text);
      throw RuntimeError("the model failed: " + text);
    }
    std::unique_ptr<float, decltype(handle_->plugin->free_floats)> owned(y, handle_->plugin->free_floats);
    return pre->decode(y, count, per_row);
  }
  char* out = nullptr;
  int rc = handle_->plugin->predict(handle_->model, input.dump().c_str(), &out);
  std::string text = handle_->take(out);
  if (rc == MLOPS_TORCH_MODEL_BAD_INPUT) throw UsageError(text);
  if (rc != MLOPS_TORCH_MODEL_OK) throw RuntimeError("the model failed: " + text);
  return nlohmann::json::parse(text);
}

nlohmann::json TorchModel::info() const {
  return nlohmann::json::parse(handle_->take(handle_->plugin->info(handle_->model)));
}

}  // namespace mlops::torch
