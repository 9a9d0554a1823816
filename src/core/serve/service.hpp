#pragma once
// The model server behind `serve`: routes, request shapes, auth, Prometheus
// metrics and hot reload around one model::Model, whatever its kind.
//
//   POST /predict, /invocations  {"instances": [...]}, {"inputs": [...]},
//                                {"dataframe_records": [...]}, {"dataframe_split": {...}},
//                                a JSON array (batch) or one JSON object (single)
//                                → {"predictions": [...]} or {"prediction": ...}
//   POST /invoke                 {"input": {...}} → {"output": ...};
//                                {"inputs": [...]} → {"outputs": [...]} (LangServe)
//   GET  /health /ready /metrics /v1/models
//
// Malformed or wrongly shaped input is a 400 whose body says why; a missing or
// wrong bearer token a 401. The model is reloaded when its alias moves (polled)
// and on SIGHUP; in-flight requests finish on the model they started with.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.hpp"
#include "serve/http.hpp"

namespace mlops::serve {

struct ServiceOptions {
  std::string model_ref;  // NAME@ALIAS, NAME/V or NAME
  std::string token;      // bearer token; empty = no auth
  std::size_t max_batch = 1000;
  std::chrono::milliseconds poll_interval{10000};  // 0 = never poll the alias
  HttpOptions http;
};

// A parsed prediction request: a batch of instances, and whether the caller sent one.
struct Batch {
  nlohmann::json instances = nlohmann::json::array();
  bool single = false;
};
// For /predict: throws model::InputError with the reason (→ 400).
Batch parse_predict_body(const std::string& body, std::size_t max_batch);
// For /invoke (LangServe's shape).
Batch parse_invoke_body(const std::string& body, std::size_t max_batch);

// Loads models for the service: given the model ref, returns a fresh model.
// Each call opens its own workspace handles, so a model never shares a
// database connection with another thread.
using ModelLoader = std::function<std::shared_ptr<model::Model>(const std::string& ref)>;
// Tells which version `ref` resolves to now (cheap; for the alias poll).
using VersionProbe = std::function<int(const std::string& ref)>;
using LogFn = std::function<void(const std::string& line)>;

class Service {
 public:
  Service(ServiceOptions options, ModelLoader loader, VersionProbe probe, LogFn log = {});
  ~Service();
  // Loads the model (throws when it cannot) and binds the port.
  void start();
  int port() const;
  // Serves until SIGTERM/SIGINT or stop(). SIGHUP reloads. Blocks those signals
  // in the calling thread (and so in every thread it starts).
  void run();
  void stop();
  // Reloads when the ref now resolves to another version (or always when forced).
  // Returns whether a new model went live; a failed load keeps the old one.
  bool reload(bool force);
  // The request handler (for tests without sockets).
  HttpResponse handle(const HttpRequest& request);
  std::string metrics_text();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mlops::serve
