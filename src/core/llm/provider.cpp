#include "llm/provider.hpp"

#include <algorithm>
#include <regex>
#include <set>

#include "template/template.hpp"
#include "util/json_text.hpp"
#include "util/process.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::llm {

using nlohmann::json;

namespace {

const std::vector<std::string> k_builtin_types = {"openai", "anthropic", "ollama", "http", "exec", "echo"};

bool is_builtin(const std::string& t) {
  return std::find(k_builtin_types.begin(), k_builtin_types.end(), t) != k_builtin_types.end();
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

std::chrono::milliseconds duration_setting(const config::Value& v) {
  try {
    const std::string& t = v.value;
    if (t.size() > 2 && t.compare(t.size() - 2, 2, "ms") == 0)
      return std::chrono::milliseconds(std::stoll(t.substr(0, t.size() - 2)));
    if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }))
      return std::chrono::milliseconds(static_cast<std::int64_t>(std::stod(t) * 1000));
    return std::chrono::milliseconds(util::parse_duration_ns(t) / 1'000'000);
  } catch (const std::exception&) {
    throw ConfigError("invalid duration '" + v.value + "' for " + v.key + " (" + v.origin + ")",
                      "write a number of seconds or a duration such as 30s, 500ms or 2m");
  }
}

namespace {

// Answer text of an OpenAI message content: a string, or a list of parts.
std::string content_text(const json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string out;
  if (c.is_array())
    for (const auto& part : c)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
  return out;
}

std::int64_t int_at(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

json parse_json_body(const HttpResponse& r, const std::string& provider) {
  try {
    return json::parse(r.body);
  } catch (const json::parse_error& e) {
    std::string head = r.body.substr(0, 120);
    throw LlmError(ErrorKind::bad_response,
                   provider + " answered HTTP " + std::to_string(r.status) + " with a body that is not JSON (" +
                       e.what() + "): " + head,
                   "check that base_url points at a " + provider + "-compatible API");
  }
}

[[noreturn]] void missing(const std::string& provider, const std::string& what, const json& body) {
  throw LlmError(ErrorKind::bad_response,
                 provider + " response has no " + what + ": " + body.dump().substr(0, 200),
                 "check that base_url points at a " + provider + "-compatible API");
}

std::vector<double> vector_of(const json& v, const std::string& provider, const json& body) {
  if (!v.is_array() || v.empty()) missing(provider, "embedding vector", body);
  std::vector<double> out;
  out.reserve(v.size());
  for (const auto& x : v) {
    if (!x.is_number()) missing(provider, "numeric embedding", body);
    out.push_back(x.get<double>());
  }
  return out;
}

void check_vectors(const EmbedResponse& r, const std::string& provider, const json& body) {
  for (const auto& e : r.embeddings)
    if (e.empty()) missing(provider, "an embedding for every input", body);
}

std::string normalise_finish(const std::string& reason) {
  if (reason == "end_turn" || reason == "stop_sequence") return "stop";
  if (reason == "max_tokens") return "length";
  if (reason == "tool_use") return "tool_calls";
  return reason;
}

// ---------------------------------------------------------------- OpenAI

// A strict JSON reader over a buffer for parse_openai_chat_fast: it accepts only
// what nlohmann::json::parse accepts (RFC 8259, no comments, one value and
// whitespace), decodes the strings it is asked for, and skips the rest.
class FastJson {
 public:
  explicit FastJson(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool at_end() {
    ws();
    return p_ == end_;
  }
  char peek() {
    ws();
    return p_ < end_ ? *p_ : '\0';
  }
  // Calls member(key) at each member of an object; member must consume the value.
  template <class F>
  bool object(F&& member) {
    if (peek() != '{') return false;
    ++p_;
    if (peek() == '}') return ++p_, true;
    std::string key;
    while (true) {
      if (peek() != '"' || !string(&key) || peek() != ':') return false;
      ++p_;
      if (!member(key)) return false;
      char c = peek();
      if (p_ == end_) return false;
      ++p_;
      if (c == '}') return true;
      if (c != ',') return false;
    }
  }
  // Calls element(index) at each element of an array; element must consume the value.
  template <class F>
  bool array(F&& element) {
    if (peek() != '[') return false;
    ++p_;
    if (peek() == ']') return ++p_, true;
    for (std::size_t i = 0;; ++i) {
      if (!element(i)) return false;
      char c = peek();
      if (p_ == end_) return false;
      ++p_;
      if (c == ']') return true;
      if (c != ',') return false;
    }
  }
  bool string(std::string* out) {
    if (peek() != '"') return false;
    ++p_;
    if (out) out->clear();
    while (p_ < end_) {
      const char* run = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
      if (out) out->append(run, p_);
      if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;
      if (*p_++ == '"') return true;
      if (p_ == end_) return false;
      char e = *p_++;
      char plain = e == '"' ? '"' : e == '\\' ? '\\' : e == '/' ? '/' : e == 'b' ? '\b' : e == 'f' ? '\f'
                 : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : '\0';
      if (plain) {
        if (out) out->push_back(plain);
        continue;
      }
      if (e != 'u') return false;
      std::uint32_t cp = 0;
      if (!hex4(cp)) return false;
      if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate must be followed by a low one
        std::uint32_t lo = 0;
        if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
        p_ += 2;
        if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return false;
      }
      if (out) utf8(cp, *out);
    }
    return false;
  }
  // A number; `integer` is set when it is an integer literal that fits 64 bits
  // (nlohmann's number_integer or number_unsigned), with its value as int64_t.
  bool number(std::optional<std::int64_t>* integer) {
    ws();
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') ++p_;
    else
      while (p_ < end_ && digit(*p_)) ++p_;
    bool plain = true;
    if (p_ < end_ && *p_ == '.') {
      plain = false;
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      plain = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    if (integer) {
      integer->reset();
      if (!plain) return true;
      bool neg = *start == '-';
      std::uint64_t v = 0;
      for (const char* d = start + neg; d < p_; ++d) {
        if (v > (UINT64_MAX - static_cast<std::uint64_t>(*d - '0')) / 10) return true;  // a float in nlohmann
        v = v * 10 + static_cast<std::uint64_t>(*d - '0');
      }
      if (neg) {
        if (v > static_cast<std::uint64_t>(INT64_MAX) + 1) return true;
        *integer = static_cast<std::int64_t>(0 - v);
      } else {
        *integer = static_cast<std::int64_t>(v);
      }
    }
    return true;
  }
  bool skip() {
    char c = peek();
    if (c == '{') return object([&](const std::string&) { return skip(); });
    if (c == '[') return array([&](std::size_t) { return skip(); });
    if (c == '"') return string(nullptr);
    if (c == 't') return word("true");
    if (c == 'f') return word("false");
    if (c == 'n') return word("null");
    return number(nullptr);
  }
  bool null() { return peek() == 'n' && word("null"); }

 private:
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool word(std::string_view w) {
    if (static_cast<std::size_t>(end_ - p_) < w.size() || std::string_view(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }
  bool hex4(std::uint32_t& cp) {
    if (end_ - p_ < 4) return false;
    for (int k = 0; k < 4; ++k) {
      char h = *p_++;
      int v = digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
      if (v < 0) return false;
      cp = cp * 16 + static_cast<std::uint32_t>(v);
    }
    return true;
  }
  static void utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  const char* p_;
  const char* end_;
};


// The chat.completions body: {"max_tokens","messages":[{"content","role"}],"model",
// "stop","temperature","top_p"}, written directly, byte for byte what dumping the
// same json document gives (keys sorted). Text that is not UTF-8 goes through the
// document, which refuses it as before.
std::string openai_chat_body_dom(const ChatRequest& rq) {
  json body = {{"model", rq.model}, {"messages", json::array()}};
  for (const auto& m : rq.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (rq.temperature) body["temperature"] = *rq.temperature;
  if (rq.max_tokens) body["max_tokens"] = *rq.max_tokens;
  if (rq.top_p) body["top_p"] = *rq.top_p;
  if (!rq.stop.empty()) body["stop"] = rq.stop;
  return body.dump();
}

}  // namespace

std::string openai_chat_body(const ChatRequest& rq) {
  std::string out;
  std::size_t size = 96 + rq.model.size();
  for (const auto& m : rq.messages) size += m.role.size() + m.content.size() + 32;
  out.reserve(size);
  bool valid = true;
  auto str = [&](std::string_view v) { valid = util::append_json_string(out, v) && valid; };
  out += '{';
  if (rq.max_tokens) out += "\"max_tokens\":" + std::to_string(*rq.max_tokens) + ",";
  out += "\"messages\":[";
  for (std::size_t i = 0; i < rq.messages.size(); ++i) {
    out += i ? ",{\"content\":" : "{\"content\":";
    str(rq.messages[i].content);
    out += ",\"role\":";
    str(rq.messages[i].role);
    out += '}';
  }
  out += "],\"model\":";
  str(rq.model);
  if (!rq.stop.empty()) {
    out += ",\"stop\":[";
    for (std::size_t i = 0; i < rq.stop.size(); ++i) {
      if (i) out += ',';
      str(rq.stop[i]);
    }
    out += ']';
  }
  if (rq.temperature) out += ",\"temperature\":" + json(*rq.temperature).dump();
  if (rq.top_p) out += ",\"top_p\":" + json(*rq.top_p).dump();
  out += '}';
  return valid ? out : openai_chat_body_dom(rq);
}

namespace {

class OpenAiProvider : public Provider {
 public:
  using Provider::Provider;
  std::string system_name() const override { return "openai"; }
  HttpRequest build(const ChatRequest& rq) const override {
    HttpRequest r;
    r.url = settings_.base_url + "/chat/completions";
    r.headers = {{"Content-Type", "application/json"}};
    bool official = settings_.base_url.find("api.openai.com") != std::string::npos;
    if (auto key = api_key(official); !key.empty()) r.headers.emplace_back("Authorization", "Bearer " + key);
    r.body = openai_chat_body(rq);
    return r;
  }
  ChatResponse parse(const HttpResponse& r) const override {
    if (auto fast = parse_openai_chat_fast(r.body)) return std::move(*fast);
    json j = parse_json_body(r, "openai");
    ChatResponse out;
    if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
      missing("openai", "choices", j);
    const json& choice = j["choices"][0];
    if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object())
      missing("openai", "choices[0].message", j);
    out.text = content_text(choice["message"].value("content", json()));
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      out.finish_reason = normalise_finish(choice["finish_reason"].get<std::string>());
    out.response_model = j.value("model", "");
    out.response_id = j.value("id", "");
    if (j.contains("usage") && j["usage"].is_object()) {
      const json& u = j["usage"];
      out.usage.input_tokens = int_at(u, "prompt_tokens");
      out.usage.output_tokens = int_at(u, "completion_tokens");
      if (u.contains("prompt_tokens_details")) out.usage.cache_read_tokens = int_at(u["prompt_tokens_details"], "cached_tokens");
    }
    return out;
  }
  bool can_embed() const override { return true; }
  HttpRequest build_embed(const EmbedRequest& rq) const override {
    json body = {{"model", rq.model}, {"input", rq.inputs}, {"encoding_format", "float"}};
    HttpRequest r;
    r.url = settings_.base_url + "/embeddings";
    r.headers = {{"Content-Type", "application/json"}};
    bool official = settings_.base_url.find("api.openai.com") != std::string::npos;
    if (auto key = api_key(official); !key.empty()) r.headers.emplace_back("Authorization", "Bearer " + key);
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  }
  EmbedResponse parse_embed(const HttpResponse& r, std::size_t inputs) const override {
    json j = parse_json_body(r, "openai");
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) missing("openai", "data", j);
    EmbedResponse out;
    out.embeddings.resize(inputs);
    std::size_t pos = 0;
    for (const auto& d : j["data"]) {
      // Ordered by "index" when the server gives it, by position otherwise.
      std::size_t at = d.is_object() && d.contains("index") && d["index"].is_number_unsigned() ? d["index"].get<std::size_t>() : pos;
      ++pos;
      if (at >= inputs || !d.is_object() || !d.contains("embedding")) missing("openai", "data[].embedding", j);
      out.embeddings[at] = vector_of(d["embedding"], "openai", j);
    }
    check_vectors(out, "openai", j);
    out.response_model = j.value("model", "");
    if (j.contains("usage")) out.input_tokens = int_at(j["usage"], "prompt_tokens");
    return out;
  }
};

// ---------------------------------------------------------------- Anthropic

class AnthropicProvider : public Provider {
 public:
  using Provider::Provider;
  static constexpr int k_default_max_tokens = 1024;
  std::string system_name() const override { return "anthropic"; }
  HttpRequest build(const ChatRequest& rq) const override {
    json body = {{"model", rq.model}, {"max_tokens", rq.max_tokens.value_or(k_default_max_tokens)}};
    std::string system;
    json messages = json::array();
    for (const auto& m : rq.messages) {
      if (m.role == "system") {
        system += (system.empty() ? "" : "\n\n") + m.content;
        continue;
      }
      messages.push_back({{"role", m.role}, {"content", m.content}});
    }
    if (!system.empty()) body["system"] = system;
    body["messages"] = std::move(messages);
    if (rq.temperature) body["temperature"] = *rq.temperature;
    if (rq.top_p) body["top_p"] = *rq.top_p;
    if (!rq.stop.empty()) body["stop_sequences"] = rq.stop;
    HttpRequest r;
    r.url = settings_.base_url + "/v1/messages";
    r.headers = {{"Content-Type", "application/json"}, {"x-api-key", api_key(true)}, {"anthropic-version", "2023-06-01"}};
    r.body = body.dump();
    return r;
  }
  ChatResponse parse(const HttpResponse& r) const override {
    json j = parse_json_body(r, "anthropic");
    if (!j.is_object() || !j.contains("content") || !j["content"].is_array()) missing("anthropic", "content", j);
    ChatResponse out;
    for (const auto& block : j["content"])
      if (block.is_object() && block.value("type", "") == "text" && block.contains("text") && block["text"].is_string())
        out.text += block["text"].get<std::string>();
    if (j.contains("stop_reason") && j["stop_reason"].is_string())
      out.finish_reason = normalise_finish(j["stop_reason"].get<std::string>());
    out.response_model = j.value("model", "");
    out.response_id = j.value("id", "");
    if (j.contains("usage") && j["usage"].is_object()) {
      const json& u = j["usage"];
      // Anthropic counts cache reads and writes apart from input_tokens; Usage counts
      // every input token in input_tokens (as OpenAI and the GenAI conventions do).
      out.usage.cache_read_tokens = int_at(u, "cache_read_input_tokens");
      out.usage.cache_write_tokens = int_at(u, "cache_creation_input_tokens");
      out.usage.input_tokens = int_at(u, "input_tokens") + out.usage.cache_read_tokens + out.usage.cache_write_tokens;
      out.usage.output_tokens = int_at(u, "output_tokens");
    }
    return out;
  }
};

// ---------------------------------------------------------------- Ollama

class OllamaProvider : public Provider {
 public:
  using Provider::Provider;
  std::string system_name() const override { return "ollama"; }
  HttpRequest build(const ChatRequest& rq) const override {
    json body = {{"model", rq.model}, {"messages", json::array()}, {"stream", false}};
    for (const auto& m : rq.messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
    json options = json::object();
    if (rq.temperature) options["temperature"] = *rq.temperature;
    if (rq.max_tokens) options["num_predict"] = *rq.max_tokens;
    if (rq.top_p) options["top_p"] = *rq.top_p;
    if (!rq.stop.empty()) options["stop"] = rq.stop;
    if (!options.empty()) body["options"] = std::move(options);
    HttpRequest r;
    r.url = settings_.base_url + "/api/chat";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body.dump();
    return r;
  }
  ChatResponse parse(const HttpResponse& r) const override {
    json j = parse_json_body(r, "ollama");
    if (!j.is_object() || !j.contains("message") || !j["message"].is_object()) missing("ollama", "message", j);
    ChatResponse out;
    out.text = content_text(j["message"].value("content", json()));
    out.finish_reason = normalise_finish(j.value("done_reason", std::string("stop")));
    out.response_model = j.value("model", "");
    out.usage.input_tokens = int_at(j, "prompt_eval_count");
    out.usage.output_tokens = int_at(j, "eval_count");
    return out;
  }
  bool can_embed() const override { return true; }
  HttpRequest build_embed(const EmbedRequest& rq) const override {
    json body = {{"model", rq.model}, {"input", rq.inputs}};
    HttpRequest r;
    r.url = settings_.base_url + "/api/embed";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  }
  EmbedResponse parse_embed(const HttpResponse& r, std::size_t inputs) const override {
    json j = parse_json_body(r, "ollama");
    if (!j.is_object() || !j.contains("embeddings") || !j["embeddings"].is_array()) missing("ollama", "embeddings", j);
    EmbedResponse out;
    for (const auto& v : j["embeddings"]) out.embeddings.push_back(vector_of(v, "ollama", j));
    if (out.embeddings.size() != inputs)
      throw LlmError(ErrorKind::bad_response, "ollama returned " + std::to_string(out.embeddings.size()) +
                                                  " embeddings for " + std::to_string(inputs) + " inputs");
    check_vectors(out, "ollama", j);
    out.response_model = j.value("model", "");
    out.input_tokens = int_at(j, "prompt_eval_count");
    return out;
  }
};

// ---------------------------------------------------------------- generic HTTP

// "a.b.0.c" or a JSON pointer "/a/b/0/c".
const json* find_path(const json& root, const std::string& path) {
  if (path.empty()) return nullptr;
  if (path[0] == '/') {
    try {
      const json& v = root.at(json::json_pointer(path));
      return &v;
    } catch (const std::exception&) {
      return nullptr;
    }
  }
  const json* cur = &root;
  for (const auto& part : util::split(path, '.')) {
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array() && !part.empty() &&
               std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      std::size_t i = std::stoul(part);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
  }
  return cur;
}

class HttpJsonProvider : public Provider {
 public:
  HttpJsonProvider(ProviderSettings s, config::EnvLookup env) : Provider(std::move(s), std::move(env)) {
    if (settings_.base_url.empty())
      throw ConfigError("provider '" + settings_.name + "' (type http) has no base_url",
                        "set providers." + settings_.name + ".base_url in mlops.yaml");
    if (settings_.response_path.empty())
      throw ConfigError("provider '" + settings_.name + "' (type http) has no response_path",
                        "set providers." + settings_.name + ".response_path, e.g. output.text or /choices/0/text");
    std::string tpl = settings_.body_template.empty() ? R"({"model": {{ model | tojson }}, "input": {{ prompt | tojson }}})"
                                                      : settings_.body_template;
    try {
      body_ = tmpl::Template::parse(tpl);
    } catch (const tmpl::TemplateError& e) {
      throw ConfigError("providers." + settings_.name + ".body: " + e.what(),
                        "the body is a template that renders JSON; use the tojson filter for values");
    }
  }
  std::string system_name() const override { return settings_.name; }
  HttpRequest build(const ChatRequest& rq) const override {
    json vars = {{"model", rq.model}, {"messages", json::array()}, {"prompt", ""}, {"system", ""}};
    for (const auto& m : rq.messages) {
      vars["messages"].push_back({{"role", m.role}, {"content", m.content}});
      if (m.role == "user") vars["prompt"] = m.content;
      if (m.role == "system") vars["system"] = m.content;
    }
    vars["temperature"] = rq.temperature ? json(*rq.temperature) : json();
    vars["max_tokens"] = rq.max_tokens ? json(*rq.max_tokens) : json();
    std::string body = body_.render(vars, {.strict_undefined = false});
    if (!json::accept(body))
      throw ConfigError("providers." + settings_.name + ".body does not render valid JSON: " + body.substr(0, 200),
                        "wrap inserted values in the tojson filter: {{ prompt | tojson }}");
    HttpRequest r;
    r.url = settings_.base_url + settings_.path;
    r.headers = {{"Content-Type", "application/json"}};
    if (auto key = api_key(false); !key.empty()) r.headers.emplace_back("Authorization", "Bearer " + key);
    r.body = std::move(body);
    return r;
  }
  ChatResponse parse(const HttpResponse& r) const override {
    json j = parse_json_body(r, settings_.name);
    const json* v = find_path(j, settings_.response_path);
    if (!v) missing(settings_.name, "value at " + settings_.response_path, j);
    ChatResponse out;
    out.text = v->is_string() ? v->get<std::string>() : v->dump();
    out.finish_reason = "stop";
    if (const json* t = find_path(j, settings_.input_tokens_path); t && t->is_number_integer())
      out.usage.input_tokens = t->get<std::int64_t>();
    if (const json* t = find_path(j, settings_.output_tokens_path); t && t->is_number_integer())
      out.usage.output_tokens = t->get<std::int64_t>();
    return out;
  }

 private:
  tmpl::Template body_;
};

// ---------------------------------------------------------------- local providers

std::string prompt_text(const ChatRequest& rq) {
  std::string out;
  for (const auto& m : rq.messages) {
    if (!out.empty()) out += "\n\n";
    out += m.content;
  }
  return out;
}

std::string last_user(const ChatRequest& rq) {
  for (auto it = rq.messages.rbegin(); it != rq.messages.rend(); ++it)
    if (it->role == "user") return it->content;
  return {};
}

std::int64_t words(const std::string& s) {
  return static_cast<std::int64_t>(util::split_whitespace(s).size());
}

// Runs COMMAND with /bin/sh; the prompt goes to stdin and stdout is the answer.
class ExecProvider : public Provider {
 public:
  using Provider::Provider;
  std::string system_name() const override { return "exec"; }
  bool is_http() const override { return false; }
  ChatResponse complete(const ChatRequest& rq) const override {
    if (rq.model.empty())
      throw UsageError("exec provider needs a command: exec:COMMAND", "e.g. exec:'./my-model --json'");
    auto timeout = settings_.timeout.value_or(std::chrono::milliseconds(120'000));
    auto res = util::run_process({"/bin/sh", "-c", rq.model}, prompt_text(rq), timeout);
    if (res.timed_out)
      throw LlmError(ErrorKind::timeout, "exec: '" + rq.model + "' did not finish within " +
                                             std::to_string(timeout.count() / 1000) + " s",
                     "raise providers." + settings_.name + ".timeout or llm.timeout");
    if (res.exit_code != 0)
      throw LlmError(ErrorKind::server, "exec: '" + rq.model + "' exited with status " +
                                            std::to_string(res.exit_code) + ": " + util::trim(res.err).substr(0, 300),
                     "run the command by hand with the prompt on stdin to see what fails");
    if (!util::is_valid_utf8(res.out))
      throw LlmError(ErrorKind::bad_response, "exec: '" + rq.model + "' printed output that is not UTF-8 text");
    ChatResponse out;
    out.text = res.out;
    while (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
    out.finish_reason = "stop";
    out.response_model = rq.model;
    return out;
  }
};

// Offline: answers with the last user message. Token counts are words, so demos show usage.
class EchoProvider : public Provider {
 public:
  using Provider::Provider;
  std::string system_name() const override { return "echo"; }
  bool is_http() const override { return false; }
  ChatResponse complete(const ChatRequest& rq) const override {
    ChatResponse out;
    out.text = last_user(rq);
    out.finish_reason = "stop";
    if (rq.max_tokens && words(out.text) > *rq.max_tokens) {
      auto parts = util::split_whitespace(out.text);
      parts.resize(static_cast<std::size_t>(std::max(0, *rq.max_tokens)));
      out.text = util::join(parts, " ");
      out.finish_reason = "length";
    }
    out.response_model = rq.model.empty() ? "echo" : rq.model;
    out.usage.input_tokens = words(prompt_text(rq));
    out.usage.output_tokens = words(out.text);
    return out;
  }
};

}  // namespace

HttpRequest Provider::build(const ChatRequest&) const {
  throw RuntimeError("provider '" + settings_.name + "' does not speak HTTP");
}
ChatResponse Provider::parse(const HttpResponse&) const {
  throw RuntimeError("provider '" + settings_.name + "' does not speak HTTP");
}
ChatResponse Provider::complete(const ChatRequest&) const {
  throw RuntimeError("provider '" + settings_.name + "' needs the HTTP transport");
}

HttpRequest Provider::build_embed(const EmbedRequest&) const {
  throw UsageError("provider '" + settings_.name + "' (type " + settings_.type + ") has no embeddings endpoint",
                   "use an openai- or ollama-type provider for embeddings, e.g. openai:text-embedding-3-small");
}
EmbedResponse Provider::parse_embed(const HttpResponse&, std::size_t) const {
  throw UsageError("provider '" + settings_.name + "' has no embeddings endpoint");
}

std::string Provider::error_detail(const HttpResponse& r) const {
  try {
    json j = json::parse(r.body);
    if (j.is_object() && j.contains("error")) {
      const json& e = j["error"];
      if (e.is_string()) return e.get<std::string>();  // Ollama
      if (e.is_object() && e.contains("message") && e["message"].is_string())
        return e["message"].get<std::string>();  // OpenAI, Anthropic
    }
    if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  } catch (const json::parse_error&) {
  }
  std::string head = util::trim(r.body.substr(0, 200));
  return util::is_valid_utf8(head) ? head : std::string();
}

std::string Provider::api_key(bool required) const {
  if (!settings_.api_key_value.empty()) return settings_.api_key_value;
  if (settings_.api_key_env.empty()) {
    if (required)
      throw LlmError(ErrorKind::auth, "provider '" + settings_.name + "' has no API key variable",
                     "set providers." + settings_.name + ".api_key_env to the name of the variable holding the key");
    return {};
  }
  auto v = env_(settings_.api_key_env);
  if ((!v || v->empty()) && required)
    throw LlmError(ErrorKind::auth, settings_.api_key_env + " is not set (needed by provider '" + settings_.name + "')",
                   "export " + settings_.api_key_env + "=… (mlopsctl never stores keys in files)");
  return v ? *v : std::string();
}

std::pair<std::string, std::string> split_provider_id(const std::string& id) {
  auto colon = id.find(':');
  std::string name = id.substr(0, colon);
  std::string model = colon == std::string::npos ? std::string() : id.substr(colon + 1);
  static const std::regex ok("[a-z][a-z0-9_-]*");
  if (!std::regex_match(name, ok))
    throw UsageError("invalid provider '" + id + "'",
                     "write PROVIDER:MODEL, e.g. openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, ollama:llama3.2, "
                     "exec:./model.sh or echo");
  return {name, model};
}

ProviderSettings provider_settings(const std::string& name, const config::Config& cfg, const config::EnvLookup& env) {
  ProviderSettings s;
  s.name = name;
  std::string prefix = "providers." + name + ".";
  auto get = [&](const std::string& k) { return cfg.get(prefix + k); };
  bool declared = false;
  for (const auto& v : cfg.list())
    if (v.key.rfind(prefix, 0) == 0) declared = true;
  if (auto t = get("type")) s.type = t->value;
  else if (is_builtin(name)) s.type = name;
  if (s.type.empty()) {
    std::vector<std::string> names = k_builtin_types;
    for (const auto& v : cfg.list())
      if (v.key.rfind("providers.", 0) == 0) {
        auto n = v.key.substr(10, v.key.find('.', 10) - 10);
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
      }
    std::string hint = declared ? "set providers." + name + ".type to one of openai, anthropic, ollama, http, exec, echo"
                                : "known providers: " + util::join(names, ", ");
    if (auto near = util::nearest(name, names); !near.empty() && !declared) hint = "did you mean '" + near + "'? " + hint;
    throw UsageError("unknown provider '" + name + "'", hint);
  }
  if (!is_builtin(s.type))
    throw ConfigError("providers." + name + ".type is '" + s.type + "'",
                      "use one of openai, anthropic, ollama, http, exec, echo");

  auto envv = [&](const char* var) -> std::string {
    auto v = env(var);
    return v ? *v : std::string();
  };
  if (s.type == "openai") {
    s.api_key_env = "OPENAI_API_KEY";
    s.base_url = name == "openai" && !envv("OPENAI_BASE_URL").empty() ? envv("OPENAI_BASE_URL") : "https://api.openai.com/v1";
  } else if (s.type == "anthropic") {
    s.api_key_env = "ANTHROPIC_API_KEY";
    s.base_url = name == "anthropic" && !envv("ANTHROPIC_BASE_URL").empty() ? envv("ANTHROPIC_BASE_URL")
                                                                             : "https://api.anthropic.com";
  } else if (s.type == "ollama") {
    std::string host = envv("OLLAMA_HOST");
    if (host.empty()) host = "http://127.0.0.1:11434";
    if (host.find("://") == std::string::npos) host = "http://" + host;
    s.base_url = host;
  }
  if (name != s.type && s.type != "http") s.api_key_env.clear();  // an alias names its own key variable
  if (auto v = get("base_url")) s.base_url = v->value;
  // The environment outranks mlops.yaml, as for every other setting.
  if (name == "openai" && s.type == "openai" && !envv("OPENAI_BASE_URL").empty()) s.base_url = envv("OPENAI_BASE_URL");
  if (name == "anthropic" && s.type == "anthropic" && !envv("ANTHROPIC_BASE_URL").empty())
    s.base_url = envv("ANTHROPIC_BASE_URL");
  if (auto v = get("api_key_env")) s.api_key_env = v->value;
  if (auto v = get("timeout")) s.timeout = duration_setting(*v);
  if (auto v = get("body")) s.body_template = v->value;
  if (auto v = get("path")) s.path = v->value;
  if (auto v = get("response_path")) s.response_path = v->value;
  if (auto v = get("input_tokens_path")) s.input_tokens_path = v->value;
  if (auto v = get("output_tokens_path")) s.output_tokens_path = v->value;
  s.base_url = trim_slash(s.base_url);
  for (const auto& v : cfg.list()) {
    if (v.key.rfind(prefix + "headers.", 0) == 0) {
      s.headers.emplace_back(v.key.substr(prefix.size() + 8), v.value);
    } else if (v.key.rfind(prefix + "headers_env.", 0) == 0) {
      // A header whose value is a secret: the config names the variable that holds it.
      auto value = env(v.value);
      if (!value)
        throw ConfigError(v.value + " is not set (" + v.key + ", " + v.origin + ")", "export " + v.value + "=…");
      s.headers.emplace_back(v.key.substr(prefix.size() + 12), *value);
    }
  }
  return s;
}

std::optional<ChatResponse> parse_openai_chat_fast(std::string_view body) {
  // Keys as nlohmann keeps them: the last of duplicate keys wins.
  if (!util::is_valid_utf8(body)) return std::nullopt;
  FastJson in(body);
  ChatResponse out;
  bool choices = false, message = false, content_seen = false;
  std::optional<std::string> finish;
  std::optional<std::int64_t> prompt_tokens, completion_tokens, cached_tokens;
  auto integer = [&](std::optional<std::int64_t>& v) {
    if (in.peek() == '-' || (in.peek() >= '0' && in.peek() <= '9')) return in.number(&v);
    v.reset();
    return in.skip();
  };
  bool ok = in.object([&](const std::string& key) {
    if (key == "choices") {
      if (in.peek() != '[') return false;
      choices = false;
      return in.array([&](std::size_t i) {
        if (i > 0) return in.skip();
        choices = true;
        message = content_seen = false;
        finish.reset();
        if (in.peek() != '{') return false;
        return in.object([&](const std::string& ck) {
          if (ck == "message") {
            if (in.peek() != '{') return false;
            message = true;
            content_seen = false;
            out.text.clear();
            return in.object([&](const std::string& mk) {
              if (mk != "content") return in.skip();
              content_seen = true;
              if (in.peek() == 'n') {
                out.text.clear();
                return in.null();
              }
              return in.peek() == '"' && in.string(&out.text);  // a list of parts: the full parse
            });
          }
          if (ck == "finish_reason") {
            if (in.peek() != '"') {
              finish.reset();
              return in.skip();
            }
            std::string f;
            if (!in.string(&f)) return false;
            finish = std::move(f);
            return true;
          }
          return in.skip();
        });
      });
    }
    if (key == "model") return in.peek() == '"' && in.string(&out.response_model);
    if (key == "id") return in.peek() == '"' && in.string(&out.response_id);
    if (key == "usage") {
      prompt_tokens.reset();
      completion_tokens.reset();
      cached_tokens.reset();
      if (in.peek() != '{') return in.skip();
      return in.object([&](const std::string& uk) {
        if (uk == "prompt_tokens") return integer(prompt_tokens);
        if (uk == "completion_tokens") return integer(completion_tokens);
        if (uk == "prompt_tokens_details") {
          cached_tokens.reset();
          if (in.peek() != '{') return in.skip();
          return in.object([&](const std::string& dk) { return dk == "cached_tokens" ? integer(cached_tokens) : in.skip(); });
        }
        return in.skip();
      });
    }
    return in.skip();
  });
  if (!ok || !in.at_end() || !choices || !message) return std::nullopt;
  if (!content_seen) out.text.clear();
  if (finish) out.finish_reason = normalise_finish(*finish);
  out.usage.input_tokens = prompt_tokens.value_or(0);
  out.usage.output_tokens = completion_tokens.value_or(0);
  out.usage.cache_read_tokens = cached_tokens.value_or(0);
  return out;
}

std::unique_ptr<Provider> make_provider(ProviderSettings s, config::EnvLookup env) {
  std::unique_ptr<Provider> p;
  if (s.type == "openai") p = std::make_unique<OpenAiProvider>(std::move(s), std::move(env));
  else if (s.type == "anthropic") p = std::make_unique<AnthropicProvider>(std::move(s), std::move(env));
  else if (s.type == "ollama") p = std::make_unique<OllamaProvider>(std::move(s), std::move(env));
  else if (s.type == "http") p = std::make_unique<HttpJsonProvider>(std::move(s), std::move(env));
  else if (s.type == "exec") p = std::make_unique<ExecProvider>(std::move(s), std::move(env));
  else if (s.type == "echo") p = std::make_unique<EchoProvider>(std::move(s), std::move(env));
  else throw ConfigError("unknown provider type '" + s.type + "'");
  return p;
}

std::vector<ProviderListing> list_providers(const config::Config& cfg, const config::EnvLookup& env) {
  std::set<std::string> names(k_builtin_types.begin(), k_builtin_types.end());
  std::set<std::string> declared;
  for (const auto& v : cfg.list())
    if (v.key.rfind("providers.", 0) == 0) {
      auto n = v.key.substr(10, v.key.find('.', 10) - 10);
      names.insert(n);
      declared.insert(n);
    }
  std::vector<ProviderListing> out;
  for (const auto& n : names) {
    ProviderSettings s;
    std::string problem;
    try {
      s = provider_settings(n, cfg, env);
    } catch (const Error& e) {
      problem = e.what();  // one broken entry must not hide the others
    }
    ProviderListing l{n, s.type, s.base_url, s.api_key_env, false, declared.count(n) > 0, problem};
    if (!s.api_key_env.empty()) {
      auto v = env(s.api_key_env);
      l.key_present = v && !v->empty();
    }
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace mlops::llm
