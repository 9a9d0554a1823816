// Training inside the helper. Events, one JSON object per stdout line:
//   {"event": "start", "resumed_from": E, "parameters": P, "threads": T}
//   {"event": "epoch", "epoch", "train_loss", "val_loss", "val_accuracy" | "val_rmse", "val_mae",
//    "epoch_seconds", "data_seconds", "improved", "checkpoint"}
//   {"event": "end", "epochs_run", "best_epoch", "stopped_early", "model", "test_outputs": [[...], ...]}
// Checkpoints in request.dir: epoch-NNNNNN.pt (model, optimizer and loop state
// in one archive; only the newest is kept) and best.pt (the best weights).
// Every file is written under a temporary name and renamed.
#include "train.hpp"

#include <torch/torch.h>

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "script_export.hpp"

namespace mlops::torch_helper {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct SplitTensors {
  at::Tensor x, y;
  int64_t rows = 0;
};

struct Tensors {
  int64_t inputs = 0;
  SplitTensors train, validation, test;
};

Tensors read_tensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open tensor file " + path);
  std::string magic, header;
  std::getline(in, magic);
  if (magic != "MLOPSTENSORS/1") throw std::runtime_error(path + " is not an mlopsctl tensor file");
  std::getline(in, header);
  auto h = nlohmann::json::parse(header);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Tensors t;
  t.inputs = h.at("inputs").get<int64_t>();
  for (const auto& s : h.at("splits")) {
    SplitTensors st;
    st.rows = s.at("rows").get<int64_t>();
    auto x_off = s.at("x").get<std::size_t>(), y_off = s.at("y").get<std::size_t>();
    if (y_off + static_cast<std::size_t>(st.rows) * sizeof(float) > body.size())
      throw std::runtime_error(path + " is truncated");
    st.x = torch::from_blob(body.data() + x_off, {st.rows, t.inputs}, at::kFloat).clone();
    st.y = torch::from_blob(body.data() + y_off, {st.rows}, at::kFloat).clone();
    auto name = s.at("name").get<std::string>();
    (name == "train" ? t.train : name == "validation" ? t.validation : t.test) = st;
  }
  return t;
}

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t inputs, const std::vector<int64_t>& hidden, int64_t outputs, std::string activation, double dropout)
      : activation(std::move(activation)), dropout(dropout) {
    int64_t in = inputs;
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      layers.push_back(register_module("l" + std::to_string(i), torch::nn::Linear(in, hidden[i])));
      in = hidden[i];
    }
    layers.push_back(register_module("l" + std::to_string(hidden.size()), torch::nn::Linear(in, outputs)));
  }
  at::Tensor forward(at::Tensor x) {
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
      x = layers[i]->forward(x);
      x = activation == "tanh" ? torch::tanh(x) : activation == "gelu" ? torch::gelu(x) : torch::relu(x);
      if (dropout > 0) x = torch::dropout(x, dropout, is_training());
    }
    return layers.back()->forward(x);
  }
  std::vector<torch::nn::Linear> layers;
  std::string activation;
  double dropout;
};
TORCH_MODULE(Net);

std::string checkpoint_name(int epoch) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "epoch-%06d.pt", epoch);
  return buf;
}

void emit(const nlohmann::json& j) {
  std::cout << j.dump() << std::endl;
}

struct LoopState {
  int epoch = 0;  // last finished epoch
  double best = std::numeric_limits<double>::quiet_NaN();
  int best_epoch = 0;
  int bad_epochs = 0;
};

void save_checkpoint(const fs::path& dir, int epoch, Net& net, torch::optim::Optimizer& opt, const LoopState& s) {
  torch::serialize::OutputArchive archive, model_ar, opt_ar;
  net->save(model_ar);
  opt.save(opt_ar);
  archive.write("model", model_ar);
  archive.write("optimizer", opt_ar);
  archive.write("state", torch::tensor({static_cast<double>(s.epoch), s.best, static_cast<double>(s.best_epoch),
                                        static_cast<double>(s.bad_epochs)},
                                       at::kDouble));
  const fs::path path = dir / checkpoint_name(epoch);
  archive.save_to((path.string() + ".tmp"));
  fs::rename(path.string() + ".tmp", path);
  if (epoch > 1) {
    std::error_code ec;
    fs::remove(dir / checkpoint_name(epoch - 1), ec);
  }
}

LoopState load_checkpoint(const std::string& path, Net& net, torch::optim::Optimizer& opt) {
  torch::serialize::InputArchive archive, model_ar, opt_ar;
  archive.load_from(path);
  archive.read("model", model_ar);
  archive.read("optimizer", opt_ar);
  net->load(model_ar);
  opt.load(opt_ar);
  at::Tensor state;
  archive.read("state", state);
  auto a = state.accessor<double, 1>();
  LoopState s;
  s.epoch = static_cast<int>(a[0]);
  s.best = a[1];
  s.best_epoch = static_cast<int>(a[2]);
  s.bad_epochs = static_cast<int>(a[3]);
  return s;
}

void save_weights(const fs::path& path, Net& net) {
  torch::serialize::OutputArchive ar;
  net->save(ar);
  ar.save_to(path.string() + ".tmp");
  fs::rename(path.string() + ".tmp", path);
}

void load_weights(const fs::path& path, Net& net) {
  torch::serialize::InputArchive ar;
  ar.load_from(path.string());
  net->load(ar);
}

}  // namespace

void train(const nlohmann::json& req) {
  const fs::path dir = req.at("dir").get<std::string>();
  const bool classification = req.at("task").get<std::string>() == "classification";
  const int64_t outputs = req.at("outputs").get<int64_t>();
  const auto& model = req.at("model");
  const auto& optj = req.at("optimizer");
  const int epochs = req.at("epochs").get<int>();
  const int64_t batch = req.at("batch_size").get<int64_t>();
  const auto seed = req.at("seed").get<uint64_t>();
  const double y_mean = req.at("target_scaling").at("mean").get<double>();
  const double y_std = req.at("target_scaling").at("std").get<double>();
  if (int threads = req.value("threads", 0); threads > 0) at::set_num_threads(threads);

  Tensors data = read_tensors(req.at("data").get<std::string>());
  if (data.train.rows == 0) throw std::runtime_error("the training split is empty");
  torch::manual_seed(seed);
  std::vector<int64_t> hidden;
  if (model.at("type").get<std::string>() == "mlp") hidden = model.at("layers").get<std::vector<int64_t>>();
  Net net(data.inputs, hidden, outputs, model.at("activation").get<std::string>(), model.at("dropout").get<double>());

  std::unique_ptr<torch::optim::Optimizer> opt;
  const double lr = optj.at("learning_rate").get<double>(), wd = optj.at("weight_decay").get<double>();
  if (optj.at("type").get<std::string>() == "sgd")
    opt = std::make_unique<torch::optim::SGD>(
        net->parameters(), torch::optim::SGDOptions(lr).momentum(optj.at("momentum").get<double>()).weight_decay(wd));
  else
    opt = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(lr).weight_decay(wd));

  const auto& es = req.at("early_stopping");
  const bool early = es.is_object();
  const std::string metric = early ? es.at("metric").get<std::string>() : "val_loss";
  const bool maximise = early && es.at("mode").get<std::string>() == "max";
  const int patience = early ? es.at("patience").get<int>() : 0;
  const double min_delta = early ? es.at("min_delta").get<double>() : 0;
  const bool has_validation = data.validation.rows > 0;

  LoopState state;
  if (req.contains("resume_from") && req["resume_from"].is_string())
    state = load_checkpoint(req["resume_from"].get<std::string>(), net, *opt);
  int64_t parameters = 0;
  for (const auto& p : net->parameters()) parameters += p.numel();
  emit({{"event", "start"},
        {"resumed_from", state.epoch},
        {"parameters", parameters},
        {"threads", at::get_num_threads()}});

  auto loss_of = [&](const at::Tensor& out, const at::Tensor& y) {
    return classification ? torch::nn::functional::cross_entropy(out, y.to(at::kLong))
                          : torch::mse_loss(out.squeeze(1), y);
  };
  bool stopped_early = early && state.epoch > 0 && state.bad_epochs >= patience;
  const fs::path best_path = dir / "best.pt";
  for (int epoch = state.epoch + 1; epoch <= epochs && !stopped_early; ++epoch) {
    auto t0 = Clock::now();
    const double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    double data_seconds = 0, data_cpu = 0;
    net->train();
    // Per-epoch seeds make a resumed run repeat exactly what the uninterrupted one would.
    torch::manual_seed(seed * 1000003ULL + static_cast<uint64_t>(epoch));
    auto gen = at::detail::createCPUGenerator(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(epoch)));
    auto perm = torch::randperm(data.train.rows, gen, at::TensorOptions().dtype(at::kLong));
    double loss_sum = 0;
    for (int64_t start = 0; start < data.train.rows; start += batch) {
      auto d0 = Clock::now();
      const double dc0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
      auto idx = perm.slice(0, start, std::min(start + batch, data.train.rows));
      auto xb = data.train.x.index_select(0, idx);
      auto yb = data.train.y.index_select(0, idx);
      data_seconds += std::chrono::duration<double>(Clock::now() - d0).count();
      data_cpu += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - dc0;
      opt->zero_grad();
      auto loss = loss_of(net->forward(xb), yb);
      loss.backward();
      opt->step();
      loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
    }
    nlohmann::json ev = {{"event", "epoch"}, {"epoch", epoch}, {"train_loss", loss_sum / static_cast<double>(data.train.rows)}};
    if (has_validation) {
      torch::NoGradGuard no_grad;
      net->eval();
      auto out = net->forward(data.validation.x);
      ev["val_loss"] = loss_of(out, data.validation.y).item<double>();
      if (classification) {
        ev["val_accuracy"] = out.argmax(1).eq(data.validation.y.to(at::kLong)).to(at::kDouble).mean().item<double>();
      } else {
        auto err = (out.squeeze(1) - data.validation.y) * y_std;
        ev["val_rmse"] = err.pow(2).mean().sqrt().item<double>();
        ev["val_mae"] = err.abs().mean().item<double>();
      }
    }
    const double current = ev.contains(metric) ? ev[metric].get<double>() : ev["train_loss"].get<double>();
    bool improved = std::isnan(state.best) ||
                    (maximise ? current > state.best + min_delta : current < state.best - min_delta);
    if (improved) {
      state.best = current;
      state.best_epoch = epoch;
      state.bad_epochs = 0;
      save_weights(best_path, net);
    } else {
      ++state.bad_epochs;
    }
    state.epoch = epoch;
    save_checkpoint(dir, epoch, net, *opt, state);
    ev["improved"] = improved;
    ev["checkpoint"] = (dir / checkpoint_name(epoch)).string();
    ev["data_seconds"] = data_seconds;
    ev["epoch_seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    ev["data_cpu_seconds"] = data_cpu;
    ev["cpu_seconds"] = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    emit(ev);
    if (early && state.bad_epochs >= patience) {
      stopped_early = true;
      break;
    }
  }
  // Without early stopping the last weights are the model; with it, the best ones.
  if (early)
    load_weights(best_path, net);
  else
    save_weights(best_path, net);

  net->eval();
  torch::NoGradGuard no_grad;
  ScriptSpec spec;
  for (auto& l : net->layers) spec.layers.push_back({l->weight, l->bias});
  spec.activation = net->activation;
  spec.output = classification ? "softmax" : "scale";
  spec.y_mean = y_mean;
  spec.y_std = y_std;
  auto script = build_script_module(spec);
  auto eager = net->forward(data.test.rows > 0 ? data.test.x : data.train.x.slice(0, 0, 1));
  eager = classification ? torch::softmax(eager, 1) : eager * y_std + y_mean;
  auto scripted = script.forward({data.test.rows > 0 ? data.test.x : data.train.x.slice(0, 0, 1)}).toTensor();
  if (!torch::allclose(eager, scripted, 1e-4, 1e-5))
    throw std::runtime_error("the exported TorchScript model disagrees with the trained one");
  const fs::path model_path = dir / "model.pt";
  save_atomically(script, model_path.string());

  nlohmann::json outs = nlohmann::json::array();
  if (data.test.rows > 0) {
    auto acc = scripted.to(at::kDouble).contiguous();
    const auto cols = acc.size(1);
    const double* p = acc.data_ptr<double>();
    for (int64_t r = 0; r < acc.size(0); ++r) outs.push_back(std::vector<double>(p + r * cols, p + (r + 1) * cols));
  }
  emit({{"event", "end"},
        {"epochs_run", state.epoch},
        {"best_epoch", early ? state.best_epoch : state.epoch},
        {"stopped_early", stopped_early},
        {"model", model_path.string()},
        {"test_outputs", outs}});
}

}  // namespace mlops::torch_helper
