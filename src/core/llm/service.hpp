#pragma once
// An LLM call as the product makes it: resolve the provider, answer from the
// response cache when allowed, refuse before sending when a hard budget would be
// crossed, send through the transport (many calls at once for evals), price the
// usage, write one ledger row and one OpenTelemetry GenAI span per call, and post
// soft-budget alerts to their webhooks afterwards.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "cost/budget.hpp"
#include "cost/ledger.hpp"
#include "cost/pricing.hpp"
#include "llm/cache.hpp"
#include "llm/provider.hpp"
#include "llm/transport.hpp"
#include "store/db.hpp"
#include "trace/trace.hpp"

namespace mlops::llm {

// Settings from config (llm.*), overridable by flags.
struct ClientOptions {
  TransportOptions transport;
  bool use_cache = true;
  // Ledger rows and cache entries are written in one transaction per batch: once
  // flush_batch calls have finished, or flush_interval after the last write while
  // calls are pending, whichever comes first (also while no call finishes: the
  // transport wakes the client for it). A run killed mid-way loses at most the calls
  // of the last flush_interval from the cache. flush_interval 0 writes the answers
  // of each turn of the transport's loop before it waits on the network again: as
  // durable as a transaction per call (a killed run resends only the calls that
  // were in flight), but one transaction for all the answers that landed together.
  std::size_t flush_batch = 128;
  std::chrono::milliseconds flush_interval{250};
  std::chrono::milliseconds cache_ttl{7LL * 24 * 3600 * 1000};  // 0 = never expires
};
// Reads llm.timeout, llm.connect_timeout, llm.max_retries, llm.concurrency,
// llm.cache.enabled and llm.cache.ttl; ConfigError naming the key when malformed.
ClientOptions client_options(const config::Config& cfg);

// Where a call comes from, for the ledger and the span.
struct CallContext {
  std::optional<std::string> prompt;
  std::optional<int> prompt_version;
  std::optional<std::string> eval_id;
  std::optional<std::string> experiment_id;
};

struct CallJob {
  std::string provider_id;  // NAME:MODEL
  ChatRequest request;      // model filled from provider_id when empty
  CallContext context;
};

struct CallResult {
  std::string provider;  // the provider name
  std::string system;    // gen_ai.provider.name
  std::string model;
  ChatResponse response;
  std::optional<double> cost_usd;  // nullopt = unknown price
  double latency_ms = 0;
  bool cache_hit = false;
  int attempts = 0;
  std::string trace_id, span_id;
  ErrorKind error = ErrorKind::none;
  std::string error_message, error_hint;
  bool ok() const { return error == ErrorKind::none; }
};

// Embeddings of several texts from one provider (one HTTP request for the texts
// not in the cache).
struct EmbedJob {
  std::string provider_id;  // NAME:MODEL
  std::vector<std::string> inputs;
  CallContext context;
};

struct EmbedResult {
  std::string provider, model;
  std::vector<std::vector<double>> embeddings;  // one per input when ok()
  std::int64_t input_tokens = 0;                // billed tokens of the texts sent
  std::optional<double> cost_usd;               // nullopt = unknown price
  double latency_ms = 0;
  std::size_t cache_hits = 0;  // inputs answered from the cache
  ErrorKind error = ErrorKind::none;
  std::string error_message, error_hint;
  bool ok() const { return error == ErrorKind::none; }
};

class Client {
 public:
  // `parent_span`: the command's span, under which every call's span hangs.
  Client(store::Db& db, const config::Config& cfg, config::EnvLookup env, trace::Tracer& tracer,
         std::optional<std::size_t> parent_span, std::vector<std::filesystem::path> pricing_dirs,
         ClientOptions options);
  ~Client();

  // Makes `key` (used as KEY:MODEL in jobs) a provider with these settings, e.g. an
  // eval suite's provider with its own base URL. Results and the ledger carry
  // settings.name as the provider.
  void register_provider(const std::string& key, ProviderSettings settings);

  // One call. Throws LlmError (exit 3; exit 1 for a budget) after recording the
  // failure in the ledger and the trace.
  CallResult call(const CallJob& job);
  // Many calls at once, up to the concurrency limit; failures are reported in
  // each result, never thrown. `on_done` (optional) sees each result as it lands.
  std::vector<CallResult> call_many(const std::vector<CallJob>& jobs,
                                    const std::function<void(std::size_t, const CallResult&)>& on_done = {});

  // Embeddings, many jobs at once (llm/embeddings.cpp). Each input text is cached
  // on its own (an embedding cache key); texts not cached go in one request per
  // job. One ledger row and one span ("embeddings MODEL") per job. Failures are
  // reported in each result; a provider without an embeddings endpoint throws
  // UsageError before anything is sent.
  std::vector<EmbedResult> embed_many(const std::vector<EmbedJob>& jobs);
  // Throws UsageError when `provider_id` is unknown or cannot embed.
  void check_embedder(const std::string& provider_id);

  // Soft-budget alerts raised (and whether their webhook took them), for the CLI to show.
  const std::vector<std::string>& notices() const { return notices_; }
  const cost::PriceTable& prices() const { return prices_; }
  TransportStats transport_stats() const;

 private:
  Provider& provider(const std::string& name);
  void finish(const CallJob& job, CallResult& r, Provider* p, const std::string& cache_key, std::size_t span);
  void send_alerts(const std::vector<cost::CallScope>& scopes);
  // Writes the buffered ledger rows, cache entries and cache hit counts in one transaction.
  void flush();
  // Flushes when the batch is full or flush_interval has passed (`turn_end`: the
  // transport is about to wait, which is when a flush_interval of 0 writes); returns
  // how long until it must be asked again.
  std::chrono::milliseconds maybe_flush(bool turn_end);

  store::Db& db_;
  const config::Config& cfg_;
  config::EnvLookup env_;
  trace::Tracer& tracer_;
  std::optional<std::size_t> parent_span_;
  ClientOptions opts_;
  cost::PriceTable prices_;
  cost::Ledger ledger_;
  cost::Budgets budgets_;
  ResponseCache cache_;
  std::map<std::string, std::unique_ptr<Provider>> providers_;
  std::unique_ptr<Transport> transport_;  // created on the first HTTP call (loads libcurl)
  std::vector<std::string> notices_;
  struct CachePut {
    std::string key, provider, model;
    ChatResponse response;
    std::int64_t now_ms;
  };
  std::vector<cost::CallRecord> pending_records_;
  std::vector<CachePut> pending_cache_;
  std::vector<std::pair<std::string, std::int64_t>> pending_hits_;  // cache key, when
  // Finished call spans still held by the tracer. Past k_spans_held they are written
  // with the next batch and freed, so a 100,000-call eval does not hold 100,000 spans.
  std::vector<std::size_t> ended_spans_;
  bool trace_enabled_ = true;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
};

// A rough token count for budget estimates before a call: bytes / 4, at least 1.
std::int64_t estimate_tokens(const ChatRequest& request);

}  // namespace mlops::llm
