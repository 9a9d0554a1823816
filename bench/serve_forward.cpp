// mlops-serve-forward: the in-process cost of one prediction for `serve`, with
// no socket, for bench/run-serve. Loads the model the way the server does,
// through the mlopsctl-torch-model plugin (torch::TorchModel, dlopen'ed; this
// program does not link libtorch), and times, for one request body:
//
//   predict   TorchModel::predict([row]): JSON to text, the plugin's parse,
//             encoding, forward, decoding and JSON back; the model call of
//             serve's handler
//   handle    serve::Service::handle(POST /predict): the whole handler, body
//             parse to response text, metrics included, without HTTP
//
//   mlops-serve-forward --plugin SO --model model.pt --preprocess preprocess.json
//                       --body body.json [--calls N] [--warmup W]
//
// Prints one JSON object per path (see latency_stats.hpp) and the prediction
// for the body as {"key": "prediction", ...}, so the caller can check that it
// matches the server's.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "latency_stats.hpp"
#include "model/model.hpp"
#include "serve/service.hpp"
#include "torch/torch_model.hpp"

namespace {

using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What serve's torch kind does around TorchModel (model/torch_model.cpp), minus
// the registry lookup.
class BenchModel : public mlops::model::Model {
 public:
  explicit BenchModel(mlops::torch::TorchModel m) : model_(std::move(m)) {
    info_.name = "bench";
    info_.version = 1;
    info_.kind = "torch";
  }
  const mlops::model::ModelInfo& info() const override { return info_; }
  json predict(const json& instances) override { return model_.predict(instances); }

 private:
  mlops::torch::TorchModel model_;
  mlops::model::ModelInfo info_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string plugin, model, preprocess, body_path;
  std::size_t calls = 20000, warmup = 1000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "mlops-serve-forward: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--plugin") plugin = next();
    else if (a == "--model") model = next();
    else if (a == "--preprocess") preprocess = next();
    else if (a == "--body") body_path = next();
    else if (a == "--calls") calls = std::stoul(next());
    else if (a == "--warmup") warmup = std::stoul(next());
    else {
      std::cerr << "usage: mlops-serve-forward --plugin SO --model model.pt --preprocess preprocess.json "
                   "--body body.json [--calls N] [--warmup W]\n";
      return 2;
    }
  }
  if (plugin.empty() || model.empty() || preprocess.empty() || body_path.empty() || calls == 0) {
    std::cerr << "mlops-serve-forward: --plugin, --model, --preprocess and --body are required\n";
    return 2;
  }
  try {
    const std::string body = read_file(body_path);
    auto tm = mlops::torch::TorchModel::load(plugin, model, preprocess);
    const json instances = json::array({json::parse(body)});
    std::cout << json{{"key", "prediction"}, {"prediction", tm.predict(instances)[0]}}.dump() << "\n";

    auto r = mlops::bench::time_calls(calls, warmup, [&] {
      json out = tm.predict(instances);
      if (!out.is_array() || out.size() != 1) throw std::runtime_error("predict returned no row");
    });
    mlops::bench::print_report("predict", "TorchModel::predict, one row", r);

    mlops::serve::ServiceOptions opt;
    opt.model_ref = "bench@production";
    opt.poll_interval = std::chrono::milliseconds(0);
    opt.http.port = 0;  // start() binds; nothing connects
    mlops::serve::Service service(
        opt, [&](const std::string&) { return std::make_shared<BenchModel>(tm); }, {});
    service.start();
    mlops::serve::HttpRequest q;
    q.method = "POST";
    q.path = "/predict";
    q.version = "HTTP/1.1";
    q.headers["content-type"] = "application/json";
    q.body = body;
    r = mlops::bench::time_calls(calls, warmup, [&] {
      auto resp = service.handle(q);
      if (resp.status != 200) throw std::runtime_error("handle answered " + std::to_string(resp.status) + ": " + resp.body);
    });
    mlops::bench::print_report("handle", "serve::Service::handle, POST /predict, no socket", r);
  } catch (const std::exception& e) {
    std::cerr << "mlops-serve-forward: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
