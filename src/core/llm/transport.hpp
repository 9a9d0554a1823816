#pragma once
// HTTP transport for LLM calls, on libcurl's multi interface: many requests in
// flight on one thread, connections kept alive and reused across requests and
// across run() calls, connect and per-attempt timeouts, retries with exponential
// backoff and jitter on 429/5xx/408/connection errors/timeouts, Retry-After
// (seconds, HTTP date, or retry-after-ms) honoured, and an adaptive concurrency
// limit that halves on 429 and climbs back one step per window of successes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mlops::llm {

// How a call failed. `none` means a 2xx response.
enum class ErrorKind { none, auth, rate_limit, timeout, bad_request, bad_response, server, connection, budget };
const char* error_kind_name(ErrorKind k);
bool is_retryable(ErrorKind k);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  Headers headers;
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  // per attempt; the transport's when unset
};

struct HttpResponse {
  long status = 0;
  Headers headers;  // names lower-cased
  std::string body;
  std::optional<std::string> header(std::string_view name) const;
};

struct Outcome {
  std::optional<HttpResponse> response;  // the last response received, errors included
  ErrorKind error = ErrorKind::none;
  std::string message;  // transport-level detail (curl's message, the status)
  int attempts = 0;
  double latency_ms = 0;  // first send to completion, retries and waits included
};

// Maps an HTTP status to an error kind (2xx → none).
ErrorKind classify_status(long status);

// Seconds to wait from Retry-After / retry-after-ms headers; nullopt if absent or unparseable.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& r, std::int64_t now_unix_s);

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{120'000};  // per attempt
  int max_retries = 3;                         // 0: one attempt only
  int max_concurrency = 16;
  bool adaptive = true;  // halve the limit on 429, recover on success
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds retry_after_max{120'000};
};

struct TransportStats {
  std::int64_t attempts = 0;
  std::int64_t retries = 0;
  std::int64_t rate_limited = 0;
  int peak_in_flight = 0;
  int concurrency_limit = 0;  // the adaptive limit now
  int min_concurrency_limit = 0;
};

class Transport {
 public:
  explicit Transport(TransportOptions opts = {});
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  using Done = std::function<void(std::size_t index, Outcome&& outcome)>;
  // Called on the run's thread once per turn of the event loop (after the finished
  // transfers of that turn were handed to `on_done`); returns how long the loop may
  // wait before calling it again. A caller buffering work (the LLM client's ledger
  // batch) uses it to write at a bounded interval even while no transfer finishes.
  using Tick = std::function<std::chrono::milliseconds()>;
  // Sends every request, at most the concurrency limit at a time, and calls
  // `on_done` on this thread as each one finishes (success or final failure).
  // Throws only when libcurl cannot be loaded or used at all.
  void run(const std::vector<HttpRequest>& requests, const Done& on_done, const Tick& tick = {});
  Outcome send(const HttpRequest& request);

  const TransportOptions& options() const { return opts_; }
  TransportStats stats() const;

 private:
  struct Impl;
  TransportOptions opts_;
  std::unique_ptr<Impl> impl_;
};

// "host:port" of a URL: what messages may show of a webhook or base URL whose
// path or query can hold a secret.
std::string url_host(const std::string& url);

// POSTs a JSON body (webhooks: eval notifications, budget alerts) with a short
// timeout and two retries. Never throws for HTTP or network failures: see the outcome.
Outcome post_json(const std::string& url, const std::string& body);

}  // namespace mlops::llm
