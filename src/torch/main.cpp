// mlopsctl-torch: the helper executable that links libtorch, so mlopsctl itself
// never pays libtorch's start-up cost. One request per run: argv[1] names the
// command, stdin carries a JSON request, stdout the JSON reply (`train` streams
// one JSON line per event instead, see train.cpp).
//
//   info    versions and threads
//   train   trains a model from a tensor file mlopsctl wrote
//   script  saves a TorchScript model from given weights: {"path", "layers":
//           [{"weight": [[...]], "bias": [...]}], "activation", "output",
//           "y_mean", "y_std"} (tests and TorchScript import make models with it)
#include <sys/prctl.h>
#include <torch/torch.h>

#include <csignal>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "script_export.hpp"
#include "train.hpp"

namespace {

constexpr int k_protocol_version = 1;

nlohmann::json info() {
  return {{"protocol", k_protocol_version},      {"torch_version", TORCH_VERSION},
          {"threads", at::get_num_threads()},    {"cuda_available", torch::cuda::is_available()},
          {"mkldnn_available", at::hasMKLDNN()}, {"tensor_check", torch::ones({2, 2}).sum().item<double>()}};
}

at::Tensor tensor_from(const nlohmann::json& j) {
  if (j.is_array() && !j.empty() && j[0].is_array()) {
    auto rows = j.get<std::vector<std::vector<float>>>();
    auto t = torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].size() != rows[0].size()) throw std::runtime_error("ragged weight matrix");
      for (std::size_t c = 0; c < rows[r].size(); ++c)
        t[static_cast<int64_t>(r)][static_cast<int64_t>(c)] = rows[r][c];
    }
    return t;
  }
  auto v = j.get<std::vector<float>>();
  return torch::tensor(v);
}

nlohmann::json script(const nlohmann::json& req) {
  mlops::torch_helper::ScriptSpec spec;
  for (const auto& l : req.at("layers")) spec.layers.push_back({tensor_from(l.at("weight")), tensor_from(l.at("bias"))});
  spec.activation = req.value("activation", "relu");
  spec.output = req.value("output", "identity");
  spec.y_mean = req.value("y_mean", 0.0);
  spec.y_std = req.value("y_std", 1.0);
  auto m = mlops::torch_helper::build_script_module(spec);
  auto path = req.at("path").get<std::string>();
  mlops::torch_helper::save_atomically(m, path);
  return {{"protocol", k_protocol_version}, {"path", path}};
}

std::string message(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

int main(int argc, char** argv) {
  // Die with mlopsctl: a training child must not outlive a killed parent.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string command = argc > 1 ? argv[1] : "";
  try {
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto request = input.empty() ? nlohmann::json::object() : nlohmann::json::parse(input);
    if (command == "info") {
      std::cout << info().dump() << "\n";
      return 0;
    }
    if (command == "train") {
      mlops::torch_helper::train(request);
      return 0;
    }
    if (command == "script") {
      std::cout << script(request).dump() << "\n";
      return 0;
    }
    std::cout << nlohmann::json{{"protocol", k_protocol_version}, {"error", "unknown command '" + command + "'"}}.dump()
              << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cout << nlohmann::json{{"protocol", k_protocol_version}, {"event", "error"}, {"error", message(e)}}.dump()
              << std::endl;
    return 3;
  }
}
