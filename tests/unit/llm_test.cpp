// The llm module against the fake server (tests/fake_llm) over real loopback HTTP.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <limits>
#include <random>
#include <nlohmann/json.hpp>

#include "common/fake_llm.hpp"
#include "llm/cache.hpp"
#include "llm/provider.hpp"
#include "llm/service.hpp"
#include "llm/transport.hpp"
#include "store/db.hpp"
#include "support.hpp"
#include "util/time.hpp"

namespace mlops::llm {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

ChatRequest req(std::string model, std::vector<Message> messages, std::optional<double> temperature,
                std::optional<int> max_tokens) {
  ChatRequest r;
  r.model = std::move(model);
  r.messages = std::move(messages);
  r.temperature = temperature;
  r.max_tokens = max_tokens;
  return r;
}

class FakeServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::FakeLlmServer(MLOPS_SOURCE_DIR); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { control("POST", "/_reset"); }

  static json control(const std::string& method, const std::string& path) {
    Transport t({.max_retries = 0});
    HttpRequest r;
    r.method = method;
    r.url = server_->url() + path;
    auto o = t.send(r);
    EXPECT_EQ(o.error, ErrorKind::none) << o.message;
    return o.response ? json::parse(o.response->body, nullptr, false) : json();
  }
  static HttpRequest chat(const std::string& model, const std::string& text = "hello") {
    HttpRequest r;
    r.url = server_->url() + "/v1/chat/completions";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json{{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}}.dump();
    return r;
  }
  static TransportOptions fast(int retries = 3) {
    TransportOptions o;
    o.max_retries = retries;
    o.backoff_base = 10ms;
    o.backoff_max = 50ms;
    return o;
  }
  static std::unique_ptr<Provider> provider(const std::string& type, const std::string& key_env = {}) {
    ProviderSettings s;
    s.name = s.type = type;
    s.base_url = server_->url() + (type == "openai" ? "/v1" : "");
    s.api_key_env = key_env;
    return make_provider(s, [](const std::string& n) -> std::optional<std::string> {
      if (n == "TEST_KEY") return std::string("sk-test-123");
      return std::nullopt;
    });
  }
  static testing::FakeLlmServer* server_;
};
testing::FakeLlmServer* FakeServer::server_ = nullptr;

TEST(Transport, ClassifiesStatuses) {
  EXPECT_EQ(classify_status(200), ErrorKind::none);
  EXPECT_EQ(classify_status(401), ErrorKind::auth);
  EXPECT_EQ(classify_status(403), ErrorKind::auth);
  EXPECT_EQ(classify_status(429), ErrorKind::rate_limit);
  EXPECT_EQ(classify_status(408), ErrorKind::timeout);
  EXPECT_EQ(classify_status(529), ErrorKind::server);
  EXPECT_EQ(classify_status(404), ErrorKind::bad_request);
  EXPECT_TRUE(is_retryable(ErrorKind::rate_limit));
  EXPECT_FALSE(is_retryable(ErrorKind::auth));
  EXPECT_FALSE(is_retryable(ErrorKind::bad_request));
}

TEST(Transport, ParsesRetryAfter) {
  HttpResponse r;
  r.headers = {{"retry-after", "2"}};
  EXPECT_EQ(retry_after(r, 0), 2000ms);
  r.headers = {{"retry-after", "0.25"}};
  EXPECT_EQ(retry_after(r, 0), 250ms);
  r.headers = {{"retry-after-ms", "40"}, {"retry-after", "9"}};
  EXPECT_EQ(retry_after(r, 0), 40ms);
  r.headers = {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  EXPECT_EQ(retry_after(r, 1445412480 - 3), 3000ms);
  r.headers = {{"retry-after", "soon"}};
  EXPECT_FALSE(retry_after(r, 0));
  r.headers = {};
  EXPECT_FALSE(retry_after(r, 0));
}

TEST_F(FakeServer, RetriesRateLimitsUntilSuccess) {
  Transport t(fast());
  auto o = t.send(chat("m+fail=429x2"));
  EXPECT_EQ(o.error, ErrorKind::none) << o.message;
  EXPECT_EQ(o.attempts, 3);
  EXPECT_EQ(t.stats().rate_limited, 2);
  EXPECT_EQ(control("GET", "/_stats")["requests"], 3);
}

TEST_F(FakeServer, MaxRetriesZeroMeansOneAttempt) {
  Transport t(fast(0));
  auto o = t.send(chat("m+fail=500x1"));
  EXPECT_EQ(o.error, ErrorKind::server);
  EXPECT_EQ(o.attempts, 1);
  ASSERT_TRUE(o.response);
  EXPECT_EQ(o.response->status, 500);
}

TEST_F(FakeServer, GivesUpAfterMaxRetries) {
  Transport t(fast(2));
  auto o = t.send(chat("m+fail=503"));
  EXPECT_EQ(o.error, ErrorKind::server);
  EXPECT_EQ(o.attempts, 3);
}

TEST_F(FakeServer, HonoursRetryAfter) {
  Transport t(fast());
  auto start = std::chrono::steady_clock::now();
  auto o = t.send(chat("m+fail=429x1+retry_after=0.3"));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.error, ErrorKind::none);
  EXPECT_GE(took, 300ms);  // the 10 ms backoff alone would be much shorter
}

TEST_F(FakeServer, DoesNotRetryAuthOrBadRequests) {
  Transport t(fast());
  auto o = t.send(chat("m+auth"));
  EXPECT_EQ(o.error, ErrorKind::auth);
  EXPECT_EQ(o.attempts, 1);
  auto p = provider("openai");
  EXPECT_NE(p->error_detail(*o.response).find("API key"), std::string::npos) << o.response->body;
}

TEST_F(FakeServer, TimesOutAndRetriesDroppedConnections) {
  TransportOptions opts = fast(0);
  opts.timeout = 200ms;
  Transport t(opts);
  auto o = t.send(chat("m+hang=3000"));
  EXPECT_EQ(o.error, ErrorKind::timeout);
  EXPECT_LT(o.latency_ms, 2000);

  Transport t2(fast(0));
  auto dropped = t2.send(chat("m+drop"));
  EXPECT_EQ(dropped.error, ErrorKind::connection) << dropped.message;
  Transport t3(fast(2));
  auto recovered = t3.send(chat("m+dropx1"));
  EXPECT_EQ(recovered.error, ErrorKind::none) << recovered.message;
  EXPECT_EQ(recovered.attempts, 2);
}

TEST_F(FakeServer, ConnectionRefusedIsAConnectionError) {
  Transport t(fast(1));
  HttpRequest r = chat("m");
  r.url = "http://127.0.0.1:9/v1/chat/completions";  // discard port: nothing listens
  auto o = t.send(r);
  EXPECT_EQ(o.error, ErrorKind::connection);
  EXPECT_EQ(o.attempts, 2);
}

TEST_F(FakeServer, ReusesConnections) {
  Transport t(fast());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(t.send(chat("m")).error, ErrorKind::none);
  EXPECT_EQ(control("GET", "/_stats")["connections"], 1);
}

TEST_F(FakeServer, RunsConcurrentlyWithinTheLimit) {
  TransportOptions opts = fast();
  opts.max_concurrency = 8;
  Transport t(opts);
  std::vector<HttpRequest> reqs(40, chat("m+latency=100"));
  int done = 0;
  auto start = std::chrono::steady_clock::now();
  t.run(reqs, [&](std::size_t, Outcome&& o) {
    EXPECT_EQ(o.error, ErrorKind::none);
    ++done;
  });
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(done, 40);
  EXPECT_LE(control("GET", "/_stats")["peak_inflight"].get<int>(), 8);
  EXPECT_GE(t.stats().peak_in_flight, 6);
  EXPECT_LT(took, 2000ms);  // serially it would take 4 s
}

TEST_F(FakeServer, AdaptiveConcurrencyBacksOffAndRecovers) {
  TransportOptions opts = fast(20);
  opts.max_concurrency = 16;
  Transport t(opts);
  std::vector<HttpRequest> reqs(120, chat("m+limit=4+latency=20"));
  std::size_t ok = 0;
  t.run(reqs, [&](std::size_t, Outcome&& o) { ok += o.error == ErrorKind::none; });
  EXPECT_EQ(ok, reqs.size());
  auto s = t.stats();
  EXPECT_GT(s.rate_limited, 0);
  EXPECT_LE(s.min_concurrency_limit, 4);
  // After the overload it climbs again on successes.
  std::vector<HttpRequest> calm(200, chat("m"));
  t.run(calm, [](std::size_t, Outcome&&) {});
  EXPECT_GT(t.stats().concurrency_limit, s.min_concurrency_limit);
}

TEST_F(FakeServer, OpenAiWireFormat) {
  auto p = provider("openai", "TEST_KEY");
  ChatRequest rq = req("gpt-4o-mini+cached=2", {{"system", "be brief"}, {"user", "@reply four words are here"}}, 0.5, 100);
  auto http = p->build(rq);
  Transport t(fast());
  auto o = t.send(http);
  ASSERT_EQ(o.error, ErrorKind::none) << o.message;
  auto r = p->parse(*o.response);
  EXPECT_EQ(r.text, "four words are here");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.output_tokens, 4);
  EXPECT_EQ(r.usage.input_tokens, 2 + 5);  // "be brief" + "@reply four words are here"
  EXPECT_EQ(r.usage.cache_read_tokens, 2);
  auto sent = control("GET", "/_requests")[0];
  EXPECT_EQ(sent["path"], "/v1/chat/completions");
  EXPECT_EQ(sent["headers"]["authorization"], "Bearer sk-test-123");
  EXPECT_EQ(sent["body"]["temperature"], 0.5);
  EXPECT_EQ(sent["body"]["max_tokens"], 100);
  EXPECT_EQ(sent["body"]["messages"][0]["role"], "system");
}

TEST_F(FakeServer, AnthropicWireFormat) {
  auto p = provider("anthropic", "TEST_KEY");
  ChatRequest rq = req("claude-sonnet-4-5+cached=3+cache_write=1", {{"system", "sys"}, {"user", "one two three"}}, {}, 2);
  Transport t(fast());
  auto o = t.send(p->build(rq));
  ASSERT_EQ(o.error, ErrorKind::none) << o.message;
  auto r = p->parse(*o.response);
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.output_tokens, 2);
  EXPECT_EQ(r.usage.cache_read_tokens, 3);
  EXPECT_EQ(r.usage.cache_write_tokens, 1);
  EXPECT_EQ(r.usage.input_tokens, 4 + 3 + 1);  // input ("sys" + 3 words) + cache read + cache write
  auto sent = control("GET", "/_requests")[0];
  EXPECT_EQ(sent["headers"]["x-api-key"], "sk-test-123");
  EXPECT_EQ(sent["headers"]["anthropic-version"], "2023-06-01");
  EXPECT_EQ(sent["body"]["system"], "sys");
  EXPECT_EQ(sent["body"]["messages"].size(), 1u);
}

TEST_F(FakeServer, AnthropicNeedsAKey) {
  auto p = provider("anthropic", "MISSING_KEY");
  try {
    p->build(req("claude", {{"user", "x"}}, {}, {}));
    FAIL() << "no error";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.kind, ErrorKind::auth);
    EXPECT_NE(std::string(e.what()).find("MISSING_KEY"), std::string::npos);
  }
}

TEST_F(FakeServer, OllamaWireFormat) {
  auto p = provider("ollama");
  Transport t(fast());
  auto o = t.send(p->build(req("llama3.2", {{"user", "hi there"}}, 0.1, 50)));
  ASSERT_EQ(o.error, ErrorKind::none) << o.message;
  auto r = p->parse(*o.response);
  EXPECT_EQ(r.text, "echo: hi there");
  EXPECT_EQ(r.usage.input_tokens, 2);
  EXPECT_EQ(r.usage.output_tokens, 3);
  auto sent = control("GET", "/_requests")[0];
  EXPECT_EQ(sent["body"]["stream"], false);
  EXPECT_EQ(sent["body"]["options"]["num_predict"], 50);
}

TEST_F(FakeServer, GenericHttpProvider) {
  ProviderSettings s;
  s.name = "mine";
  s.type = "http";
  s.base_url = server_->url();
  s.path = "/generic";
  s.body_template = R"({"input": {{ prompt | tojson }}, "opts": {"t": {{ temperature | tojson }}}})";
  s.response_path = "output.text";
  s.input_tokens_path = "/meta/tokens_in";
  s.output_tokens_path = "meta.tokens_out";
  auto p = make_provider(s, config::process_env());
  Transport t(fast());
  auto o = t.send(p->build(req("x", {{"user", "say \"quoted\" {braces}"}}, 0.7, {})));
  ASSERT_EQ(o.error, ErrorKind::none) << o.message;
  auto r = p->parse(*o.response);
  EXPECT_EQ(r.text, "echo: say \"quoted\" {braces}");
  EXPECT_EQ(r.usage.input_tokens, 3);
  EXPECT_EQ(r.usage.output_tokens, 4);
}

TEST_F(FakeServer, MalformedBodiesAreBadResponses) {
  auto p = provider("openai");
  Transport t(fast());
  for (const char* model : {"m+garbage", "m+garbage_ok_json"}) {
    auto o = t.send(p->build(req(model, {{"user", "x"}}, {}, {})));
    ASSERT_EQ(o.error, ErrorKind::none);
    try {
      p->parse(*o.response);
      ADD_FAILURE() << model << " parsed";
    } catch (const LlmError& e) {
      EXPECT_EQ(e.kind, ErrorKind::bad_response) << e.what();
    }
  }
}

// The reading of an OpenAI answer the product had before the fast path, on a parsed
// document; nullopt where it reported an error or the fast path gives up (parts lists).
std::optional<ChatResponse> openai_reference(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  try {
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return std::nullopt;
    const json& choice = j["choices"][0];
    if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) return std::nullopt;
    ChatResponse out;
    json c = choice["message"].value("content", json());
    if (c.is_string()) out.text = c.get<std::string>();
    else if (!c.is_null()) return std::nullopt;
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      std::string f = choice["finish_reason"];
      out.finish_reason = f == "end_turn" || f == "stop_sequence" ? "stop" : f == "max_tokens" ? "length" : f == "tool_use" ? "tool_calls" : f;
    }
    out.response_model = j.value("model", "");
    out.response_id = j.value("id", "");
    auto int_at = [](const json& o, const char* k) -> std::int64_t {
      if (!o.is_object()) return 0;
      auto it = o.find(k);
      return it != o.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
    };
    if (j.contains("usage") && j["usage"].is_object()) {
      const json& u = j["usage"];
      out.usage.input_tokens = int_at(u, "prompt_tokens");
      out.usage.output_tokens = int_at(u, "completion_tokens");
      if (u.contains("prompt_tokens_details")) out.usage.cache_read_tokens = int_at(u["prompt_tokens_details"], "cached_tokens");
    }
    return out;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void expect_same(const ChatResponse& a, const ChatResponse& b, const std::string& body) {
  EXPECT_EQ(a.text, b.text) << body;
  EXPECT_EQ(a.finish_reason, b.finish_reason) << body;
  EXPECT_EQ(a.response_model, b.response_model) << body;
  EXPECT_EQ(a.response_id, b.response_id) << body;
  EXPECT_EQ(a.usage.input_tokens, b.usage.input_tokens) << body;
  EXPECT_EQ(a.usage.output_tokens, b.usage.output_tokens) << body;
  EXPECT_EQ(a.usage.cache_read_tokens, b.usage.cache_read_tokens) << body;
}

TEST(OpenAiFastParse, ReadsWhatTheDocumentSays) {
  const std::vector<std::string> good = {
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"{\"ref\": \"Q-000001\", \"answer\": \"Paris\"}","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":15,"total_tokens":34,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"service_tier":"default","system_fingerprint":"fp_06737a9306"})",
      " {\n \"choices\" : [ { \"message\" : { \"content\" : \"tab\\there \\u00e9 \\ud83d\\ude00 \\\\ \\/ \\u0000 end\" } , \"finish_reason\" : \"length\" } , {\"message\": 5} ] } \n",
      R"({"choices":[{"message":{"content":null},"finish_reason":null}],"usage":{"prompt_tokens":1.5,"completion_tokens":-3,"prompt_tokens_details":null}})",
      R"({"choices":[{"message":{"role":"assistant"}}],"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":99999999999999999999,"prompt_tokens_details":{"cached_tokens":1e2}}})",
      R"({"model":"a","model":"b","choices":[{"message":{"content":"first"}}],"choices":[{"message":{"content":"x","content":"last"},"finish_reason":"tool_use"}],"usage":{"prompt_tokens":2},"usage":{"completion_tokens":7}})",
      "{\"choices\":[{\"message\":{\"content\":\"caf\xc3\xa9 \xe2\x82\xac -0 \\\"q\\\"\"}}],\"usage\":{\"prompt_tokens\":-0,\"completion_tokens\":-9223372036854775808}}",
  };
  for (const auto& body : good) {
    auto fast = parse_openai_chat_fast(body);
    auto ref = openai_reference(body);
    ASSERT_TRUE(ref) << body;
    ASSERT_TRUE(fast) << body;
    expect_same(*fast, *ref, body);
  }
  auto fast = parse_openai_chat_fast(good[0]);
  EXPECT_EQ(fast->text, R"({"ref": "Q-000001", "answer": "Paris"})");
  EXPECT_EQ(fast->usage.cache_read_tokens, 3);
  EXPECT_EQ(parse_openai_chat_fast(good[4])->text, "last");
  EXPECT_EQ(parse_openai_chat_fast(good[4])->usage.input_tokens, 0);  // the last usage object wins
  // Shapes left to the full parse (and its errors): not JSON, trailing text, a parts
  // list, no choices, a non-string model, a lone surrogate, invalid UTF-8, comments.
  for (std::string bad : {"", "{}", "[]", R"({"choices":[]})", R"({"choices":[{"message":{"content":"a"}}]} x)",
                          R"({"choices":[{"message":{"content":[{"type":"text","text":"a"}]}}]})",
                          R"({"choices":[{"message":{"content":"a"}}],"model":3})",
                          R"({"choices":[{"message":{"content":"\ud800"}}]})", "{\"choices\":[{\"message\":{\"content\":\"\xc3\"}}]}",
                          R"({"choices":[{"message":{"content":"a"}}],"usage":{"prompt_tokens":01}})",
                          "{/*c*/\"choices\":[{\"message\":{\"content\":\"a\"}}]}", "{\"choices\":[{\"message\":{\"content\":\"a\nb\"}}]}"})
    EXPECT_FALSE(parse_openai_chat_fast(bad)) << bad;
}

TEST(OpenAiFastParse, MutatedAnswersReadAsTheFullParseReadsThemOrNotAtAll) {
  // Whatever the fast path accepts, nlohmann accepts too and reads the same way.
  const std::vector<std::string> seeds = {
      R"({"id":"c1","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"a \"b\" \u00e9\n","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":15,"prompt_tokens_details":{"cached_tokens":2}}})",
      R"({"choices":[{"message":{"content":null}},{"x":[1,2.5e-3,true,false,null]}],"usage":{"prompt_tokens":-12,"completion_tokens":1E+2}})"};
  const std::string alphabet = "\"\\{}[],:0129-+.eEun tfl\x01\x7f\xc3\xa9/";
  std::mt19937 rng(20261121);
  int accepted = 0;
  for (int n = 0; n < 30000; ++n) {
    std::string body = seeds[n % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      std::size_t at = rng() % body.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
        case 0: body[at] = c; break;
        case 1: body.erase(at, 1); break;
        case 2: body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: body.resize(at); break;
      }
    }
    auto fast = parse_openai_chat_fast(body);
    if (!fast) continue;
    ++accepted;
    auto ref = openai_reference(body);
    ASSERT_TRUE(ref) << "accepted what the full parse rejects: " << body;
    expect_same(*fast, *ref, body);
  }
  EXPECT_GT(accepted, 1000);
}

TEST(LocalProviders, EchoAndExec) {
  ProviderSettings s;
  s.name = s.type = "echo";
  auto echo = make_provider(s, config::process_env());
  auto r = echo->complete(req("", {{"system", "s"}, {"user", "a b c d"}}, {}, 2));
  EXPECT_EQ(r.text, "a b");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.input_tokens, 5);

  s.name = s.type = "exec";
  auto exec = make_provider(s, config::process_env());
  EXPECT_EQ(exec->complete(req("tr a-z A-Z", {{"user", "shout"}}, {}, {})).text, "SHOUT");
  try {
    exec->complete(req("echo broken >&2; exit 3", {{"user", "x"}}, {}, {}));
    FAIL() << "no error";
  } catch (const LlmError& e) {
    EXPECT_NE(std::string(e.what()).find("status 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("broken"), std::string::npos) << e.what();
  }
}

TEST(ProviderIds, SplitAndSettings) {
  EXPECT_EQ(split_provider_id("openai:gpt-4o"), (std::pair<std::string, std::string>{"openai", "gpt-4o"}));
  EXPECT_EQ(split_provider_id("exec:./m.sh --x"), (std::pair<std::string, std::string>{"exec", "./m.sh --x"}));
  EXPECT_EQ(split_provider_id("echo").first, "echo");
  EXPECT_THROW(split_provider_id("../x:y"), UsageError);
  EXPECT_THROW(split_provider_id(""), UsageError);

  testing::ScratchDir dir("llm");
  auto file = dir / "mlops.yaml";
  util::atomic_write(file,
                     "providers:\n  local:\n    type: openai\n    base_url: http://127.0.0.1:8000/v1/\n"
                     "    timeout: 500ms\n    headers:\n      X-Team: ml\n");
  std::map<std::string, std::string> envs = {{"OPENAI_BASE_URL", "http://gw/v1"}, {"OLLAMA_HOST", "box:11434"}};
  config::EnvLookup env = [&](const std::string& k) -> std::optional<std::string> {
    auto it = envs.find(k);
    return it == envs.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  config::Config cfg(file, std::nullopt, env);
  auto local = provider_settings("local", cfg, env);
  EXPECT_EQ(local.type, "openai");
  EXPECT_EQ(local.base_url, "http://127.0.0.1:8000/v1");
  EXPECT_EQ(local.api_key_env, "");
  EXPECT_EQ(local.timeout, 500ms);
  ASSERT_EQ(local.headers.size(), 1u);
  EXPECT_EQ(local.headers[0].first, "X-Team");
  EXPECT_EQ(provider_settings("openai", cfg, env).base_url, "http://gw/v1");
  EXPECT_EQ(provider_settings("ollama", cfg, env).base_url, "http://box:11434");
  try {
    provider_settings("opnai", cfg, env);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(e.hint().find("openai"), std::string::npos);
  }
}

TEST(Cache, KeyIsCanonicalAndExcludesSecrets) {
  ProviderSettings p;
  p.name = p.type = "openai";
  p.base_url = "https://api.openai.com/v1";
  p.headers = {{"Authorization", "Bearer sk-secret"}};
  ChatRequest a = req("gpt-4o", {{"user", "hi"}}, 0.0, 10);
  EXPECT_EQ(cache_document(p, a),
            R"({"base_url":"https://api.openai.com/v1","messages":[["user","hi"]],"model":"gpt-4o",)"
            R"("params":{"max_tokens":10,"temperature":0.0},"provider":"openai","type":"openai","v":1})");
  EXPECT_EQ(cache_document(p, a).find("sk-secret"), std::string::npos);
  ChatRequest b = a;
  b.temperature = 0.1;
  EXPECT_NE(cache_key(p, a), cache_key(p, b));
  EXPECT_EQ(cache_key(p, a), cache_key(p, ChatRequest(a)));
  EXPECT_EQ(cache_key(p, a).size(), 64u);
}

// The key text is written without a JSON document now; it must stay the bytes the
// document's dump() gave, or every cache entry written before would be lost.
std::string reference_cache_document(const ProviderSettings& p, const ChatRequest& rq) {
  json messages = json::array();
  for (const auto& m : rq.messages) messages.push_back({m.role, m.content});
  json params = json::object();
  if (rq.temperature) params["temperature"] = *rq.temperature;
  if (rq.max_tokens) params["max_tokens"] = *rq.max_tokens;
  if (rq.top_p) params["top_p"] = *rq.top_p;
  if (!rq.stop.empty()) params["stop"] = rq.stop;
  json doc = {{"v", 1},          {"provider", p.name},     {"type", p.type}, {"base_url", p.base_url},
              {"model", rq.model}, {"messages", messages}, {"params", params}};
  if (!rq.cache_tag.empty()) doc["tag"] = rq.cache_tag;
  if (p.type == "http") doc["http"] = {{"path", p.path}, {"body", p.body_template}, {"response_path", p.response_path}};
  return doc.dump();
}

TEST(Cache, KeyTextIsTheDocumentDumpByteForByte) {
  std::mt19937_64 rng(9);
  const std::vector<std::string> pieces = {"hi", " ", "\"q\"", "\\", "\n", "\t", std::string(1, '\0'), "\x1f", "é",
                                           "日本", "😀", "{{ x }}", "/"};
  auto text = [&] {
    std::string s;
    for (std::size_t n = rng() % 6; n > 0; --n) s += pieces[rng() % pieces.size()];
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    ProviderSettings p;
    p.name = text();
    p.type = std::vector<std::string>{"openai", "anthropic", "http", "ollama"}[rng() % 4];
    p.base_url = "http://127.0.0.1:" + std::to_string(rng() % 65536) + text();
    p.path = text();
    p.body_template = text();
    p.response_path = text();
    ChatRequest rq;
    rq.model = text();
    for (std::size_t n = rng() % 4; n > 0; --n) rq.messages.push_back({text(), text()});
    if (rng() % 2) rq.temperature = static_cast<double>(rng() % 2000) / 1000;
    if (rng() % 2) rq.max_tokens = static_cast<int>(rng() % 100000);
    if (rng() % 3 == 0) rq.top_p = static_cast<double>(rng() % 1000) / 999;
    for (std::size_t n = rng() % 3; n > 0; --n) rq.stop.push_back(text());
    if (rng() % 4 == 0) rq.cache_tag = "r" + std::to_string(rng() % 5);
    ASSERT_EQ(cache_document(p, rq), reference_cache_document(p, rq)) << round;
  }
  // Text that is not UTF-8 is treated as before (json refuses it), never given a
  // key that another text could share.
  ProviderSettings p;
  p.name = p.type = "openai";
  ChatRequest bad = req("m", {{"user", "a\xff"}}, 0.0, 1);
  EXPECT_THROW(cache_document(p, bad), json::type_error);
}

TEST(OpenAiBody, IsTheDocumentDumpByteForByte) {
  std::mt19937_64 rng(12);
  const std::vector<std::string> pieces = {"hi", " ", "\"q\"", "\\", "\n", std::string(1, '\0'), "\x1f", "é", "😀"};
  auto text = [&] {
    std::string s;
    for (std::size_t n = rng() % 6; n > 0; --n) s += pieces[rng() % pieces.size()];
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    ChatRequest rq;
    rq.model = text();
    for (std::size_t n = rng() % 4; n > 0; --n) rq.messages.push_back({text(), text()});
    if (rng() % 2) rq.temperature = static_cast<double>(rng() % 2000) / 1000;
    if (rng() % 2) rq.max_tokens = static_cast<int>(rng() % 100000);
    if (rng() % 3 == 0) rq.top_p = static_cast<double>(rng() % 1000) / 999;
    for (std::size_t n = rng() % 3; n > 0; --n) rq.stop.push_back(text());
    json body = {{"model", rq.model}, {"messages", json::array()}};
    for (const auto& m : rq.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
    if (rq.temperature) body["temperature"] = *rq.temperature;
    if (rq.max_tokens) body["max_tokens"] = *rq.max_tokens;
    if (rq.top_p) body["top_p"] = *rq.top_p;
    if (!rq.stop.empty()) body["stop"] = rq.stop;
    ASSERT_EQ(openai_chat_body(rq), body.dump()) << round;
  }
  EXPECT_THROW(openai_chat_body(req("m", {{"user", "a\xff"}}, 0.0, 1)), json::type_error);
}

TEST(Cache, StoredAnswerIsTheDocumentDump) {
  testing::ScratchDir dir("cache");
  store::Db db(dir / "state.db", store::Db::Mode::create);
  ResponseCache cache(db, std::chrono::milliseconds(0));
  ChatResponse r;
  r.text = "line\n\"quoted\" \\ é 😀 \x01";
  r.finish_reason = "stop";
  r.response_model = "gpt-4o-2024";
  r.response_id = "chatcmpl-1";
  r.usage = {12, 7, 3, 1};
  cache.put("k", "openai", "gpt-4o", r, 5);
  json expected = {{"text", r.text},
                   {"finish_reason", r.finish_reason},
                   {"model", r.response_model},
                   {"id", r.response_id},
                   {"usage", {{"input", 12}, {"output", 7}, {"cache_read", 3}, {"cache_write", 1}}}};
  EXPECT_EQ(db.query_text("SELECT response FROM llm_cache WHERE key = 'k'"), expected.dump());
  auto back = cache.get("k", 6);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text, r.text);
  EXPECT_EQ(back->usage.cache_write_tokens, 1);
  EXPECT_EQ(back->response_id, r.response_id);
}

TEST(Cache, StoresAnswersWithTtl) {
  testing::ScratchDir dir("cache");
  store::Db db(dir / "state.db", store::Db::Mode::create);
  ResponseCache cache(db, std::chrono::milliseconds(1000));
  ChatResponse r;
  r.text = "answer";
  r.usage.input_tokens = 3;
  EXPECT_FALSE(cache.get("k", 0));
  cache.put("k", "openai", "gpt", r, 1000);
  auto hit = cache.get("k", 1500);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->text, "answer");
  EXPECT_EQ(hit->usage.input_tokens, 3);
  EXPECT_FALSE(cache.get("k", 2000));  // expired
  auto s = cache.stats(2000);
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.expired, 1);
  EXPECT_EQ(s.hits, 1);
  EXPECT_EQ(cache.clear(true, 2000), 1);
  EXPECT_EQ(cache.stats(2000).entries, 0);
  ResponseCache forever(db, std::chrono::milliseconds(0));
  forever.put("k2", "openai", "gpt", r, 0);
  EXPECT_TRUE(forever.get("k2", 1'000'000'000));
}

}  // namespace
}  // namespace mlops::llm

namespace mlops::llm {
namespace {

// The whole call path in one process: cache, budgets, ledger rows, spans.
class ClientTest : public FakeServer {
 protected:
  void SetUp() override {
    FakeServer::SetUp();
    dir_ = std::make_unique<testing::ScratchDir>("client");
    db_ = std::make_unique<store::Db>(dir_->path() / "state.db", store::Db::Mode::create);
    util::atomic_write(dir_->path() / "mlops.yaml", "providers:\n  fake:\n    type: openai\n    base_url: " +
                                                        server_->url() + "/v1\n");
    fs::create_directories(dir_->path() / "templates");
    util::atomic_write(dir_->path() / "templates" / "pricing.yaml",
                       "prices:\n  fake:priced:\n    input: 1000000\n    output: 2000000\n");
    cfg_ = std::make_unique<config::Config>(dir_->path() / "mlops.yaml", std::nullopt, env_);
  }
  Client client(bool cache = true) {
    ClientOptions o;
    o.use_cache = cache;
    o.transport.backoff_base = 10ms;
    return Client(*db_, *cfg_, env_, tracer_, std::nullopt, {dir_->path() / "templates"}, o);
  }
  static CallJob job(const std::string& model, const std::string& text) {
    CallJob j;
    j.provider_id = "fake:" + model;
    j.request.messages = {{"user", text}};
    j.context.eval_id = "e1";
    return j;
  }
  cost::Report report() {
    return cost::Ledger(*db_).report(cost::GroupBy::model, 0, std::numeric_limits<std::int64_t>::max() / 2);
  }
  void finished_call_is_written_early(std::chrono::milliseconds interval);
  config::EnvLookup env_ = [](const std::string&) { return std::optional<std::string>(); };
  std::unique_ptr<testing::ScratchDir> dir_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<config::Config> cfg_;
  trace::Tracer tracer_;
};

TEST_F(ClientTest, BatchRecordsEveryCallAndPricesKnownModels) {
  auto c = client(false);
  std::vector<CallJob> jobs;
  for (int i = 0; i < 50; ++i) jobs.push_back(job("priced", "@reply a b " + std::to_string(i)));
  jobs.push_back(job("unpriced", "x"));
  jobs.push_back(job("m+fail=400", "x"));
  std::size_t seen = 0;
  auto results = c.call_many(jobs, [&](std::size_t, const CallResult&) { ++seen; });
  EXPECT_EQ(seen, jobs.size());
  ASSERT_EQ(results.size(), jobs.size());
  // "@reply a b N" is 4 input tokens at $1 and 3 output tokens at $2.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error_message;
    EXPECT_EQ(results[i].response.text, "a b " + std::to_string(i));
    ASSERT_TRUE(results[i].cost_usd);
    EXPECT_DOUBLE_EQ(*results[i].cost_usd, 4 + 3 * 2);
  }
  EXPECT_FALSE(results[50].cost_usd);
  EXPECT_EQ(results[51].error, ErrorKind::bad_request);
  auto r = report();
  EXPECT_EQ(r.total.calls, 52);
  EXPECT_EQ(r.total.errors, 1);
  EXPECT_EQ(r.total.unknown_price_calls, 1);
  EXPECT_EQ(r.total.cost_usd(), 500.0);
  // One client span per call, each a child-less "chat MODEL" with the GenAI attributes.
  std::size_t chat_spans = 0;
  for (const auto& s : tracer_.spans())
    if (s.name.rfind("chat ", 0) == 0) {
      ++chat_spans;
      EXPECT_EQ(s.kind, "client");
      EXPECT_EQ(s.attributes["mlops.eval.id"], "e1");
    }
  EXPECT_EQ(chat_spans, jobs.size());
}

TEST_F(ClientTest, LongBatchesWriteCallSpansAsTheyGo) {
  // A 100,000-call eval must not hold 100,000 spans: past 1024 finished ones the
  // client writes them with a ledger batch and the tracer lets them go.
  auto c = client(false);
  std::vector<CallJob> jobs(1100, job("priced", "@reply ok"));
  auto results = c.call_many(jobs);
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.error_message;
  auto held = static_cast<std::int64_t>(tracer_.spans().size());
  EXPECT_LT(held, 1024);
  EXPECT_EQ(trace::span_count(*db_) + held, 1100);
  tracer_.flush(*db_);
  EXPECT_EQ(trace::span_count(*db_), 1100);
}

TEST_F(ClientTest, FinishedCallsReachTheDatabaseWithinTheFlushInterval) {
  // Ledger rows and cache entries are batched, but a finished call must not wait in
  // memory for a slow one: the transport wakes the client at the flush interval,
  // and with an interval of 0 (eval) the answers of a turn are written before the
  // transport waits again.
  for (auto interval : {50ms, 0ms}) {
    SCOPED_TRACE(interval.count());
    control("POST", "/_reset");
    finished_call_is_written_early(interval);
  }
}

void ClientTest::finished_call_is_written_early(std::chrono::milliseconds interval) {
  ClientOptions o;
  o.flush_batch = 1000;
  o.flush_interval = interval;
  Client c(*db_, *cfg_, env_, tracer_, std::nullopt, {dir_->path() / "templates"}, o);
  auto calls_before = report().total.calls;
  auto cached_before = db_->query_int("SELECT count(*) FROM llm_cache");
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> first_row_ms{-1}, first_cache_ms{-1};
  auto t0 = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    store::Db other(dir_->path() / "state.db", store::Db::Mode::open_existing);
    while (!stop) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      if (first_row_ms < 0 && other.query_int("SELECT count(*) FROM llm_calls") > calls_before) first_row_ms = ms;
      if (first_cache_ms < 0 && other.query_int("SELECT count(*) FROM llm_cache") > cached_before) first_cache_ms = ms;
      std::this_thread::sleep_for(5ms);
    }
  });
  std::string tag = std::to_string(interval.count());
  auto results = c.call_many({job("priced", "@reply quick " + tag), job("priced+latency=800", "@reply slow " + tag)});
  stop = true;
  watcher.join();
  ASSERT_TRUE(results[0].ok() && results[1].ok()) << results[0].error_message << results[1].error_message;
  EXPECT_GE(first_row_ms.load(), 0);
  EXPECT_LT(first_row_ms.load(), 500) << "the quick call's row waited for the slow call";
  EXPECT_GE(first_cache_ms.load(), 0);
  EXPECT_LT(first_cache_ms.load(), 500);
  EXPECT_EQ(report().total.calls, calls_before + 2);
}

TEST_F(ClientTest, CacheAnswersRepeatsWithoutSending) {
  auto c = client(true);
  auto first = c.call(job("priced", "@reply once"));
  EXPECT_FALSE(first.cache_hit);
  auto second = c.call(job("priced", "@reply once"));
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.response.text, "once");
  EXPECT_EQ(second.cost_usd, 0.0);
  EXPECT_EQ(control("GET", "/_stats")["requests"], 1);
  EXPECT_EQ(report().total.cache_hits, 1);
}

// A cache written by a v8 binary (key = the SHA-256 hex as TEXT, WITHOUT ROWID):
// migration 9 moves the entries to the rowid table keyed by the 32 bytes, and
// the same requests still hit them, their hit counts kept and counted on.
TEST_F(ClientTest, V8CacheEntriesStillHitAfterMigration9) {
  std::vector<CallJob> jobs;
  for (int i = 0; i < 40; ++i) jobs.push_back(job("priced", "@reply v8 " + std::to_string(i)));
  {
    auto c = client(true);
    for (const auto& r : c.call_many(jobs)) ASSERT_TRUE(r.ok() && !r.cache_hit) << r.error_message;
  }
  ASSERT_EQ(db_->query_int("SELECT count(*) FROM llm_cache WHERE typeof(key) = 'blob' AND length(key) = 32"), 40);
  // Back to the v8 table: the shipped migration 4, rows as a v8 binary stored them.
  db_->write([&] {
    db_->exec("DROP INDEX llm_cache_by_key; ALTER TABLE llm_cache RENAME TO c9;");
    db_->exec(store::migrations().at(3).sql);
    db_->exec(
        "INSERT INTO llm_cache (key, provider, model, response, created_ms, hits, last_hit_ms) "
        "SELECT lower(hex(key)), provider, model, response, created_ms, 2, 7 FROM c9; DROP TABLE c9;");
    db_->exec("INSERT INTO llm_cache (key, provider, model, response, created_ms) VALUES ('not-a-sha', 'p', 'm', "
              "'{\"text\":\"kept\"}', 1)");
    db_->exec("PRAGMA user_version=8");
  });
  ASSERT_EQ(db_->query_int("SELECT count(*) FROM llm_cache WHERE typeof(key) = 'text' AND length(key) = 64"), 40);
  db_.reset();
  db_ = std::make_unique<store::Db>(dir_->path() / "state.db");  // migrates to v9
  EXPECT_EQ(db_->user_version(), 9);
  EXPECT_EQ(db_->integrity_check(), std::vector<std::string>{"ok"});
  EXPECT_EQ(db_->query_int("SELECT count(*) FROM llm_cache WHERE typeof(key) = 'blob' AND length(key) = 32"), 40);
  EXPECT_EQ(db_->query_int("SELECT sum(hits) FROM llm_cache"), 80);
  EXPECT_EQ(db_->query_int("SELECT count(*) FROM sqlite_master WHERE name = 'llm_cache_by_key'"), 1);
  {
    auto c = client(true);
    auto again = c.call_many(jobs);
    for (std::size_t i = 0; i < again.size(); ++i) {
      EXPECT_TRUE(again[i].cache_hit) << "entry " << i << " of the v8 cache was not found";
      EXPECT_EQ(again[i].response.text, "v8 " + std::to_string(i));
    }
  }
  EXPECT_EQ(control("GET", "/_stats")["requests"], 40) << "a migrated entry was asked for again";
  EXPECT_EQ(db_->query_int("SELECT sum(hits) FROM llm_cache"), 120);
  ResponseCache raw(*db_, std::chrono::milliseconds(0));
  EXPECT_EQ(raw.get_raw("not-a-sha", 2), std::optional<std::string>("{\"text\":\"kept\"}"));
  EXPECT_EQ(raw.stats(2).entries, 41);
}

TEST_F(ClientTest, EmbeddingsAreCachedPerTextAndBilled) {
  auto c = client(true);
  EmbedJob j;
  j.provider_id = "fake:priced";
  j.inputs = {"Paris is the capital of France", "the capital of France is Paris", "dogs run"};
  j.context.eval_id = "e1";
  auto first = c.embed_many({j});
  ASSERT_TRUE(first[0].ok()) << first[0].error_message;
  ASSERT_EQ(first[0].embeddings.size(), 3u);
  EXPECT_EQ(first[0].embeddings[0].size(), 128u);
  EXPECT_EQ(first[0].embeddings[0], first[0].embeddings[1]);  // the fake embeds a bag of words
  EXPECT_NE(first[0].embeddings[0], first[0].embeddings[2]);
  EXPECT_EQ(first[0].input_tokens, 14);
  ASSERT_TRUE(first[0].cost_usd);
  EXPECT_DOUBLE_EQ(*first[0].cost_usd, 14.0);  // $1 per input token in this test's prices
  EXPECT_EQ(first[0].cache_hits, 0u);
  auto sent = control("GET", "/_requests?path=/v1/embeddings");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["body"]["input"].size(), 3u);
  EXPECT_EQ(sent[0]["body"]["model"], "priced");

  // Again with one new text: only that one is sent.
  j.inputs.push_back("cats sleep");
  auto second = c.embed_many({j});
  ASSERT_TRUE(second[0].ok());
  EXPECT_EQ(second[0].cache_hits, 3u);
  EXPECT_EQ(second[0].embeddings[0], first[0].embeddings[0]);
  sent = control("GET", "/_requests?path=/v1/embeddings");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1]["body"]["input"], json({"cats sleep"}));
  // A chat call with the same text is not answered from an embedding's cache entry.
  auto chat_answer = c.call(job("priced", "Paris is the capital of France"));
  EXPECT_FALSE(chat_answer.cache_hit);
  // Both embedding jobs are ledger rows; the spans say "embeddings".
  auto r = report();
  EXPECT_EQ(r.total.calls, 3);
  std::size_t spans = 0;
  for (const auto& s : tracer_.spans())
    if (s.name == "embeddings priced") {
      ++spans;
      EXPECT_EQ(s.attributes["gen_ai.operation.name"], "embeddings");
    }
  EXPECT_EQ(spans, 2u);
}

TEST_F(ClientTest, EmbeddingFailuresAndProvidersWithoutEmbeddings) {
  auto c = client(false);
  EmbedJob j;
  j.provider_id = "fake:m+fail=400";
  j.inputs = {"x"};
  auto r = c.embed_many({j});
  EXPECT_EQ(r[0].error, ErrorKind::bad_request);
  EXPECT_NE(r[0].error_message.find("refused the embeddings request (HTTP 400)"), std::string::npos) << r[0].error_message;
  EXPECT_THROW(c.check_embedder("anthropic:claude"), UsageError);
  EXPECT_THROW(c.check_embedder("echo"), UsageError);
  EXPECT_THROW(c.check_embedder("fake"), UsageError);  // no model
  EXPECT_NO_THROW(c.check_embedder("ollama:nomic-embed-text"));
  j.provider_id = "anthropic:claude";
  EXPECT_THROW(c.embed_many({j}), UsageError);
  EXPECT_EQ(control("GET", "/_stats")["requests"], 1);
}

TEST_F(ClientTest, HardBudgetStopsEmbeddingsBeforeSending) {
  cost::Budgets budgets(*db_);
  cost::Budget b;
  b.name = "tiny";
  b.limit_usd = 20;
  b.scope = cost::parse_scope("model:priced");
  budgets.set(b, util::now_ns() / 1'000'000);
  auto c = client(false);
  EmbedJob j;
  j.provider_id = "fake:priced";
  j.inputs = {"Paris is the capital of France", "the capital of France is Paris", "dogs run"};
  ASSERT_TRUE(c.embed_many({j})[0].ok());  // 14 tokens: $14
  j.inputs = {std::string(40, 'x')};          // estimated 10 tokens: $10 more crosses $20
  auto r = c.embed_many({j});
  EXPECT_EQ(r[0].error, ErrorKind::budget);
  EXPECT_NE(r[0].error_message.find("tiny"), std::string::npos) << r[0].error_message;
  EXPECT_EQ(control("GET", "/_stats")["requests"], 1);
}

TEST(ProviderEmbeddings, WireFormats) {
  ProviderSettings s;
  s.name = s.type = "openai";
  s.base_url = "http://127.0.0.1:1/v1";
  auto env = [](const std::string&) { return std::optional<std::string>(); };
  auto openai = make_provider(s, env);
  auto h = openai->build_embed({"text-embedding-3-small", {"a", "b"}});
  EXPECT_EQ(h.url, "http://127.0.0.1:1/v1/embeddings");
  EXPECT_EQ(json::parse(h.body), json({{"model", "text-embedding-3-small"}, {"input", {"a", "b"}}, {"encoding_format", "float"}}));
  HttpResponse resp;
  resp.status = 200;
  // Out of order by index, as the API allows.
  resp.body = R"({"data":[{"index":1,"embedding":[0,1]},{"index":0,"embedding":[1,0]}],"model":"m","usage":{"prompt_tokens":2}})";
  auto e = openai->parse_embed(resp, 2);
  EXPECT_EQ(e.embeddings[0], (std::vector<double>{1, 0}));
  EXPECT_EQ(e.embeddings[1], (std::vector<double>{0, 1}));
  EXPECT_EQ(e.input_tokens, 2);
  resp.body = R"({"data":[{"index":0,"embedding":[1,0]}]})";
  EXPECT_THROW(openai->parse_embed(resp, 2), LlmError);  // one vector for two inputs
  resp.body = R"({"data":[{"index":0,"embedding":["x"]}]})";
  EXPECT_THROW(openai->parse_embed(resp, 1), LlmError);

  s.name = s.type = "ollama";
  s.base_url = "http://127.0.0.1:11434";
  auto ollama = make_provider(s, env);
  h = ollama->build_embed({"nomic-embed-text", {"a"}});
  EXPECT_EQ(h.url, "http://127.0.0.1:11434/api/embed");
  resp.body = R"({"model":"nomic-embed-text","embeddings":[[0.5,0.5]],"prompt_eval_count":1})";
  e = ollama->parse_embed(resp, 1);
  EXPECT_EQ(e.embeddings[0], (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(e.input_tokens, 1);
  EXPECT_THROW(ollama->parse_embed(resp, 2), LlmError);
}

TEST(EmbeddingCacheKey, NeverAChatKey) {
  ProviderSettings s;
  s.name = s.type = "openai";
  s.base_url = "u";
  ChatRequest rq;
  rq.model = "m";
  rq.messages = {{"user", "hello"}};
  EXPECT_NE(embedding_cache_key(s, "m", "hello"), cache_key(s, rq));
  EXPECT_NE(embedding_cache_key(s, "m", "hello"), embedding_cache_key(s, "m2", "hello"));
  EXPECT_EQ(embedding_cache_key(s, "m", "hello"), embedding_cache_key(s, "m", "hello"));
}

TEST_F(ClientTest, HardBudgetStopsBeforeSending) {
  cost::Budgets budgets(*db_);
  cost::Budget b;
  b.name = "tiny";
  b.limit_usd = 20;
  b.scope = cost::parse_scope("model:priced");
  budgets.set(b, util::now_ns() / 1'000'000);
  auto c = client(false);
  EXPECT_TRUE(c.call(job("priced", "@reply a b c")).ok());  // 4 in + 3 out*2 = $10
  try {
    // Spent $10; the estimate of the next one (a 40-byte prompt: 10 tokens = $10, plus
    // 10 max_tokens at $2) crosses $20, so it is refused.
    CallJob j = job("priced", std::string(40, 'x'));
    j.request.max_tokens = 10;
    c.call(j);
    FAIL() << "no budget error";
  } catch (const LlmError& e) {
    EXPECT_EQ(e.kind, ErrorKind::budget);
    EXPECT_EQ(e.code(), ExitCode::check_failed);
    EXPECT_NE(std::string(e.what()).find("tiny"), std::string::npos) << e.what();
  }
  EXPECT_EQ(control("GET", "/_stats")["requests"], 1);
  EXPECT_TRUE(c.call(job("unpriced", "other models are not in scope")).ok());
}

}  // namespace
}  // namespace mlops::llm
