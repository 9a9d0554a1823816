// mlopsctl-torch: the helper executable that links libtorch, so mlopsctl itself
// never pays libtorch's start-up cost. One request per run: argv[1] names the
// command, stdin carries a JSON request, stdout the JSON reply.
#include <torch/torch.h>

#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

namespace {

constexpr int k_protocol_version = 1;

nlohmann::json info() {
  return {{"protocol", k_protocol_version},      {"torch_version", TORCH_VERSION},
          {"threads", at::get_num_threads()},    {"cuda_available", torch::cuda::is_available()},
          {"mkldnn_available", at::hasMKLDNN()}, {"tensor_check", torch::ones({2, 2}).sum().item<double>()}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  try {
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto request = input.empty() ? nlohmann::json::object() : nlohmann::json::parse(input);
    (void)request;
    if (command == "info") {
      std::cout << info().dump() << "\n";
      return 0;
    }
    std::cout << nlohmann::json{{"protocol", k_protocol_version}, {"error", "unknown command '" + command + "'"}}.dump()
              << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cout << nlohmann::json{{"protocol", k_protocol_version}, {"error", e.what()}}.dump() << "\n";
    return 3;
  }
}
