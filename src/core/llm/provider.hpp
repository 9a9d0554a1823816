#pragma once
// LLM providers behind one small interface. A provider id on the command line is
// `NAME:MODEL` (openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, ollama:llama3.2,
// exec:./my-model.sh, echo) where NAME is a built-in type or a provider declared
// in mlops.yaml under providers.NAME with a `type:` (so `local:qwen` can be an
// OpenAI-compatible vLLM server). HTTP providers turn a ChatRequest into an
// HttpRequest and parse the answer; local ones (exec, echo) answer directly.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "llm/transport.hpp"
#include "util/error.hpp"

namespace mlops::llm {

struct Message {
  std::string role;  // system, user, assistant
  std::string content;
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  std::optional<double> top_p;
  std::vector<std::string> stop;
  // Not sent: part of the cache key only, so repeated samples of one request
  // (eval --repeat) are cached apart.
  std::string cache_tag;
};

// input_tokens counts every input token; cache_read_tokens and cache_write_tokens
// are the parts of it read from / written to the provider's prompt cache.
struct Usage {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;
};

struct ChatResponse {
  std::string text;
  std::string finish_reason;  // normalised: stop, length, content_filter, tool_calls, or the provider's word
  std::string response_model;
  std::string response_id;
  Usage usage;
};

// An embeddings request: one vector per input, in order.
struct EmbedRequest {
  std::string model;
  std::vector<std::string> inputs;
};

struct EmbedResponse {
  std::vector<std::vector<double>> embeddings;  // embeddings[i] belongs to inputs[i]
  std::string response_model;
  std::int64_t input_tokens = 0;
};

// Everything a provider is configured with (mlops.yaml providers.NAME.*, env).
struct ProviderSettings {
  std::string name;  // as written before ':' (openai, local, …)
  std::string type;  // openai, anthropic, ollama, http, exec, echo
  std::string base_url;
  std::string api_key_env;  // the variable's name; the key itself is read when sending
  // A key given directly (promptfoo's config.apiKey in an eval suite). Held in memory
  // only: never printed, cached, traced or written anywhere.
  std::string api_key_value;
  Headers headers;          // extra headers from providers.NAME.headers.*
  std::optional<std::chrono::milliseconds> timeout;
  // http provider: JSON body template ({{ model }}, {{ prompt }}, {{ messages }}, …) and
  // a JSON pointer or dotted path to the answer, and optional paths to token counts.
  std::string body_template;
  std::string response_path;
  std::string input_tokens_path;
  std::string output_tokens_path;
  std::string path;  // http provider: URL path appended to base_url
};

class Provider {
 public:
  virtual ~Provider() = default;
  const ProviderSettings& settings() const { return settings_; }
  // The OpenTelemetry gen_ai.provider.name / gen_ai.system value.
  virtual std::string system_name() const = 0;
  // True for providers that speak HTTP (build/parse); false for exec and echo.
  virtual bool is_http() const { return true; }
  virtual HttpRequest build(const ChatRequest& request) const;
  // Throws LlmError(bad_response) when the body is not what the API returns.
  virtual ChatResponse parse(const HttpResponse& response) const;
  // Local providers answer here; HTTP providers throw.
  virtual ChatResponse complete(const ChatRequest& request) const;
  // The provider's own error text from an error body, if it has one.
  virtual std::string error_detail(const HttpResponse& response) const;

  // Embeddings: OpenAI-compatible POST {base_url}/embeddings and Ollama POST
  // /api/embed. Providers without an embeddings endpoint return false and throw
  // UsageError from build_embed.
  virtual bool can_embed() const { return false; }
  virtual HttpRequest build_embed(const EmbedRequest& request) const;
  // Throws LlmError(bad_response) unless the body holds one vector per input.
  virtual EmbedResponse parse_embed(const HttpResponse& response, std::size_t inputs) const;

  Provider(ProviderSettings s, config::EnvLookup env) : settings_(std::move(s)), env_(std::move(env)) {}

 protected:
  // The API key from the configured variable; throws LlmError(auth) naming the variable when unset.
  std::string api_key(bool required) const;
  ProviderSettings settings_;
  config::EnvLookup env_;
};

// A failed call, classified; exit code 3 (a backend failed), 1 for budgets.
struct LlmError : Error {
  LlmError(ErrorKind kind, std::string message, std::string hint = {})
      : Error(kind == ErrorKind::budget ? ExitCode::check_failed : ExitCode::runtime, std::move(message),
              std::move(hint)),
        kind(kind) {}
  ErrorKind kind;
};

// A duration setting ("30s", "500ms", "2m", or a number of seconds); ConfigError naming the key.
std::chrono::milliseconds duration_setting(const config::Value& v);

// `NAME:MODEL` or `NAME` → (NAME, MODEL). Throws UsageError with the accepted forms.
std::pair<std::string, std::string> split_provider_id(const std::string& id);

// Settings for NAME from config (providers.NAME.*) and the environment
// (OPENAI_API_KEY/OPENAI_BASE_URL, ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL, OLLAMA_HOST).
// Throws UsageError for an unknown NAME, listing the configured ones.
ProviderSettings provider_settings(const std::string& name, const config::Config& cfg, const config::EnvLookup& env);

std::unique_ptr<Provider> make_provider(ProviderSettings settings, config::EnvLookup env);

// The common shape of an OpenAI chat completion (choices[0].message.content a
// string, or null) read in one pass without building a JSON document: an eval
// parses one per call, and the document cost more than the rest of the answer's
// handling. nullopt for any other shape and for anything that is not strict JSON,
// so the caller parses the whole document and reports exactly as before.
std::optional<ChatResponse> parse_openai_chat_fast(std::string_view body);
// The OpenAI chat.completions request body for `rq`: the bytes a json document of
// it dumps to (keys sorted), written without the document.
std::string openai_chat_body(const ChatRequest& rq);

// Built-in types and configured providers, for `llm providers`.
struct ProviderListing {
  std::string name;
  std::string type;
  std::string base_url;
  std::string api_key_env;
  bool key_present = false;
  bool configured = false;  // declared in a config file
  std::string problem;      // why its settings are unusable, if they are
};
std::vector<ProviderListing> list_providers(const config::Config& cfg, const config::EnvLookup& env);

}  // namespace mlops::llm
