// llm call / llm providers, cache stats / cache clear.
#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/prompt_args.hpp"
#include "llm/service.hpp"
#include "util/error.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

struct CallArgs {
  std::string provider;
  std::string prompt_ref;
  std::vector<std::string> vars;
  std::string vars_file;
  std::string text;
  std::string system;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  bool no_cache = false;
  std::optional<int> max_retries;
  std::string timeout;
  std::string eval_id;
  std::string experiment_id;
  bool expired_only = false;
  bool text_given = false;
};

std::vector<std::filesystem::path> pricing_dirs(Context& ctx) {
  return {ctx.ws().paths().overrides(), config::user_config_path(ctx.env).parent_path() / "templates"};
}

llm::Client make_client(Context& ctx, const CallArgs& a) {
  auto& cfg = ctx.config();
  if (a.max_retries) cfg.set_flag("llm.max_retries", std::to_string(*a.max_retries), "--max-retries");
  if (!a.timeout.empty()) cfg.set_flag("llm.timeout", a.timeout, "--timeout");
  if (a.no_cache) cfg.set_flag("llm.cache.enabled", "false", "--no-cache");
  return llm::Client(ctx.ws().db(), cfg, ctx.env, ctx.tracer(), ctx.root_span, pricing_dirs(ctx),
                     llm::client_options(cfg));
}

std::string read_text_arg(const std::string& text) {
  if (text != "-") return text;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

nlohmann::json result_json(const llm::CallResult& r, const llm::CallJob& job) {
  const auto& u = r.response.usage;
  nlohmann::json j = {{"provider", r.provider},
                      {"model", r.model},
                      {"text", r.response.text},
                      {"finish_reason", r.response.finish_reason},
                      {"usage",
                       {{"input_tokens", u.input_tokens},
                        {"output_tokens", u.output_tokens},
                        {"cache_read_tokens", u.cache_read_tokens},
                        {"cache_write_tokens", u.cache_write_tokens}}},
                      {"cost_usd", r.cost_usd ? nlohmann::json(*r.cost_usd) : nlohmann::json(nullptr)},
                      {"cost_known", r.cost_usd.has_value()},
                      {"latency_ms", r.latency_ms},
                      {"cache_hit", r.cache_hit},
                      {"attempts", r.attempts},
                      {"trace_id", r.trace_id},
                      {"span_id", r.span_id}};
  if (!r.response.response_model.empty()) j["response_model"] = r.response.response_model;
  j["prompt"] = job.context.prompt
                    ? nlohmann::json{{"name", *job.context.prompt}, {"version", *job.context.prompt_version}}
                    : nlohmann::json(nullptr);
  return j;
}

// The job for `llm call`: messages from --prompt (rendered) or --text, with the
// prompt's model config as defaults under the flags.
llm::CallJob build_job(Context& ctx, const CallArgs& a) {
  bool has_text = !a.text.empty() || a.text_given;
  if (a.prompt_ref.empty() == !has_text)
    throw UsageError("give exactly one of --prompt NAME[@REF] or --text TEXT",
                     "e.g. mlopsctl llm call openai:gpt-4o-mini --text 'Say hi'");
  if ((!a.vars.empty() || !a.vars_file.empty()) && a.prompt_ref.empty())
    throw UsageError("--var and --vars-file need --prompt");
  llm::CallJob job;
  job.provider_id = a.provider;
  auto& rq = job.request;
  if (!a.system.empty()) rq.messages.push_back({"system", a.system});
  if (!a.prompt_ref.empty()) {
    auto store = store_of(ctx);
    auto v = store.resolve_ref(a.prompt_ref);
    auto spec = store.spec(v);
    auto rendered = prompt::render(spec, parse_vars(a.vars, a.vars_file));
    if (rendered.is_string()) {
      rq.messages.push_back({"user", rendered.get<std::string>()});
    } else {
      for (const auto& m : rendered) rq.messages.push_back({m["role"], m["content"]});
    }
    job.context.prompt = v.name;
    job.context.prompt_version = v.version;
    const auto& model = spec.model;
    if (job.provider_id.empty() && model.contains("provider") && model.contains("model"))
      job.provider_id = model["provider"].get<std::string>() + ":" + model["model"].get<std::string>();
    if (model.contains("temperature") && model["temperature"].is_number())
      rq.temperature = model["temperature"].get<double>();
    if (model.contains("max_tokens") && model["max_tokens"].is_number_integer())
      rq.max_tokens = model["max_tokens"].get<int>();
  } else {
    std::string text = read_text_arg(a.text);
    if (text.empty()) throw UsageError("--text is empty", "give the text to send, or '-' to read it from stdin");
    if (!util::is_valid_utf8(text)) throw UsageError("--text is not valid UTF-8");
    rq.messages.push_back({"user", std::move(text)});
  }
  if (job.provider_id.empty())
    throw UsageError("no provider given", a.prompt_ref.empty()
                                              ? "write e.g. mlopsctl llm call openai:gpt-4o-mini --text …"
                                              : "name one (openai:gpt-4o-mini) or add model.provider and "
                                                "model.model to the prompt");
  if (a.temperature) rq.temperature = a.temperature;
  if (a.max_tokens) rq.max_tokens = a.max_tokens;
  if (!a.eval_id.empty()) job.context.eval_id = a.eval_id;
  if (!a.experiment_id.empty()) job.context.experiment_id = a.experiment_id;
  return job;
}

void print_notices(Context& ctx, const llm::Client& client) {
  if (ctx.opts.quiet) return;
  for (const auto& n : client.notices()) std::cerr << "mlopsctl: warning: " << n << "\n";
}

std::string usd(const std::optional<double>& v) {
  if (!v) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, *v < 0.01 && *v > 0 ? "$%.6f" : "$%.4f", *v);
  return buf;
}

}  // namespace

void add_llm_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<CallArgs>();
  auto* llm = app.add_subcommand("llm", "Call LLM providers with caching, cost accounting and budgets");
  llm->require_subcommand(1);

  auto* call = llm->add_subcommand("call", "Send one prompt to a provider and print the answer");
  call->add_option("provider", a->provider,
                   "PROVIDER:MODEL (openai:gpt-4o-mini, anthropic:…, ollama:…, NAME:… from mlops.yaml, exec:CMD, "
                   "echo); optional when the prompt names one");
  call->add_option("--prompt", a->prompt_ref, "Stored prompt NAME[@VERSION|@LABEL] to render and send");
  call->add_option("--var", a->vars, "Prompt variable NAME=VALUE (repeatable)");
  call->add_option("--vars-file", a->vars_file, "JSON or YAML file with prompt variables");
  call->add_option("--text", a->text, "Send this text as the user message ('-' reads stdin)")
      ->each([a](const std::string&) { a->text_given = true; });
  call->add_option("--system", a->system, "System message to put first");
  call->add_option("--temperature", a->temperature, "Sampling temperature");
  call->add_option("--max-tokens", a->max_tokens, "Most tokens to generate")->check(CLI::PositiveNumber);
  call->add_flag("--no-cache", a->no_cache, "Neither read nor write the response cache");
  call->add_option("--max-retries", a->max_retries, "Retries on 429/5xx/timeouts (0 = one attempt)")
      ->check(CLI::NonNegativeNumber);
  call->add_option("--timeout", a->timeout, "Per-attempt timeout, e.g. 30s (llm.timeout)");
  call->add_option("--eval", a->eval_id, "Eval run id to book the call under in the ledger");
  call->add_option("--experiment", a->experiment_id, "Experiment id to book the call under in the ledger");
  on_run(call, ctx, [&ctx, a] {
    auto job = build_job(ctx, *a);
    auto client = make_client(ctx, *a);
    llm::CallResult r;
    try {
      r = client.call(job);
    } catch (...) {
      print_notices(ctx, client);
      throw;
    }
    print_notices(ctx, client);
    emit(ctx, result_json(r, job), [&](std::ostream& os, bool) {
      os << r.response.text;
      if (r.response.text.empty() || r.response.text.back() != '\n') os << "\n";
    });
    if (ctx.opts.verbose > 0)
      std::cerr << "mlopsctl: " << r.provider << ":" << r.model << " in " << r.response.usage.input_tokens
                << " out " << r.response.usage.output_tokens << " tokens, " << usd(r.cost_usd) << ", "
                << static_cast<long>(r.latency_ms) << " ms" << (r.cache_hit ? " (cache hit)" : "") << "\n";
    return 0;
  });

  auto* providers = llm->add_subcommand("providers", "List the providers mlopsctl can call and how they are set up");
  on_run(providers, ctx, [&ctx] {
    auto list = llm::list_providers(ctx.config(), ctx.env);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& p : list)
      j.push_back({{"name", p.name},
                   {"type", p.type},
                   {"base_url", p.base_url},
                   {"api_key_env", p.api_key_env},
                   {"api_key_set", p.key_present},
                   {"configured", p.configured},
                   {"problem", p.problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.problem)}});
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"NAME", "TYPE", "BASE URL", "API KEY", "FROM"});
      for (const auto& p : list) {
        std::string key = p.api_key_env.empty() ? "-" : p.api_key_env + (p.key_present ? " (set)" : " (not set)");
        t.add({p.name, p.type.empty() ? "?" : p.type, p.base_url.empty() ? "-" : p.base_url, key,
               p.configured ? "config" : "built-in"});
      }
      t.print(os, color);
      for (const auto& p : list)
        if (!p.problem.empty()) os << yellow("warning: ", color) << p.name << ": " << p.problem << "\n";
    });
    return 0;
  });

  auto* cache = app.add_subcommand("cache", "Inspect and clear the LLM response cache");
  cache->require_subcommand(1);
  auto* stats = cache->add_subcommand("stats", "Entries, size, hits and expiry of the response cache");
  on_run(stats, ctx, [&ctx] {
    auto opts = llm::client_options(ctx.config());
    llm::ResponseCache c(ctx.ws().db(), opts.cache_ttl);
    auto now = util::now_ns() / 1'000'000;
    auto s = c.stats(now);
    auto time_or_null = [](const std::optional<std::int64_t>& ms) {
      return ms ? nlohmann::json(util::format_rfc3339(*ms * 1'000'000)) : nlohmann::json(nullptr);
    };
    nlohmann::json j = {{"entries", s.entries},     {"fresh", s.fresh},
                        {"expired", s.expired},     {"bytes", s.bytes},
                        {"hits", s.hits},           {"oldest", time_or_null(s.oldest_ms)},
                        {"newest", time_or_null(s.newest_ms)}, {"enabled", opts.use_cache},
                        {"ttl_seconds", opts.cache_ttl.count() / 1000}};
    emit(ctx, j, [&](std::ostream& os, bool color) {
      print_fields(os,
                   {{"entries", std::to_string(s.entries)},
                    {"fresh", std::to_string(s.fresh)},
                    {"expired", std::to_string(s.expired)},
                    {"size", util::human_bytes(static_cast<std::uintmax_t>(s.bytes))},
                    {"hits", std::to_string(s.hits)},
                    {"ttl", opts.cache_ttl.count() ? ctx.config().get_or("llm.cache.ttl", "7d") : "never expires"},
                    {"enabled", opts.use_cache ? "yes" : "no (llm.cache.enabled)"}},
                   color);
    });
    return 0;
  });
  auto* clear = cache->add_subcommand("clear", "Remove cached responses");
  clear->add_flag("--expired", a->expired_only, "Remove only entries older than llm.cache.ttl");
  on_run(clear, ctx, [&ctx, a] {
    llm::ResponseCache c(ctx.ws().db(), llm::client_options(ctx.config()).cache_ttl);
    auto n = c.clear(a->expired_only, util::now_ns() / 1'000'000);
    emit(ctx, {{"removed", n}}, [&](std::ostream& os, bool) {
      if (!ctx.opts.quiet) os << "removed " << n << (n == 1 ? " entry" : " entries") << "\n";
    });
    return 0;
  });
}

}  // namespace mlops::cli
