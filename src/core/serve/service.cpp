#include "serve/service.hpp"

#include <pthread.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <thread>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

namespace mlops::serve {

using nlohmann::json;

namespace {

constexpr std::array<double, 14> k_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,    10};

json parse_json(const std::string& body) {
  if (body.empty()) throw model::InputError("the request body is empty; send JSON");
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    throw model::InputError("the request body is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
}

void check_batch(const json& instances, std::size_t max_batch) {
  if (instances.empty()) throw model::InputError("the batch is empty; send at least one instance");
  if (instances.size() > max_batch)
    throw model::InputError("the batch has " + std::to_string(instances.size()) + " instances, over the limit of " +
                            std::to_string(max_batch));
}

Batch batch_of(json instances, bool single, std::size_t max_batch) {
  Batch b;
  b.single = single;
  b.instances = single ? json::array({std::move(instances)}) : std::move(instances);
  check_batch(b.instances, max_batch);
  return b;
}

// The path as a metric label: known routes by name, anything else as "other",
// so label cardinality stays bounded whatever clients send.
std::string route_label(const std::string& path) {
  static const char* known[] = {"/predict", "/invocations", "/invoke", "/health", "/ready", "/metrics", "/v1/models"};
  for (const char* k : known)
    if (path == k) return k;
  return "other";
}

HttpResponse json_response(int status, const json& body) {
  return HttpResponse{status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}

HttpResponse error_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Batch parse_predict_body(const std::string& body, std::size_t max_batch) {
  json doc = parse_json(body);
  if (doc.is_array()) return batch_of(std::move(doc), false, max_batch);
  if (!doc.is_object())
    throw model::InputError("the body is a JSON " + std::string(doc.type_name()) +
                            "; send an object (one instance) or {\"instances\": [...]}");
  if (doc.contains("instances")) {
    if (!doc["instances"].is_array()) throw model::InputError("\"instances\" must be an array");
    return batch_of(doc["instances"], false, max_batch);
  }
  if (doc.contains("inputs")) {
    const json& in = doc["inputs"];
    if (in.is_array()) return batch_of(in, false, max_batch);
    if (in.is_object()) return batch_of(in, true, max_batch);
    throw model::InputError("\"inputs\" must be an array or an object");
  }
  if (doc.contains("dataframe_records")) {
    if (!doc["dataframe_records"].is_array()) throw model::InputError("\"dataframe_records\" must be an array");
    return batch_of(doc["dataframe_records"], false, max_batch);
  }
  if (doc.contains("dataframe_split")) {
    const json& split = doc["dataframe_split"];
    if (!split.is_object() || !split.contains("columns") || !split["columns"].is_array() || !split.contains("data") ||
        !split["data"].is_array())
      throw model::InputError("\"dataframe_split\" needs \"columns\" (array) and \"data\" (array of rows)");
    const json& cols = split["columns"];
    for (const auto& c : cols)
      if (!c.is_string()) throw model::InputError("dataframe_split columns must be strings");
    json rows = json::array();
    std::size_t i = 0;
    for (const auto& row : split["data"]) {
      if (!row.is_array() || row.size() != cols.size())
        throw model::InputError("dataframe_split row " + std::to_string(i) + " has " +
                                std::to_string(row.is_array() ? row.size() : 0) + " values for " +
                                std::to_string(cols.size()) + " columns");
      json obj = json::object();
      for (std::size_t k = 0; k < cols.size(); ++k) obj[cols[k].get<std::string>()] = row[k];
      rows.push_back(std::move(obj));
      ++i;
    }
    return batch_of(std::move(rows), false, max_batch);
  }
  return batch_of(std::move(doc), true, max_batch);
}

Batch parse_invoke_body(const std::string& body, std::size_t max_batch) {
  json doc = parse_json(body);
  if (!doc.is_object())
    throw model::InputError("the body must be a JSON object: {\"input\": {...}} or {\"inputs\": [...]}");
  if (doc.contains("input")) return batch_of(doc["input"], true, max_batch);
  if (doc.contains("inputs")) {
    if (!doc["inputs"].is_array()) throw model::InputError("\"inputs\" must be an array");
    return batch_of(doc["inputs"], false, max_batch);
  }
  throw model::InputError("the body has neither \"input\" nor \"inputs\"");
}

struct Service::Impl {
  ServiceOptions opt;
  ModelLoader loader;
  VersionProbe probe;
  LogFn log;
  std::mutex model_mu;
  std::shared_ptr<model::Model> model;
  std::int64_t loaded_at_ms = 0;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> stopping{false};
  std::mutex wait_mu;
  std::condition_variable wait_cv;

  // Prometheus state.
  std::mutex metrics_mu;
  struct Histogram {
    std::array<std::uint64_t, k_buckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::map<std::pair<std::string, int>, std::uint64_t> requests;  // (route, status)
  std::map<std::string, Histogram> latency;                       // route
  std::map<std::string, std::uint64_t> errors;                    // reason class
  std::uint64_t predictions = 0;
  std::uint64_t reloads = 0, reload_failures = 0;
  std::atomic<std::int64_t> in_flight{0};

  std::shared_ptr<model::Model> current() {
    std::lock_guard lock(model_mu);
    return model;
  }

  void say(const std::string& line) {
    if (log) log(line);
  }

  void record(const std::string& route, int status, double seconds) {
    std::lock_guard lock(metrics_mu);
    ++requests[{route, status}];
    auto& h = latency[route];
    ++h.count;
    h.sum += seconds;
    for (std::size_t i = 0; i < k_buckets.size(); ++i)
      if (seconds <= k_buckets[i]) ++h.counts[i];
    if (status >= 400) ++errors[status >= 500 ? "server" : "client"];
  }

  bool authorized(const HttpRequest& q) const {
    if (opt.token.empty()) return true;
    std::string auth = q.header("authorization");
    const std::string prefix = "Bearer ";
    if (auth.size() <= prefix.size() || auth.compare(0, prefix.size(), prefix) != 0) return false;
    // Constant-time compare, so timing does not reveal how much of a guess matched.
    std::string given = auth.substr(prefix.size());
    unsigned diff = given.size() != opt.token.size();
    for (std::size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i]) ^
                                                           static_cast<unsigned char>(opt.token[i % opt.token.size()]);
    return diff == 0;
  }

  json model_json(const model::Model& m) {
    const auto& i = m.info();
    return {{"name", i.name},          {"version", i.version},
            {"kind", i.kind},          {"aliases", i.aliases},
            {"ref", opt.model_ref},    {"inputs", {{"required", i.required_inputs}, {"optional", i.optional_inputs}}},
            {"details", i.extra},      {"loaded", util::format_rfc3339(loaded_at_ms * 1'000'000)}};
  }

  HttpResponse predict(const HttpRequest& q, bool invoke) {
    if (q.method != "POST") {
      auto r = error_response(405, "use POST with a JSON body");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    // JSON whatever the label says, except for types that are clearly something
    // else; curl -d labels JSON as a form, so that is taken too.
    std::string ct = q.header("content-type");
    if (!ct.empty() && ct.find("json") == std::string::npos &&
        ct.find("application/x-www-form-urlencoded") == std::string::npos)
      return error_response(415, "Content-Type is '" + ct + "'; send application/json");
    auto m = current();
    if (!m) return error_response(503, "no model is loaded");
    Batch b;
    json out;
    try {
      b = invoke ? parse_invoke_body(q.body, opt.max_batch) : parse_predict_body(q.body, opt.max_batch);
      out = m->predict(b.instances);
    } catch (const model::InputError& e) {
      return error_response(400, e.what());
    } catch (const UsageError& e) {
      return error_response(400, e.what());
    } catch (const Error& e) {
      return error_response(500, std::string("prediction failed: ") + e.what());
    }
    if (!out.is_array() || out.size() != b.instances.size())
      return error_response(500, "the model returned " + std::to_string(out.is_array() ? out.size() : 0) +
                                     " predictions for " + std::to_string(b.instances.size()) + " instances");
    {
      std::lock_guard lock(metrics_mu);
      predictions += b.instances.size();
    }
    json meta = {{"name", m->info().name}, {"version", m->info().version}};
    if (invoke)
      return json_response(200, b.single ? json{{"output", out[0]}, {"metadata", {{"model", meta}}}}
                                         : json{{"outputs", out}, {"metadata", {{"model", meta}}}});
    return json_response(200, b.single ? json{{"prediction", out[0]}, {"model", meta}}
                                       : json{{"predictions", out}, {"model", meta}});
  }

  HttpResponse route(const HttpRequest& q) {
    const std::string& p = q.path;
    bool get = q.method == "GET" || q.method == "HEAD";
    if (p == "/health") {
      if (!get) return error_response(405, "use GET");
      return json_response(200, {{"status", "ok"}});
    }
    if (p == "/ready") {
      if (!get) return error_response(405, "use GET");
      auto m = current();
      if (!m) return json_response(503, {{"status", "loading"}});
      return json_response(200, {{"status", "ready"}, {"model", model_json(*m)}});
    }
    if (!authorized(q)) {
      auto r = error_response(401, "missing or wrong bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    if (p == "/metrics") {
      if (!get) return error_response(405, "use GET");
      return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", metrics_text(), {}};
    }
    if (p == "/v1/models") {
      if (!get) return error_response(405, "use GET");
      auto m = current();
      json data = json::array();
      if (m) {
        json entry = model_json(*m);
        entry["id"] = m->info().name;
        entry["object"] = "model";
        data.push_back(entry);
      }
      return json_response(200, {{"object", "list"}, {"data", data}});
    }
    if (p == "/predict" || p == "/invocations") return predict(q, false);
    if (p == "/invoke") return predict(q, true);
    return error_response(404, "no route " + p + "; try POST /predict, POST /invoke, GET /health, /ready, /metrics, "
                                                 "/v1/models");
  }

  std::string metrics_text() {
    std::string out;
    std::lock_guard lock(metrics_mu);
    out += "# HELP mlopsctl_serve_requests_total HTTP requests served, by route and status code.\n";
    out += "# TYPE mlopsctl_serve_requests_total counter\n";
    for (const auto& [key, n] : requests)
      out += "mlopsctl_serve_requests_total{route=\"" + key.first + "\",code=\"" + std::to_string(key.second) +
             "\"} " + std::to_string(n) + "\n";
    out += "# HELP mlopsctl_serve_request_duration_seconds Time to answer a request, by route.\n";
    out += "# TYPE mlopsctl_serve_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency) {
      for (std::size_t i = 0; i < k_buckets.size(); ++i) {
        char le[32];
        std::snprintf(le, sizeof le, "%g", k_buckets[i]);
        out += "mlopsctl_serve_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + le + "\"} " +
               std::to_string(h.counts[i]) + "\n";
      }
      out += "mlopsctl_serve_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
             std::to_string(h.count) + "\n";
      char sum[64];
      std::snprintf(sum, sizeof sum, "%.9g", h.sum);
      out += "mlopsctl_serve_request_duration_seconds_sum{route=\"" + route + "\"} " + sum + "\n";
      out += "mlopsctl_serve_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(h.count) +
             "\n";
    }
    out += "# HELP mlopsctl_serve_errors_total Requests answered with an error, client (4xx) or server (5xx).\n";
    out += "# TYPE mlopsctl_serve_errors_total counter\n";
    for (const char* kind : {"client", "server"}) {
      auto it = errors.find(kind);
      out += std::string("mlopsctl_serve_errors_total{kind=\"") + kind + "\"} " +
             std::to_string(it == errors.end() ? 0 : it->second) + "\n";
    }
    out += "# HELP mlopsctl_serve_predictions_total Instances predicted.\n";
    out += "# TYPE mlopsctl_serve_predictions_total counter\n";
    out += "mlopsctl_serve_predictions_total " + std::to_string(predictions) + "\n";
    out += "# HELP mlopsctl_serve_in_flight_requests Requests being answered now.\n";
    out += "# TYPE mlopsctl_serve_in_flight_requests gauge\n";
    out += "mlopsctl_serve_in_flight_requests " + std::to_string(in_flight.load()) + "\n";
    out += "# HELP mlopsctl_serve_reloads_total Model reloads that went live, and that failed.\n";
    out += "# TYPE mlopsctl_serve_reloads_total counter\n";
    out += "mlopsctl_serve_reloads_total{result=\"ok\"} " + std::to_string(reloads) + "\n";
    out += "mlopsctl_serve_reloads_total{result=\"failed\"} " + std::to_string(reload_failures) + "\n";
    std::shared_ptr<model::Model> m;
    {
      std::lock_guard ml(model_mu);
      m = model;
    }
    if (m) {
      out += "# HELP mlopsctl_serve_model_info The model being served.\n";
      out += "# TYPE mlopsctl_serve_model_info gauge\n";
      out += "mlopsctl_serve_model_info{name=\"" + escape_label(m->info().name) + "\",version=\"" +
             std::to_string(m->info().version) + "\",kind=\"" + escape_label(m->info().kind) + "\"} 1\n";
    }
    return out;
  }
};

Service::Service(ServiceOptions options, ModelLoader loader, VersionProbe probe, LogFn log)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->loader = std::move(loader);
  impl_->probe = std::move(probe);
  impl_->log = std::move(log);
}

Service::~Service() = default;

void Service::start() {
  auto m = impl_->loader(impl_->opt.model_ref);
  {
    std::lock_guard lock(impl_->model_mu);
    impl_->model = std::move(m);
    impl_->loaded_at_ms = util::now_ns() / 1'000'000;
  }
  impl_->http = std::make_unique<HttpServer>(impl_->opt.http, [this](const HttpRequest& q) { return handle(q); });
}

int Service::port() const {
  return impl_->http ? impl_->http->port() : 0;
}

HttpResponse Service::handle(const HttpRequest& q) {
  auto t0 = std::chrono::steady_clock::now();
  ++impl_->in_flight;
  HttpResponse r = impl_->route(q);
  --impl_->in_flight;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  impl_->record(route_label(q.path), r.status, secs);
  return r;
}

std::string Service::metrics_text() {
  return impl_->metrics_text();
}

bool Service::reload(bool force) {
  auto cur = impl_->current();
  try {
    if (!force && cur && impl_->probe) {
      int now = impl_->probe(impl_->opt.model_ref);
      if (now == cur->info().version) return false;
    }
    auto fresh = impl_->loader(impl_->opt.model_ref);
    int from = cur ? cur->info().version : 0;
    {
      std::lock_guard lock(impl_->model_mu);
      impl_->model = std::move(fresh);
      impl_->loaded_at_ms = util::now_ns() / 1'000'000;
    }
    {
      std::lock_guard lock(impl_->metrics_mu);
      ++impl_->reloads;
    }
    impl_->say("reloaded " + impl_->opt.model_ref + ": version " + std::to_string(from) + " -> " +
               std::to_string(impl_->current()->info().version));
    return true;
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(impl_->metrics_mu);
      ++impl_->reload_failures;
    }
    impl_->say(std::string("reload of ") + impl_->opt.model_ref + " failed, keeping the loaded model: " + e.what());
    return false;
  }
}

void Service::run() {
  if (!impl_->http) start();
  // Signals are taken by one thread with sigwait, never by a handler, so reload
  // and shutdown run as ordinary code.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);  // internal: wakes the signal thread at shutdown
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread signals([this, set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) {
        impl_->say("SIGHUP: reloading " + impl_->opt.model_ref);
        reload(true);
        continue;
      }
      if (sig == SIGTERM || sig == SIGINT) impl_->say("shutting down");
      stop();
      return;
    }
  });
  std::thread poller([this] {
    if (impl_->opt.poll_interval.count() <= 0) return;
    std::unique_lock lock(impl_->wait_mu);
    while (!impl_->stopping) {
      impl_->wait_cv.wait_for(lock, impl_->opt.poll_interval, [&] { return impl_->stopping.load(); });
      if (impl_->stopping) break;
      lock.unlock();
      reload(false);
      lock.lock();
    }
  });
  impl_->http->run();
  stop();
  pthread_kill(signals.native_handle(), SIGUSR2);
  signals.join();
  poller.join();
}

void Service::stop() {
  {
    std::lock_guard lock(impl_->wait_mu);
    impl_->stopping = true;
  }
  impl_->wait_cv.notify_all();
  if (impl_->http) impl_->http->stop();
}

}  // namespace mlops::serve
