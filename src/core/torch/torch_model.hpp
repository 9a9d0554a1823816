#pragma once
// TorchScript models in mlopsctl without linking libtorch: the
// mlopsctl-torch-model.so plugin (C ABI in model_abi.h) is dlopen'ed on first
// use. This is what `model predict` and `serve` call for torch models.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace mlops::torch {

inline constexpr const char* k_model_plugin_name = "mlopsctl-torch-model.so";

// Finds the plugin: `configured` (torch.model_plugin / MLOPS_TORCH_MODEL_PLUGIN)
// if given, else beside the running binary, else ../lib/mlopsctl/. Throws
// RuntimeError listing where it looked and how to build it.
std::filesystem::path locate_model_plugin(const std::optional<std::string>& configured);

class ModelPlugin;

// One loaded model. Cheap to share; predict may run on several threads.
class TorchModel {
 public:
  // Loads `model` (a TorchScript file) and, when given, the preprocess.json
  // written by training. Throws RuntimeError (plugin missing, ABI mismatch,
  // model unreadable) naming the file.
  static TorchModel load(const std::filesystem::path& plugin, const std::filesystem::path& model,
                         const std::optional<std::filesystem::path>& preprocess);
  // A run directory of `experiment run`: DIR/model.pt + DIR/preprocess.json.
  static TorchModel load_dir(const std::filesystem::path& plugin, const std::filesystem::path& dir);

  // Predicts for the input documented in model_abi.h. Throws UsageError for
  // input the model cannot take (a server's 400) and RuntimeError when the
  // model fails (a 500).
  nlohmann::json predict(const nlohmann::json& input) const;
  // {"task", "inputs", "features", "classes", ...} from the plugin.
  nlohmann::json info() const;

 private:
  struct Handle;
  std::shared_ptr<Handle> handle_;
};

}  // namespace mlops::torch
