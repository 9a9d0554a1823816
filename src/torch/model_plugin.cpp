// mlopsctl-torch-model.so: runs TorchScript models behind the C ABI in
// src/core/torch/model_abi.h, with the same row encoding as training
// (data/preprocess.hpp, linked in).
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/preprocess.hpp"
#include "torch/model_abi.h"
#include "util/error.hpp"

struct mlops_torch_model {
  torch::jit::Module module;
  std::optional<mlops::data::Preprocessor> preprocess;
  std::string model_path, preprocess_path;
};

namespace {

char* copy(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// The error without LibTorch's backtrace or TorchScript traceback: its last line
// ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x3 and 2x2)").
std::string message(const std::exception& e) {
  std::string m = e.what();
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) m = c->what_without_backtrace();
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  if (m.find("Traceback") != std::string::npos) m = m.substr(m.rfind('\n') + 1);
  return m;
}

struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

at::Tensor raw_rows(const nlohmann::json& input) {
  if (!input.is_array() || input.empty())
    throw BadInput("input must be a non-empty array of rows, each an array of numbers");
  const std::size_t width = input[0].is_array() ? input[0].size() : 0;
  if (width == 0) throw BadInput("row 0 must be a non-empty array of numbers");
  auto t = torch::empty({static_cast<int64_t>(input.size()), static_cast<int64_t>(width)});
  float* p = t.data_ptr<float>();
  for (std::size_t r = 0; r < input.size(); ++r) {
    const auto& row = input[r];
    if (!row.is_array() || row.size() != width)
      throw BadInput("row " + std::to_string(r) + " must be an array of " + std::to_string(width) + " numbers");
    for (std::size_t c = 0; c < width; ++c) {
      if (!row[c].is_number())
        throw BadInput("row " + std::to_string(r) + ", column " + std::to_string(c) + " is not a number");
      *p++ = row[c].get<float>();
    }
  }
  return t;
}

// Runs the model on x (count rows) and returns its output as a contiguous
// count x outputs float tensor.
at::Tensor run(mlops_torch_model& model, const at::Tensor& x, std::size_t count) {
  at::Tensor y;
  {
    c10::InferenceMode guard;
    try {
      y = model.module.forward({x}).toTensor();
    } catch (const std::exception& e) {
      // A shape mismatch is the caller's input when no preprocess.json fixes the width.
      if (!model.preprocess) throw BadInput("the model rejected the input: " + message(e));
      throw;
    }
  }
  y = y.to(at::kFloat).contiguous();
  if (y.dim() == 1) y = y.unsqueeze(1);
  if (y.dim() != 2 || static_cast<std::size_t>(y.size(0)) != count)
    throw std::runtime_error("the model returned a tensor of shape " + c10::str(y.sizes()) + " for " +
                             std::to_string(count) + " rows");
  return y;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int mlops_torch_model_abi_version(void) {
  return MLOPS_TORCH_MODEL_ABI_VERSION;
}

__attribute__((visibility("default"))) mlops_torch_model* mlops_torch_model_load(const char* model_path,
                                                                                  const char* preprocess_path,
                                                                                  char** error) {
  try {
    auto m = std::make_unique<mlops_torch_model>();
    m->model_path = model_path;
    m->module = torch::jit::load(model_path);
    m->module.eval();
    if (preprocess_path) {
      m->preprocess_path = preprocess_path;
      std::ifstream in(preprocess_path);
      if (!in) throw std::runtime_error(std::string("cannot read ") + preprocess_path);
      std::stringstream ss;
      ss << in.rdbuf();
      m->preprocess = mlops::data::Preprocessor::from_json(nlohmann::json::parse(ss.str()));
    }
    return m.release();
  } catch (const std::exception& e) {
    if (error) *error = copy(message(e));
    return nullptr;
  }
}

__attribute__((visibility("default"))) int mlops_torch_model_predict(mlops_torch_model* model, const char* input_json,
                                                                      char** output) {
  try {
    nlohmann::json input;
    try {
      input = nlohmann::json::parse(input_json);
    } catch (const nlohmann::json::parse_error& e) {
      throw BadInput(std::string("input is not valid JSON: ") + e.what());
    }
    at::Tensor y;
    std::size_t count = 0;
    std::vector<float> encoded;  // viewed by the input tensor, and by y when the model returns its input
    if (model->preprocess) {
      try {
        encoded = model->preprocess->encode_json(input, count);
      } catch (const mlops::Error& e) {
        throw BadInput(e.what());
      }
      y = run(*model, torch::from_blob(encoded.data(), {static_cast<int64_t>(count),
                                                        static_cast<int64_t>(model->preprocess->width())},
                                       at::kFloat),
              count);
    } else {
      at::Tensor x = raw_rows(input);
      count = static_cast<std::size_t>(x.size(0));
      y = run(*model, x, count);
    }
    nlohmann::json out;
    if (model->preprocess) {
      out = model->preprocess->decode(y.data_ptr<float>(), count, static_cast<std::size_t>(y.size(1)));
    } else {
      out = nlohmann::json::array();
      const float* p = y.data_ptr<float>();
      const auto w = static_cast<std::size_t>(y.size(1));
      for (std::size_t r = 0; r < count; ++r) out.push_back(std::vector<float>(p + r * w, p + (r + 1) * w));
    }
    *output = copy(out.dump());
    return MLOPS_TORCH_MODEL_OK;
  } catch (const BadInput& e) {
    *output = copy(e.what());
    return MLOPS_TORCH_MODEL_BAD_INPUT;
  } catch (const std::exception& e) {
    *output = copy(message(e));
    return MLOPS_TORCH_MODEL_FAILED;
  }
}

__attribute__((visibility("default"))) int mlops_torch_model_forward(mlops_torch_model* model, const float* input,
                                                                      size_t rows, size_t width, float** output,
                                                                      size_t* outputs_per_row, char** error) {
  try {
    if (rows == 0 || width == 0) throw BadInput("no rows to predict");
    // The model only reads its input (InferenceMode), so the caller's buffer is viewed, not copied.
    at::Tensor x = torch::from_blob(const_cast<float*>(input), {static_cast<int64_t>(rows), static_cast<int64_t>(width)},
                                    at::kFloat);
    at::Tensor y = run(*model, x, rows);
    const auto n = static_cast<std::size_t>(y.numel());
    auto* out = static_cast<float*>(std::malloc(std::max<std::size_t>(1, n) * sizeof(float)));
    if (!out) throw std::bad_alloc();
    std::memcpy(out, y.data_ptr<float>(), n * sizeof(float));
    *output = out;
    *outputs_per_row = static_cast<std::size_t>(y.size(1));
    return MLOPS_TORCH_MODEL_OK;
  } catch (const BadInput& e) {
    if (error) *error = copy(e.what());
    return MLOPS_TORCH_MODEL_BAD_INPUT;
  } catch (const std::exception& e) {
    if (error) *error = copy(message(e));
    return MLOPS_TORCH_MODEL_FAILED;
  }
}

__attribute__((visibility("default"))) char* mlops_torch_model_info(mlops_torch_model* model) {
  nlohmann::json j = {{"abi", MLOPS_TORCH_MODEL_ABI_VERSION},
                      {"model", model->model_path},
                      {"torch_version", TORCH_VERSION}};
  if (model->preprocess) {
    const auto& p = *model->preprocess;
    j["preprocess"] = model->preprocess_path;
    j["task"] = p.task == mlops::data::Task::classification ? "classification" : "regression";
    j["target"] = p.target;
    j["inputs"] = p.encoded_names();
    std::vector<std::string> features;
    for (const auto& f : p.features) features.push_back(f.name);
    j["features"] = features;
    if (p.task == mlops::data::Task::classification) j["classes"] = p.classes;
  } else {
    j["preprocess"] = nullptr;
  }
  return copy(j.dump());
}

__attribute__((visibility("default"))) void mlops_torch_model_free_string(char* s) {
  std::free(s);
}

__attribute__((visibility("default"))) void mlops_torch_model_free_floats(float* values) {
  std::free(values);
}

__attribute__((visibility("default"))) void mlops_torch_model_free(mlops_torch_model* model) {
  delete model;
}

}  // extern "C"
