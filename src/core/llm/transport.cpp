#include "llm/transport.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <deque>
#include <queue>
#include <random>
#include <thread>
#include <unordered_map>

#include "llm/curl_api.hpp"
#include "util/error.hpp"

namespace mlops::llm {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::none: return "none";
    case ErrorKind::auth: return "auth";
    case ErrorKind::rate_limit: return "rate_limit";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::bad_request: return "bad_request";
    case ErrorKind::bad_response: return "bad_response";
    case ErrorKind::server: return "server";
    case ErrorKind::connection: return "connection";
    case ErrorKind::budget: return "budget";
  }
  return "unknown";
}

bool is_retryable(ErrorKind k) {
  return k == ErrorKind::rate_limit || k == ErrorKind::server || k == ErrorKind::timeout ||
         k == ErrorKind::connection;
}

ErrorKind classify_status(long status) {
  if (status >= 200 && status < 300) return ErrorKind::none;
  if (status == 401 || status == 403) return ErrorKind::auth;
  if (status == 429) return ErrorKind::rate_limit;
  if (status == 408) return ErrorKind::timeout;
  if (status >= 500) return ErrorKind::server;  // includes Anthropic's 529 "overloaded"
  return ErrorKind::bad_request;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return std::nullopt;
}

std::optional<milliseconds> retry_after(const HttpResponse& r, std::int64_t now_unix_s) {
  if (auto ms = r.header("retry-after-ms")) {
    char* end = nullptr;
    double v = std::strtod(ms->c_str(), &end);
    if (end != ms->c_str() && std::isfinite(v) && v >= 0) return milliseconds(static_cast<std::int64_t>(v));
  }
  auto h = r.header("retry-after");
  if (!h) return std::nullopt;
  char* end = nullptr;
  double secs = std::strtod(h->c_str(), &end);
  if (end != h->c_str() && *end == '\0' && std::isfinite(secs) && secs >= 0)
    return milliseconds(static_cast<std::int64_t>(secs * 1000));
  // An HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  if (strptime(h->c_str(), "%a, %d %b %Y %H:%M:%S", &tm)) {
    std::int64_t when = timegm(&tm);
    return milliseconds(std::max<std::int64_t>(0, when - now_unix_s) * 1000);
  }
  return std::nullopt;
}

namespace {

ErrorKind classify_curl(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return ErrorKind::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return ErrorKind::connection;
    default: return ErrorKind::bad_request;  // malformed URL, TLS verification, …: retrying will not help
  }
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100-continue or a redirect)
    headers->clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  headers->emplace_back(std::move(name), std::string(value));
  return size * n;
}

}  // namespace

struct Transport::Impl {
  struct Slot {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::size_t index = 0;
    Clock::time_point started;
    std::string body;
    Headers response_headers;
    char error[CURL_ERROR_SIZE] = {};
  };
  struct Job {
    int attempts = 0;
    Clock::time_point first_start{};
    bool started = false;
  };

  const CurlApi& api;
  TransportOptions opts;
  CURLM* multi = nullptr;
  std::vector<CURL*> idle;  // easy handles to reuse
  std::mt19937_64 rng{std::random_device{}()};
  TransportStats stats;
  double limit = 0;  // adaptive concurrency limit (fractional for additive increase)
  Clock::time_point last_decrease{};

  Impl(TransportOptions o) : api(curl()), opts(o) {
    multi = api.multi_init();
    if (!multi) throw RuntimeError("libcurl could not create a transfer handle");
    limit = std::max(1, opts.max_concurrency);
    stats.concurrency_limit = stats.min_concurrency_limit = static_cast<int>(limit);
  }
  ~Impl() {
    for (CURL* e : idle) api.easy_cleanup(e);
    api.multi_cleanup(multi);
  }

  CURL* take_easy() {
    if (!idle.empty()) {
      CURL* e = idle.back();
      idle.pop_back();
      api.easy_reset(e);
      return e;
    }
    CURL* e = api.easy_init();
    if (!e) throw RuntimeError("libcurl could not create a request handle");
    return e;
  }

  void start(Slot& s, const HttpRequest& r) {
    s.easy = take_easy();
    s.body.clear();
    s.response_headers.clear();
    s.error[0] = '\0';
    for (const auto& [k, v] : r.headers) s.headers = api.slist_append(s.headers, (k + ": " + v).c_str());
    // curl would otherwise send "Expect: 100-continue" for bodies over 1 KiB and wait a round trip.
    s.headers = api.slist_append(s.headers, "Expect:");
    CURL* e = s.easy;
    api.easy_setopt(e, CURLOPT_URL, r.url.c_str());
    api.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(e, CURLOPT_HTTPHEADER, s.headers);
    if (r.method == "GET") {
      api.easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
      api.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      api.easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      if (r.method != "POST") api.easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    api.easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
    api.easy_setopt(e, CURLOPT_WRITEDATA, &s.body);
    api.easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
    api.easy_setopt(e, CURLOPT_HEADERDATA, &s.response_headers);
    api.easy_setopt(e, CURLOPT_ERRORBUFFER, s.error);
    api.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
    api.easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.value_or(opts.timeout).count()));
    api.easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    api.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    api.easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    api.easy_setopt(e, CURLOPT_PRIVATE, &s);
    s.started = Clock::now();
    if (auto rc = api.multi_add_handle(multi, e); rc != CURLM_OK)
      throw RuntimeError(std::string("libcurl: ") + api.multi_strerror(rc));
  }

  void finish(Slot& s) {
    api.multi_remove_handle(multi, s.easy);
    idle.push_back(s.easy);
    s.easy = nullptr;
    api.slist_free_all(s.headers);
    s.headers = nullptr;
  }

  milliseconds backoff(int attempt) {
    double base = static_cast<double>(opts.backoff_base.count()) * std::pow(2.0, attempt - 1);
    double cap = std::min(base, static_cast<double>(opts.backoff_max.count()));
    // "Equal jitter": half the window fixed, half random, so retries spread out but never fire at once.
    std::uniform_real_distribution<double> jitter(0.0, cap / 2);
    return milliseconds(static_cast<std::int64_t>(cap / 2 + jitter(rng)));
  }

  void on_rate_limited(Clock::time_point request_started) {
    ++stats.rate_limited;
    if (!opts.adaptive) return;
    // One decrease per window: 429s for requests sent before the last decrease
    // belong to the same overload and must not halve the limit again.
    if (request_started < last_decrease) return;
    limit = std::max(1.0, std::floor(limit / 2));
    last_decrease = Clock::now();
    stats.concurrency_limit = static_cast<int>(limit);
    stats.min_concurrency_limit = std::min(stats.min_concurrency_limit, stats.concurrency_limit);
  }
  void on_success() {
    if (!opts.adaptive || limit >= opts.max_concurrency) return;
    limit = std::min<double>(opts.max_concurrency, limit + 1.0 / limit);  // +1 per window of `limit` successes
    stats.concurrency_limit = static_cast<int>(limit);
  }

  void run(const std::vector<HttpRequest>& requests, const Done& on_done, const Tick& tick) {
    std::vector<Job> jobs(requests.size());
    std::deque<std::size_t> ready;
    for (std::size_t i = 0; i < requests.size(); ++i) ready.push_back(i);
    using Due = std::pair<Clock::time_point, std::size_t>;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> waiting;
    std::unordered_map<CURL*, std::unique_ptr<Slot>> active;

    auto complete = [&](std::size_t i, Outcome&& o) {
      o.attempts = jobs[i].attempts;
      o.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - jobs[i].first_start).count();
      on_done(i, std::move(o));
    };

    while (!ready.empty() || !waiting.empty() || !active.empty()) {
      auto now = Clock::now();
      while (!waiting.empty() && waiting.top().first <= now) {
        ready.push_back(waiting.top().second);
        waiting.pop();
      }
      while (!ready.empty() && static_cast<double>(active.size()) < std::floor(limit)) {
        std::size_t i = ready.front();
        ready.pop_front();
        auto slot = std::make_unique<Slot>();
        slot->index = i;
        if (!jobs[i].started) {
          jobs[i].started = true;
          jobs[i].first_start = Clock::now();
        }
        ++jobs[i].attempts;
        ++stats.attempts;
        start(*slot, requests[i]);
        CURL* key = slot->easy;
        active.emplace(key, std::move(slot));
      }
      stats.peak_in_flight = std::max(stats.peak_in_flight, static_cast<int>(active.size()));

      int running = 0;
      if (auto rc = api.multi_perform(multi, &running); rc != CURLM_OK)
        throw RuntimeError(std::string("libcurl: ") + api.multi_strerror(rc));
      int queued = 0;
      while (CURLMsg* msg = api.multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        auto it = active.find(msg->easy_handle);
        if (it == active.end()) continue;
        std::unique_ptr<Slot> slot = std::move(it->second);
        active.erase(it);
        CURLcode result = msg->data.result;
        long status = 0;
        api.easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
        finish(*slot);
        std::size_t i = slot->index;

        Outcome o;
        if (result != CURLE_OK) {
          o.error = classify_curl(result);
          o.message = slot->error[0] ? slot->error : api.easy_strerror(result);
        } else {
          HttpResponse& resp = o.response.emplace();
          resp.status = status;
          resp.headers = std::move(slot->response_headers);
          resp.body = std::move(slot->body);
          o.error = classify_status(status);
          if (o.error != ErrorKind::none) o.message = "HTTP " + std::to_string(status);
        }
        if (o.error == ErrorKind::none) on_success();
        if (o.error == ErrorKind::rate_limit) on_rate_limited(slot->started);

        if (is_retryable(o.error) && jobs[i].attempts <= opts.max_retries) {
          milliseconds wait = backoff(jobs[i].attempts);
          if (o.response)
            if (auto ra = retry_after(*o.response, static_cast<std::int64_t>(std::time(nullptr))))
              wait = std::min(std::max(*ra, milliseconds(1)), opts.retry_after_max);
          ++stats.retries;
          waiting.emplace(Clock::now() + wait, i);
          continue;
        }
        complete(i, std::move(o));
      }

      // Sleep until a transfer has work, the next retry is due, the caller's tick
      // wants to run, or at most 1 s.
      int timeout_ms = 1000;
      if (!waiting.empty()) {
        auto until = std::chrono::duration_cast<milliseconds>(waiting.top().first - Clock::now()).count();
        timeout_ms = static_cast<int>(std::clamp<std::int64_t>(until, 0, 1000));
      }
      if (tick) timeout_ms = static_cast<int>(std::clamp<std::int64_t>(tick().count(), 0, timeout_ms));
      if (!ready.empty() && static_cast<double>(active.size()) < std::floor(limit)) timeout_ms = 0;
      if (active.empty()) {
        if (timeout_ms > 0 && ready.empty() && !waiting.empty()) std::this_thread::sleep_for(milliseconds(timeout_ms));
      } else {
        int fds = 0;
        api.multi_poll(multi, nullptr, 0, timeout_ms, &fds);
      }
    }
  }
};

Transport::Transport(TransportOptions opts) : opts_(opts), impl_(std::make_unique<Impl>(opts)) {}
Transport::~Transport() = default;

void Transport::run(const std::vector<HttpRequest>& requests, const Done& on_done, const Tick& tick) {
  impl_->run(requests, on_done, tick);
}

Outcome Transport::send(const HttpRequest& request) {
  Outcome out;
  impl_->run({request}, [&](std::size_t, Outcome&& o) { out = std::move(o); }, {});
  return out;
}

TransportStats Transport::stats() const { return impl_->stats; }

std::string url_host(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  auto host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  auto at = host.rfind('@');  // user:password@host
  return at == std::string::npos ? host : host.substr(at + 1);
}

Outcome post_json(const std::string& url, const std::string& body) {
  TransportOptions o;
  o.max_retries = 2;
  o.timeout = std::chrono::milliseconds(10'000);
  Transport t(o);
  HttpRequest r;
  r.url = url;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body;
  return t.send(r);
}

}  // namespace mlops::llm
