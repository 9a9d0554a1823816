#include "script_export.hpp"

#include <cstdio>
#include <stdexcept>

namespace mlops::torch_helper {

torch::jit::Module build_script_module(const ScriptSpec& spec) {
  if (spec.layers.empty()) throw std::runtime_error("a model needs at least one layer");
  torch::jit::Module m(c10::QualifiedName("__torch__.mlopsctl.Model"));
  std::string body = "def forward(self, x):\n";
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const auto n = std::to_string(i);
    m.register_parameter("w" + n, spec.layers[i].weight.detach().clone().to(at::kFloat), false);
    m.register_parameter("b" + n, spec.layers[i].bias.detach().clone().to(at::kFloat), false);
    std::string affine = "torch.matmul(x, self.w" + n + ".t()) + self.b" + n;
    if (i + 1 < spec.layers.size())
      body += "    x = torch." + spec.activation + "(" + affine + ")\n";
    else
      body += "    x = " + affine + "\n";
  }
  if (spec.output == "softmax") {
    body += "    return torch.softmax(x, 1)\n";
  } else if (spec.output == "scale") {
    m.register_buffer("y_mean", at::tensor(static_cast<float>(spec.y_mean)));
    m.register_buffer("y_std", at::tensor(static_cast<float>(spec.y_std)));
    body += "    return x * self.y_std + self.y_mean\n";
  } else if (spec.output == "identity") {
    body += "    return x\n";
  } else {
    throw std::runtime_error("unknown output '" + spec.output + "'");
  }
  m.define(body);
  m.eval();
  return m;
}

void save_atomically(torch::jit::Module& module, const std::string& path) {
  const std::string tmp = path + ".tmp";
  module.save(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

}  // namespace mlops::torch_helper
