#include "llm/service.hpp"

#include <set>

#include "util/json_text.hpp"
#include "util/time.hpp"

namespace mlops::llm {

using nlohmann::json;

namespace {

std::int64_t now_ms() { return util::now_ns() / 1'000'000; }

int int_setting(const config::Config& cfg, const std::string& key, int fallback, int min) {
  auto v = cfg.get(key);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    int n = std::stoi(v->value, &used);
    if (used == v->value.size() && n >= min) return n;
  } catch (const std::exception&) {
  }
  throw ConfigError("invalid value '" + v->value + "' for " + key + " (" + v->origin + ")",
                    "write a whole number of at least " + std::to_string(min));
}


// The ledger's status word for a failed call.
std::string ledger_status(ErrorKind k) {
  return k == ErrorKind::bad_request ? "bad_request" : error_kind_name(k);
}

cost::Usage billed(const Usage& u) {
  // The cost module bills uncached input apart from cache reads and writes.
  return {std::max<std::int64_t>(0, u.input_tokens - u.cache_read_tokens - u.cache_write_tokens), u.output_tokens,
          u.cache_read_tokens, u.cache_write_tokens};
}

}  // namespace

ClientOptions client_options(const config::Config& cfg) {
  ClientOptions o;
  if (auto v = cfg.get("llm.timeout")) o.transport.timeout = duration_setting(*v);
  if (auto v = cfg.get("llm.connect_timeout")) o.transport.connect_timeout = duration_setting(*v);
  o.transport.max_retries = int_setting(cfg, "llm.max_retries", o.transport.max_retries, 0);
  o.transport.max_concurrency = int_setting(cfg, "llm.concurrency", o.transport.max_concurrency, 1);
  o.use_cache = cfg.get_bool("llm.cache.enabled", true);
  if (auto v = cfg.get("llm.cache.ttl")) o.cache_ttl = v->value == "0" ? std::chrono::milliseconds(0) : duration_setting(*v);
  return o;
}

std::int64_t estimate_tokens(const ChatRequest& rq) {
  std::size_t bytes = 0;
  for (const auto& m : rq.messages) bytes += m.content.size();
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / 4));
}

Client::Client(store::Db& db, const config::Config& cfg, config::EnvLookup env, trace::Tracer& tracer,
               std::optional<std::size_t> parent_span, std::vector<std::filesystem::path> pricing_dirs,
               ClientOptions options)
    : db_(db),
      cfg_(cfg),
      env_(std::move(env)),
      tracer_(tracer),
      parent_span_(parent_span),
      opts_(options),
      prices_(cost::PriceTable::load(pricing_dirs)),
      ledger_(db),
      budgets_(db),
      cache_(db, options.cache_ttl) {
  try {
    trace_enabled_ = cfg.get_bool("trace.enabled", true);
  } catch (const Error&) {
    // A malformed value fails the command elsewhere; spans are kept as by default.
  }
}

Client::~Client() {
  try {
    flush();  // rows of calls made before an exception still reach the ledger
  } catch (...) {
  }
}

Provider& Client::provider(const std::string& name) {
  auto it = providers_.find(name);
  if (it == providers_.end()) {
    auto settings = provider_settings(name, cfg_, env_);
    if (!settings.timeout) settings.timeout = opts_.transport.timeout;  // llm.timeout / --timeout
    it = providers_.emplace(name, make_provider(std::move(settings), env_)).first;
  }
  return *it->second;
}

void Client::register_provider(const std::string& key, ProviderSettings settings) {
  if (!settings.timeout) settings.timeout = opts_.transport.timeout;
  providers_[key] = make_provider(std::move(settings), env_);
}

TransportStats Client::transport_stats() const { return transport_ ? transport_->stats() : TransportStats{}; }

CallResult Client::call(const CallJob& job) {
  auto results = call_many({job});
  CallResult& r = results.front();
  if (!r.ok()) throw LlmError(r.error, r.error_message, r.error_hint);
  return std::move(r);
}

std::vector<CallResult> Client::call_many(const std::vector<CallJob>& jobs,
                                          const std::function<void(std::size_t, const CallResult&)>& on_done) {
  std::vector<CallResult> results(jobs.size());
  std::vector<std::size_t> spans(jobs.size());
  std::vector<bool> started(jobs.size(), false);
  std::vector<Provider*> provs(jobs.size(), nullptr);
  std::vector<ChatRequest> requests(jobs.size());
  std::vector<HttpRequest> http;
  std::vector<std::size_t> http_job;  // http[k] belongs to jobs[http_job[k]]
  std::int64_t now = now_ms();
  double batch_estimate = 0;
  std::optional<bool> any_budget;

  std::vector<std::string> keys(jobs.size());
  auto done = [&](std::size_t i) {
    finish(jobs[i], results[i], provs[i], keys[i], spans[i]);
    if (started[i]) ended_spans_.push_back(spans[i]);
    if (on_done) on_done(i, results[i]);
  };

  // The cache lookups of a batch in one read transaction rather than one each
  // (a lookup outside a transaction opens and closes its own): the keys are
  // worked out as the loop below does, and a job that fails to resolve here is
  // left to the loop, which reports it in order as before.
  std::vector<std::optional<ChatResponse>> prefetched;
  if (opts_.use_cache && jobs.size() > 1) {
    prefetched.resize(jobs.size());
    db_.read([&] {
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        try {
          auto [name, model] = split_provider_id(jobs[i].provider_id);
          ChatRequest rq = jobs[i].request;
          if (rq.model.empty()) rq.model = model;
          Provider& p = provider(name);
          if (rq.model.empty() && p.settings().type == "echo") rq.model = "echo";
          if (p.settings().type != "echo" && p.settings().type != "exec" && rq.model.empty()) continue;
          keys[i] = cache_key(p.settings(), rq);
          prefetched[i] = cache_.get(keys[i], now, false);
        } catch (...) {
          keys[i].clear();
        }
      }
    });
  }

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const CallJob& job = jobs[i];
    CallResult& r = results[i];
    r.trace_id = tracer_.trace_id();
    auto [name, model] = std::pair<std::string, std::string>{};
    try {
      std::tie(name, model) = split_provider_id(job.provider_id);
      r.provider = name;
      ChatRequest& rq = requests[i];
      rq = job.request;
      if (rq.model.empty()) rq.model = model;
      Provider& p = provider(name);
      provs[i] = &p;
      if (rq.model.empty() && p.settings().type == "echo") rq.model = "echo";
      r.provider = p.settings().name;
      r.model = rq.model;
      r.system = p.system_name();
      spans[i] = tracer_.start("chat " + rq.model, parent_span_, "client");
      started[i] = true;
      if (p.settings().type != "echo" && p.settings().type != "exec" && rq.model.empty())
        throw UsageError("no model given for provider '" + name + "'", "write " + name + ":MODEL, e.g. openai:gpt-4o-mini");

      if (opts_.use_cache) {
        std::optional<ChatResponse> hit;
        if (!prefetched.empty() && !keys[i].empty()) {
          hit = std::move(prefetched[i]);
        } else {
          keys[i] = cache_key(p.settings(), rq);
          hit = cache_.get(keys[i], now, false);
        }
        if (hit) {
          pending_hits_.emplace_back(keys[i], now);  // counted with the ledger rows, not a write per hit
          r.response = std::move(*hit);
          r.cache_hit = true;
          r.cost_usd = 0.0;  // nothing was sent, nothing is billed
          done(i);
          continue;
        }
      }
      // Estimated before sending: input bytes / 4, and max_tokens of output (Anthropic's
      // default when the provider needs one). An unknown price estimates 0.
      std::int64_t out_tokens = rq.max_tokens.value_or(p.settings().type == "anthropic" ? 1024 : 0);
      double estimate = prices_.cost(r.provider, rq.model, billed({estimate_tokens(rq), out_tokens, 0, 0})).value_or(0);
      // Budgets are listed once per batch, so that with none defined (the common
      // case) a call does not pay for the query.
      if (!any_budget) any_budget = !budgets_.list().empty();
      if (*any_budget) budgets_.check_before({r.provider, rq.model, job.context.prompt}, batch_estimate + estimate, now);
      batch_estimate += estimate;

      if (p.is_http()) {
        HttpRequest h = p.build(rq);
        h.timeout = p.settings().timeout;
        for (const auto& hdr : p.settings().headers) h.headers.push_back(hdr);
        h.headers.emplace_back("traceparent", tracer_.traceparent(spans[i]));
        http.push_back(std::move(h));
        http_job.push_back(i);
        continue;
      }
      auto started = std::chrono::steady_clock::now();
      r.attempts = 1;
      try {
        r.response = p.complete(rq);
      } catch (...) {
        r.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        throw;
      }
      r.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      done(i);
    } catch (const LlmError& e) {
      r.error = e.kind;
      r.error_message = e.what();
      r.error_hint = e.hint();
      done(i);
    } catch (const CheckFailed& e) {
      r.error = ErrorKind::budget;
      r.error_message = e.what();
      r.error_hint = e.hint();
      done(i);
    } catch (const Error& e) {
      // A bad provider id, model or configuration: the whole run is wrong, stop here.
      if (started[i]) tracer_.end(spans[i], trace::Status::error, e.what());
      throw;
    }
  }

  if (!http.empty()) {
    if (!transport_) transport_ = std::make_unique<Transport>(opts_.transport);
    transport_->run(http, [&](std::size_t k, Outcome&& o) {
      std::size_t i = http_job[k];
      CallResult& r = results[i];
      Provider& p = *provs[i];
      r.attempts = o.attempts;
      r.latency_ms = o.latency_ms;
      r.error = o.error;
      if (o.error == ErrorKind::none) {
        try {
          r.response = p.parse(*o.response);
        } catch (const LlmError& e) {
          r.error = e.kind;
          r.error_message = e.what();
          r.error_hint = e.hint();
        }
        done(i);
        return;
      }
      // Only failures need the message parts; error_detail parses the body again.
      const std::string& url = p.settings().base_url;
      std::string tries = o.attempts > 1 ? " after " + std::to_string(o.attempts) + " attempts" : "";
      std::string detail = o.response ? p.error_detail(*o.response) : std::string();
      std::string status = o.response ? "HTTP " + std::to_string(o.response->status) : o.message;
      std::string suffix = detail.empty() ? "" : ": " + detail;
      switch (o.error) {
        case ErrorKind::auth:
          r.error_message = r.provider + " rejected the credentials (" + status + ")" + suffix;
          r.error_hint = p.settings().api_key_env.empty()
                             ? "set providers." + r.provider + ".api_key_env to the variable holding the key"
                             : "check the key in " + p.settings().api_key_env;
          break;
        case ErrorKind::rate_limit:
          r.error_message = r.provider + " is rate limiting (" + status + ")" + tries + suffix;
          r.error_hint = "wait and retry, lower llm.concurrency, or raise --max-retries";
          break;
        case ErrorKind::timeout:
          r.error_message = "no answer from " + url_host(url) + " within " +
                            std::to_string(opts_.transport.timeout.count() / 1000.0).substr(0, 5) + " s" + tries;
          r.error_hint = "raise --timeout or llm.timeout, or check the server's load";
          break;
        case ErrorKind::connection:
          r.error_message = "cannot reach " + url + " (" + o.message + ")" + tries;
          r.error_hint = "check providers." + r.provider + ".base_url and that the server is running";
          break;
        case ErrorKind::server:
          r.error_message = r.provider + " failed (" + status + ")" + tries + suffix;
          r.error_hint = "the provider is having trouble; retry later";
          break;
        default:
          r.error_message = r.provider + " refused the request (" + status + ")" + suffix;
          r.error_hint = "check the model name and the parameters";
          break;
      }
      done(i);
    }, [&] { return maybe_flush(true); });
  }

  flush();
  std::vector<cost::CallScope> scopes;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const CallResult& r = results[i];
    if (!r.ok() || r.cache_hit || !r.cost_usd) continue;
    std::string k = r.provider + "\n" + r.model + "\n" + jobs[i].context.prompt.value_or("");
    if (seen.insert(k).second) scopes.push_back({r.provider, r.model, jobs[i].context.prompt});
  }
  if (!scopes.empty()) send_alerts(scopes);
  return results;
}

void Client::finish(const CallJob& job, CallResult& r, Provider* p, const std::string& key, std::size_t span) {
  std::int64_t end_ns = util::now_ns();
  if (r.ok() && !r.cache_hit && p) {
    auto usage = billed(r.response.usage);
    // Priced by provider name: an alias (local:, a gateway) is unknown unless the
    // workspace prices it, rather than silently billed at another provider's rates.
    r.cost_usd = prices_.cost(r.provider, r.model, usage);
    // Only answers are cached, never errors.
    if (opts_.use_cache && !key.empty()) pending_cache_.push_back({key, r.provider, r.model, r.response, end_ns / 1'000'000});
  }

  // The span: OpenTelemetry GenAI semantic conventions (client span "chat MODEL").
  trace::Span& s = tracer_.span(span);
  r.span_id = s.span_id;
  s.start_ns = end_ns - static_cast<std::int64_t>(r.latency_ms * 1e6);
  // Written straight to JSON text (the bytes nlohmann's dump() gives, keys
  // sorted): no document per call. Tracer stores it as it is.
  util::JsonObjectWriter a;
  auto number = [](double v) { return json(v).dump(); };
  const std::string& system = r.system.empty() ? r.provider : r.system;
  a.string("gen_ai.operation.name", "chat");
  a.string("gen_ai.provider.name", system);
  a.string("gen_ai.system", system);
  a.string("gen_ai.request.model", r.model);
  if (job.request.temperature) a.raw("gen_ai.request.temperature", number(*job.request.temperature));
  if (job.request.max_tokens) a.integer("gen_ai.request.max_tokens", *job.request.max_tokens);
  if (p && p->is_http()) {
    std::string host = url_host(p->settings().base_url);
    auto colon = host.rfind(':');
    a.string("server.address", colon == std::string::npos ? std::string_view(host) : std::string_view(host).substr(0, colon));
    if (colon != std::string::npos) a.integer("server.port", std::atoi(host.c_str() + colon + 1));
  }
  a.string("mlops.llm.provider", r.provider);
  a.boolean("mlops.llm.cache_hit", r.cache_hit);
  a.integer("mlops.llm.attempts", r.attempts);
  if (job.context.prompt) a.string("mlops.prompt.name", *job.context.prompt);
  if (job.context.prompt_version) a.integer("mlops.prompt.version", *job.context.prompt_version);
  if (job.context.eval_id) a.string("mlops.eval.id", *job.context.eval_id);
  if (job.context.experiment_id) a.string("mlops.experiment.id", *job.context.experiment_id);
  if (r.ok()) {
    if (!r.response.response_model.empty()) a.string("gen_ai.response.model", r.response.response_model);
    if (!r.response.response_id.empty()) a.string("gen_ai.response.id", r.response.response_id);
    a.integer("gen_ai.usage.input_tokens", r.response.usage.input_tokens);
    a.integer("gen_ai.usage.output_tokens", r.response.usage.output_tokens);
    if (r.response.usage.cache_read_tokens)
      a.integer("gen_ai.usage.cache_read.input_tokens", r.response.usage.cache_read_tokens);
    if (r.response.usage.cache_write_tokens)
      a.integer("gen_ai.usage.cache_creation.input_tokens", r.response.usage.cache_write_tokens);
    std::string& reasons = a.begin("gen_ai.response.finish_reasons");
    reasons += '[';
    util::append_json_string(reasons, r.response.finish_reason);
    reasons += ']';
    if (r.cost_usd) a.raw("mlops.llm.cost_usd", number(*r.cost_usd));
    s.attributes_json = a.finish();
    tracer_.end(span, trace::Status::ok);
  } else {
    a.string("error.type", error_kind_name(r.error));
    s.attributes_json = a.finish();
    tracer_.end(span, trace::Status::error, r.error_message);
  }
  s.end_ns = end_ns;

  // One ledger row per call, failures included (they cost time, and sometimes money).
  cost::CallRecord rec;
  rec.ts_ms = end_ns / 1'000'000;
  rec.provider = r.provider;
  rec.model = r.model;
  rec.prompt = job.context.prompt;
  rec.prompt_version = job.context.prompt_version;
  rec.eval_id = job.context.eval_id;
  rec.experiment_id = job.context.experiment_id;
  if (r.ok() && !r.cache_hit) rec.usage = billed(r.response.usage);
  rec.cost_usd = r.ok() ? r.cost_usd : std::optional<double>(0.0);
  rec.latency_ms = r.latency_ms;
  rec.status = r.ok() ? "ok" : ledger_status(r.error);
  rec.cache_hit = r.cache_hit;
  rec.trace_id = r.trace_id;
  rec.span_id = r.span_id;
  pending_records_.push_back(std::move(rec));
  // Rows are written in batches: one transaction per flush_batch calls or
  // flush_interval keeps a large eval from paying a commit per call, and nothing
  // waits on the network while the write lock is held.
  maybe_flush(false);
}

std::chrono::milliseconds Client::maybe_flush(bool turn_end) {
  using std::chrono::milliseconds;
  if (pending_records_.empty() && pending_cache_.empty() && pending_hits_.empty()) return milliseconds(1000);
  auto since = std::chrono::steady_clock::now() - last_flush_;
  bool due = opts_.flush_interval.count() == 0 ? turn_end : since >= opts_.flush_interval;
  if (pending_records_.size() >= opts_.flush_batch || due) {
    flush();
    return milliseconds(1000);
  }
  if (opts_.flush_interval.count() == 0) return milliseconds(0);
  // Rounded up, so the transport does not wake a millisecond early and spin.
  return std::chrono::ceil<milliseconds>(opts_.flush_interval - since);
}

namespace {
// Finished call spans kept in memory (about 2.5 KB each) before they are written
// with a ledger batch; fewer stay for the command's own flush at exit.
constexpr std::size_t k_spans_held = 1024;
}  // namespace

void Client::flush() {
  last_flush_ = std::chrono::steady_clock::now();
  bool spill = ended_spans_.size() >= k_spans_held;
  if (pending_records_.empty() && pending_cache_.empty() && pending_hits_.empty() && !spill) return;
  db_.write([&] {
    ledger_.record_batch(pending_records_);
    for (const auto& c : pending_cache_) cache_.put(c.key, c.provider, c.model, c.response, c.now_ms);
    for (const auto& [key, when] : pending_hits_) cache_.count_hit(key, when);
    if (spill && trace_enabled_) tracer_.write_spans(db_, ended_spans_);
  });
  pending_records_.clear();
  pending_cache_.clear();
  pending_hits_.clear();
  if (spill) {
    tracer_.release(ended_spans_);
    ended_spans_.clear();
  }
}

void Client::send_alerts(const std::vector<cost::CallScope>& scopes) {
  std::int64_t now = now_ms();
  std::vector<cost::Alert> alerts;
  for (const auto& sc : scopes)
    for (auto& a : budgets_.alerts_after(sc, now)) alerts.push_back(std::move(a));
  if (alerts.empty()) return;
  std::vector<HttpRequest> posts;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    notices_.push_back(alerts[i].text);
    if (alerts[i].notify_url.empty()) continue;
    HttpRequest h;
    h.url = alerts[i].notify_url;
    h.headers = {{"Content-Type", "application/json"}};
    h.body = cost::slack_payload(alerts[i]);
    posts.push_back(std::move(h));
    which.push_back(i);
  }
  if (posts.empty()) return;
  TransportOptions o = opts_.transport;
  o.max_retries = std::min(o.max_retries, 2);
  o.timeout = std::min(o.timeout, std::chrono::milliseconds(10'000));
  Transport t(o);
  t.run(posts, [&](std::size_t k, Outcome&& out) {
    if (out.error != ErrorKind::none)
      notices_.push_back("could not notify " + url_host(alerts[which[k]].notify_url) + " about budget '" +
                         alerts[which[k]].budget + "': " + (out.response ? "HTTP " + std::to_string(out.response->status) : out.message));
  });
}

}  // namespace mlops::llm
