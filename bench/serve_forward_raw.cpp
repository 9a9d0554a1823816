// mlops-serve-forward-raw: the bare tensor math of one prediction, for
// bench/run-serve. Links libtorch directly (a bench-only target; mlopsctl never
// does). Encodes the request body once with the run's preprocess.json (the
// plugin's encoding, data/preprocess.hpp), then times
//
//   forward          module.forward on the pre-encoded 1 x W float tensor under
//                    c10::InferenceMode, output made contiguous float and read:
//                    no JSON at all; LibTorch's default intra-op threads
//   forward_1thread  the same after at::set_num_threads(1)
//
//   mlops-serve-forward-raw --model model.pt --preprocess preprocess.json
//                           --body body.json [--calls N] [--warmup W]
//
// Prints one JSON object per path (see latency_stats.hpp), and first
// {"key": "output", "values": [...]}: the model's output for the body.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/preprocess.hpp"
#include "latency_stats.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, preprocess_path, body_path;
  std::size_t calls = 20000, warmup = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "mlops-serve-forward-raw: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model_path = next();
    else if (a == "--preprocess") preprocess_path = next();
    else if (a == "--body") body_path = next();
    else if (a == "--calls") calls = std::stoul(next());
    else if (a == "--warmup") warmup = std::stoul(next());
    else {
      std::cerr << "usage: mlops-serve-forward-raw --model model.pt --preprocess preprocess.json --body body.json "
                   "[--calls N] [--warmup W]\n";
      return 2;
    }
  }
  if (model_path.empty() || preprocess_path.empty() || body_path.empty() || calls == 0) {
    std::cerr << "mlops-serve-forward-raw: --model, --preprocess and --body are required\n";
    return 2;
  }
  try {
    auto pre = mlops::data::Preprocessor::from_json(nlohmann::json::parse(read_file(preprocess_path)));
    std::size_t count = 0;
    std::vector<float> encoded = pre.encode_json(nlohmann::json::parse(read_file(body_path)), count);
    at::Tensor x = torch::from_blob(encoded.data(), {static_cast<int64_t>(count), static_cast<int64_t>(pre.width())},
                                    at::kFloat)
                       .clone();
    torch::jit::Module module = torch::jit::load(model_path);
    module.eval();
    volatile float sink = 0;  // keeps the output read
    auto forward = [&] {
      c10::InferenceMode guard;
      at::Tensor y = module.forward({x}).toTensor().to(at::kFloat).contiguous();
      sink = sink + y.data_ptr<float>()[0];
    };
    {
      c10::InferenceMode guard;
      at::Tensor y = module.forward({x}).toTensor().to(at::kFloat).contiguous();
      nlohmann::json values = std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
      std::cout << nlohmann::json{{"key", "output"}, {"values", values}, {"intra_op_threads", at::get_num_threads()}}
                       .dump()
                << "\n";
    }
    auto r = mlops::bench::time_calls(calls, warmup, forward);
    mlops::bench::print_report("forward", "libtorch forward, pre-encoded tensor, default threads", r);
    at::set_num_threads(1);
    r = mlops::bench::time_calls(calls, warmup, forward);
    mlops::bench::print_report("forward_1thread", "libtorch forward, pre-encoded tensor, 1 intra-op thread", r);
  } catch (const std::exception& e) {
    std::cerr << "mlops-serve-forward-raw: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
