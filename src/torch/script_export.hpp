#pragma once
// Builds TorchScript modules from plain weights, with no Python: parameters are
// registered on a torch::jit::Module and `forward` is defined from TorchScript
// source. The saved file loads with torch::jit::load (C++) or torch.jit.load.
//
// forward(x: float32 [N, inputs]) -> float32 [N, outputs]:
//   hidden layers  x = act(x @ W.T + b)
//   output layer   x = x @ W.T + b
//   "softmax"      class probabilities, softmax over dim 1
//   "scale"        regression in target units: x * y_std + y_mean
//   "identity"     x as it is
#include <torch/script.h>

#include <string>
#include <vector>

namespace mlops::torch_helper {

struct Dense {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]
};

struct ScriptSpec {
  std::vector<Dense> layers;      // the last one is the output layer
  std::string activation = "relu";  // relu | tanh | gelu, between layers
  std::string output = "identity";  // identity | softmax | scale
  double y_mean = 0, y_std = 1;     // "scale" only
};

torch::jit::Module build_script_module(const ScriptSpec& spec);
// Saves to `path` through a temporary file and a rename.
void save_atomically(torch::jit::Module& module, const std::string& path);

}  // namespace mlops::torch_helper
