// Client::embed_many: embeddings through the same cache, budgets, transport,
// ledger and trace as chat calls.
#include <set>

#include <nlohmann/json.hpp>

#include "llm/service.hpp"
#include "util/time.hpp"

namespace mlops::llm {

using nlohmann::json;

namespace {

std::int64_t now_ms() {
  return util::now_ns() / 1'000'000;
}

std::optional<std::vector<double>> cached_vector(const std::string& document) {
  json j = json::parse(document, nullptr, false);
  if (!j.is_object() || !j.contains("embedding") || !j["embedding"].is_array() || j["embedding"].empty())
    return std::nullopt;  // a damaged entry is a miss; the next answer overwrites it
  std::vector<double> v;
  v.reserve(j["embedding"].size());
  for (const auto& x : j["embedding"]) {
    if (!x.is_number()) return std::nullopt;
    v.push_back(x.get<double>());
  }
  return v;
}

std::string failure_message(const std::string& provider, const std::string& url, const Outcome& o,
                            const std::string& detail, std::string& hint) {
  std::string status = o.response ? "HTTP " + std::to_string(o.response->status) : o.message;
  std::string suffix = detail.empty() ? "" : ": " + detail;
  std::string tries = o.attempts > 1 ? " after " + std::to_string(o.attempts) + " attempts" : "";
  switch (o.error) {
    case ErrorKind::auth:
      hint = "check the API key of provider '" + provider + "'";
      return provider + " rejected the credentials (" + status + ")" + suffix;
    case ErrorKind::rate_limit:
      hint = "wait and retry, lower llm.concurrency, or raise --max-retries";
      return provider + " is rate limiting (" + status + ")" + tries + suffix;
    case ErrorKind::timeout:
      hint = "raise --timeout or llm.timeout";
      return "no answer from " + url_host(url) + tries;
    case ErrorKind::connection:
      hint = "check providers." + provider + ".base_url and that the server is running";
      return "cannot reach " + url_host(url) + " (" + o.message + ")" + tries;
    case ErrorKind::server:
      hint = "the provider is having trouble; retry later";
      return provider + " failed (" + status + ")" + tries + suffix;
    default:
      hint = "check the embedding model name";
      return provider + " refused the embeddings request (" + status + ")" + suffix;
  }
}

}  // namespace

void Client::check_embedder(const std::string& provider_id) {
  auto [name, model] = split_provider_id(provider_id);
  Provider& p = provider(name);
  if (!p.can_embed()) p.build_embed({});  // throws the provider's UsageError
  if (model.empty())
    throw UsageError("no embedding model given for provider '" + name + "'",
                     "write " + name + ":MODEL, e.g. openai:text-embedding-3-small or ollama:nomic-embed-text");
}

std::vector<EmbedResult> Client::embed_many(const std::vector<EmbedJob>& jobs) {
  std::vector<EmbedResult> results(jobs.size());
  std::vector<Provider*> provs(jobs.size(), nullptr);
  std::vector<std::vector<std::size_t>> sent(jobs.size());  // positions of the inputs sent
  std::vector<std::vector<std::string>> keys(jobs.size());
  std::vector<std::size_t> spans(jobs.size());
  std::vector<HttpRequest> http;
  std::vector<std::size_t> http_job;
  std::vector<std::string> hits;
  struct Put {
    std::string key, provider, model, document;
  };
  std::vector<Put> puts;
  std::vector<cost::CallRecord> records;
  std::int64_t now = now_ms();

  // Every provider first: a bad id or one without embeddings stops before anything is sent.
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    check_embedder(jobs[i].provider_id);
    provs[i] = &provider(split_provider_id(jobs[i].provider_id).first);
  }

  auto finish = [&](std::size_t i) {
    EmbedResult& r = results[i];
    std::int64_t end_ns = util::now_ns();
    trace::Span& s = tracer_.span(spans[i]);
    s.start_ns = end_ns - static_cast<std::int64_t>(r.latency_ms * 1e6);
    json& a = s.attributes;
    a["gen_ai.operation.name"] = "embeddings";
    a["gen_ai.provider.name"] = provs[i]->system_name();
    a["gen_ai.request.model"] = r.model;
    a["gen_ai.usage.input_tokens"] = r.input_tokens;
    a["mlops.llm.provider"] = r.provider;
    a["mlops.llm.cache_hit"] = r.cache_hits == jobs[i].inputs.size();
    a["mlops.llm.embedding.inputs"] = jobs[i].inputs.size();
    if (jobs[i].context.eval_id) a["mlops.eval.id"] = *jobs[i].context.eval_id;
    if (r.cost_usd) a["mlops.llm.cost_usd"] = *r.cost_usd;
    if (r.ok()) {
      tracer_.end(spans[i], trace::Status::ok);
    } else {
      a["error.type"] = error_kind_name(r.error);
      tracer_.end(spans[i], trace::Status::error, r.error_message);
    }
    s.end_ns = end_ns;
    cost::CallRecord rec;
    rec.ts_ms = end_ns / 1'000'000;
    rec.provider = r.provider;
    rec.model = r.model;
    rec.eval_id = jobs[i].context.eval_id;
    rec.experiment_id = jobs[i].context.experiment_id;
    rec.prompt = jobs[i].context.prompt;
    rec.prompt_version = jobs[i].context.prompt_version;
    if (r.ok()) rec.usage = {r.input_tokens, 0, 0, 0};
    rec.cost_usd = r.ok() ? r.cost_usd : std::optional<double>(0.0);
    rec.latency_ms = r.latency_ms;
    rec.status = r.ok() ? "ok" : (r.error == ErrorKind::bad_request ? "bad_request" : error_kind_name(r.error));
    rec.cache_hit = r.ok() && sent[i].empty();
    rec.trace_id = tracer_.trace_id();
    rec.span_id = s.span_id;
    records.push_back(std::move(rec));
  };

  std::optional<bool> any_budget;
  double batch_estimate = 0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const EmbedJob& job = jobs[i];
    EmbedResult& r = results[i];
    Provider& p = *provs[i];
    r.provider = p.settings().name;
    r.model = split_provider_id(job.provider_id).second;
    r.embeddings.resize(job.inputs.size());
    spans[i] = tracer_.start("embeddings " + r.model, parent_span_, "client");
    keys[i].resize(job.inputs.size());
    for (std::size_t k = 0; k < job.inputs.size(); ++k) {
      if (opts_.use_cache) {
        keys[i][k] = embedding_cache_key(p.settings(), r.model, job.inputs[k]);
        if (auto doc = cache_.get_raw(keys[i][k], now))
          if (auto v = cached_vector(*doc)) {
            r.embeddings[k] = std::move(*v);
            ++r.cache_hits;
            hits.push_back(keys[i][k]);
            continue;
          }
      }
      sent[i].push_back(k);
    }
    if (sent[i].empty()) {
      r.cost_usd = 0.0;  // nothing was sent, nothing is billed
      finish(i);
      continue;
    }
    EmbedRequest rq{r.model, {}};
    std::size_t bytes = 0;
    for (auto k : sent[i]) {
      rq.inputs.push_back(job.inputs[k]);
      bytes += job.inputs[k].size();
    }
    try {
      double estimate =
          prices_.cost(r.provider, r.model, {std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / 4)), 0, 0, 0})
              .value_or(0);
      if (!any_budget) any_budget = !budgets_.list().empty();
      if (*any_budget) budgets_.check_before({r.provider, r.model, job.context.prompt}, batch_estimate + estimate, now);
      batch_estimate += estimate;
    } catch (const CheckFailed& e) {
      r.error = ErrorKind::budget;
      r.error_message = e.what();
      r.error_hint = e.hint();
      finish(i);
      continue;
    }
    HttpRequest h = p.build_embed(rq);
    h.timeout = p.settings().timeout;
    for (const auto& hdr : p.settings().headers) h.headers.push_back(hdr);
    h.headers.emplace_back("traceparent", tracer_.traceparent(spans[i]));
    http.push_back(std::move(h));
    http_job.push_back(i);
  }

  if (!http.empty()) {
    if (!transport_) transport_ = std::make_unique<Transport>(opts_.transport);
    transport_->run(http, [&](std::size_t n, Outcome&& o) {
      std::size_t i = http_job[n];
      EmbedResult& r = results[i];
      Provider& p = *provs[i];
      r.latency_ms = o.latency_ms;
      r.error = o.error;
      if (o.error == ErrorKind::none) {
        try {
          auto got = p.parse_embed(*o.response, sent[i].size());
          r.input_tokens = got.input_tokens;
          r.cost_usd = prices_.cost(r.provider, r.model, {got.input_tokens, 0, 0, 0});
          for (std::size_t k = 0; k < sent[i].size(); ++k) {
            std::size_t at = sent[i][k];
            if (opts_.use_cache)
              puts.push_back({keys[i][at], r.provider, r.model,
                              json{{"embedding", got.embeddings[k]}, {"model", got.response_model}}.dump()});
            r.embeddings[at] = std::move(got.embeddings[k]);
          }
        } catch (const LlmError& e) {
          r.error = e.kind;
          r.error_message = e.what();
          r.error_hint = e.hint();
        }
      } else {
        std::string detail = o.response ? p.error_detail(*o.response) : std::string();
        r.error_message = failure_message(r.provider, p.settings().base_url, o, detail, r.error_hint);
      }
      finish(i);
    });
  }

  db_.write([&] {
    ledger_.record_batch(records);
    for (const auto& put : puts) cache_.put_raw(put.key, put.provider, put.model, put.document, now_ms());
    for (const auto& key : hits) cache_.count_hit(key, now);
  });
  // Soft budgets see embeddings like chat calls.
  std::vector<cost::CallScope> scopes;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const EmbedResult& r = results[i];
    if (!r.ok() || sent[i].empty() || !r.cost_usd) continue;
    if (seen.insert(r.provider + "\n" + r.model + "\n" + jobs[i].context.prompt.value_or("")).second)
      scopes.push_back({r.provider, r.model, jobs[i].context.prompt});
  }
  if (!scopes.empty()) send_alerts(scopes);
  return results;
}

}  // namespace mlops::llm
