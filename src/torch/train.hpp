#pragma once
// `mlopsctl-torch train`: trains on the tensor file mlopsctl wrote and streams
// JSON lines on stdout (see train.cpp for the events).
#include <nlohmann/json.hpp>

namespace mlops::torch_helper {

// Runs the whole training; throws std::exception on failure.
void train(const nlohmann::json& request);

}  // namespace mlops::torch_helper
