// serve: a registered model over HTTP (see serve/service.hpp for the routes).
#include <algorithm>
#include <iostream>
#include <mutex>

#include "cli/commands.hpp"
#include "model/model.hpp"
#include "registry/registry.hpp"
#include "serve/service.hpp"
#include "util/error.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

struct ServeArgs {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  std::size_t max_body = 1024 * 1024;
  std::size_t max_batch = 1000;
  std::size_t threads = 0;
  std::string poll = "10s";
};

// --model, else MLFLOW_MODEL_NAME/MLFLOW_MODEL_STAGE (config model.name,
// model.stage). MLflow's stages map to aliases: Production -> production; None
// and an empty stage mean the latest version.
std::string model_ref(Context& ctx, const ServeArgs& a) {
  if (!a.model.empty()) return a.model;
  auto& cfg = ctx.config();
  std::string name = cfg.get_or("model.name", "");
  if (name.empty())
    throw UsageError("serve needs --model NAME@ALIAS",
                     "or set MLFLOW_MODEL_NAME (and MLFLOW_MODEL_STAGE), or model.name in mlops.yaml");
  std::string stage = cfg.get_or("model.stage", "");
  std::transform(stage.begin(), stage.end(), stage.begin(), [](unsigned char c) { return std::tolower(c); });
  if (stage.empty() || stage == "none" || stage == "latest") return name;
  return name + "@" + stage;
}

// "10s", "2m", "500ms" or "0".
std::chrono::milliseconds poll_interval(const std::string& text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0) {
    std::string n = text.substr(0, text.size() - 2);
    if (!n.empty() && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }) && n.size() < 10)
      return std::chrono::milliseconds(std::stoll(n));
    throw UsageError("invalid --poll '" + text + "'", "use e.g. 500ms, 10s, 1m, or 0 to never poll");
  }
  return std::chrono::milliseconds(util::parse_duration_ns(text) / 1'000'000);
}

// A model with the workspace handles it was loaded through: each load opens its
// own, so no database connection is shared between threads.
struct Loaded {
  std::unique_ptr<workspace::Workspace> ws;
  std::unique_ptr<trace::Tracer> tracer;
  std::unique_ptr<model::Model> model;
};

int serve(Context& ctx, const ServeArgs& a) {
  std::string ref = model_ref(ctx, a);
  auto root = ctx.ws().paths().root;
  auto env = ctx.env;
  std::string token = a.token;
  if (token.empty()) token = env("MLOPS_SERVE_TOKEN").value_or("");
  serve::ServiceOptions opt;
  opt.model_ref = ref;
  opt.token = token;
  opt.max_batch = a.max_batch;
  opt.poll_interval = poll_interval(a.poll);
  opt.http.host = a.host;
  opt.http.port = a.port;
  opt.http.max_body_bytes = a.max_body;
  opt.http.threads = a.threads;
  bool quiet = ctx.opts.quiet;
  auto log_mu = std::make_shared<std::mutex>();
  auto log = [quiet, log_mu](const std::string& line) {
    if (quiet) return;
    std::lock_guard lock(*log_mu);
    std::cerr << "mlopsctl serve: " << line << std::endl;
  };
  auto loader = [root, env](const std::string& r) -> std::shared_ptr<model::Model> {
    auto owned = std::make_shared<Loaded>();
    owned->ws = std::make_unique<workspace::Workspace>(root, env);
    owned->tracer = std::make_unique<trace::Tracer>();
    owned->model = model::load(*owned->ws, *owned->tracer, r);
    return std::shared_ptr<model::Model>(owned, owned->model.get());
  };
  // The poller's own workspace handle (only the poll thread calls the probe).
  auto probe_ws = std::make_shared<std::unique_ptr<workspace::Workspace>>();
  auto probe = [root, env, probe_ws](const std::string& r) {
    if (!*probe_ws) *probe_ws = std::make_unique<workspace::Workspace>(root, env);
    return registry::Registry((*probe_ws)->db(), (*probe_ws)->objects()).resolve(r).version;
  };
  serve::Service service(opt, loader, probe, log);
  service.start();
  // The port line goes to stdout so scripts (and tests) can read the port of --port 0.
  std::cout << "listening on http://" << (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) << ":"
            << service.port() << std::endl;
  log("serving " + ref + (token.empty() ? "" : " (bearer token required)"));
  service.run();
  return 0;
}

}  // namespace

void add_serve_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ServeArgs>();
  auto* serve_cmd = app.add_subcommand("serve", "Serve a registered model over HTTP (/predict, /invoke, /metrics)");
  serve_cmd->add_option("--model,-m", a->model,
                        "NAME@ALIAS, NAME/VERSION or NAME (default: MLFLOW_MODEL_NAME@MLFLOW_MODEL_STAGE)");
  serve_cmd->add_option("--host", a->host, "Address to listen on")->default_str("127.0.0.1");
  serve_cmd->add_option("--port,-p", a->port, "Port (0 = any free port; the chosen one is printed)")
      ->default_str("8080")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--token", a->token, "Bearer token clients must send (MLOPS_SERVE_TOKEN)");
  serve_cmd->add_option("--max-body", a->max_body, "Largest request body in bytes (413 above)")
      ->default_str("1048576")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32));
  serve_cmd->add_option("--max-batch", a->max_batch, "Most instances in one request (400 above)")
      ->default_str("1000")
      ->check(CLI::Range(1, 1000000));
  serve_cmd->add_option("--threads", a->threads, "Worker threads (default 2 per core, at least 4)");
  serve_cmd->add_option("--poll", a->poll, "How often to check whether the alias moved (10s; 0 = never)")
      ->default_str("10s");
  on_run(serve_cmd, ctx, [&ctx, a] { return serve(ctx, *a); });
}

}  // namespace mlops::cli
