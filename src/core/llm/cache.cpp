#include "llm/cache.hpp"

#include <nlohmann/json.hpp>

#include "util/hash.hpp"
#include "util/json_text.hpp"

namespace mlops::llm {

using nlohmann::json;

namespace {

// The document through nlohmann: the definition of the key text, and what text
// holding invalid UTF-8 takes (dump() refuses it with json::type_error).
std::string cache_document_dom(const ProviderSettings& p, const ChatRequest& rq) {
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
  if (p.type == "http")  // what is sent and read back is configuration for this type
    doc["http"] = {{"path", p.path}, {"body", p.body_template}, {"response_path", p.response_path}};
  return doc.dump();  // nlohmann objects keep keys sorted: the dump is canonical
}

// A key is bound as it is stored since schema 9: a SHA-256 as its 32 bytes
// (llm_cache_by_key indexes them), any other string as text.
void bind_key(store::Statement& st, int index, const std::string& key) {
  if (auto bytes = store::sha256_bytes(key))
    st.bind(index, store::Blob{*bytes});
  else
    st.bind(index, key);
}

}  // namespace

std::string cache_document(const ProviderSettings& p, const ChatRequest& rq) {
  // The same bytes as cache_document_dom, written directly (keys in sorted order
  // by hand): every call of a cached eval computes one.
  std::string out;
  std::size_t size = 160 + p.base_url.size() + rq.model.size();
  for (const auto& m : rq.messages) size += m.role.size() + m.content.size() + 8;
  out.reserve(size);
  bool valid = true;
  auto str = [&](std::string_view v) { valid = util::append_json_string(out, v) && valid; };
  out += "{\"base_url\":";
  str(p.base_url);
  if (p.type == "http") {
    out += ",\"http\":{\"body\":";
    str(p.body_template);
    out += ",\"path\":";
    str(p.path);
    out += ",\"response_path\":";
    str(p.response_path);
    out += '}';
  }
  out += ",\"messages\":[";
  for (std::size_t i = 0; i < rq.messages.size(); ++i) {
    out += i ? ",[" : "[";
    str(rq.messages[i].role);
    out += ',';
    str(rq.messages[i].content);
    out += ']';
  }
  out += "],\"model\":";
  str(rq.model);
  out += ",\"params\":{";
  bool first = true;
  auto key = [&](const char* k) {
    if (!first) out += ',';
    first = false;
    out += k;
  };
  if (rq.max_tokens) {
    key("\"max_tokens\":");
    out += std::to_string(*rq.max_tokens);
  }
  if (!rq.stop.empty()) {
    key("\"stop\":[");
    for (std::size_t i = 0; i < rq.stop.size(); ++i) {
      if (i) out += ',';
      str(rq.stop[i]);
    }
    out += ']';
  }
  if (rq.temperature) {
    key("\"temperature\":");
    out += json(*rq.temperature).dump();
  }
  if (rq.top_p) {
    key("\"top_p\":");
    out += json(*rq.top_p).dump();
  }
  out += "},\"provider\":";
  str(p.name);
  if (!rq.cache_tag.empty()) {
    out += ",\"tag\":";
    str(rq.cache_tag);
  }
  out += ",\"type\":";
  str(p.type);
  out += ",\"v\":1}";
  // Text that is not UTF-8 keeps its former treatment rather than a key that
  // another text could share.
  return valid ? out : cache_document_dom(p, rq);
}

std::string cache_key(const ProviderSettings& p, const ChatRequest& rq) {
  return util::sha256_hex(cache_document(p, rq));
}

std::string embedding_cache_key(const ProviderSettings& p, const std::string& model, const std::string& input) {
  json doc = {{"v", 1},         {"op", "embedding"}, {"provider", p.name}, {"type", p.type},
              {"base_url", p.base_url}, {"model", model},   {"input", input}};
  return util::sha256_hex(doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::optional<std::string> ResponseCache::get_raw(const std::string& key, std::int64_t now_ms) {
  if (!select_) select_.emplace(db_.prepare("SELECT response, created_ms FROM llm_cache WHERE key = ?"));
  select_->reset();
  bind_key(*select_, 1, key);
  std::optional<std::string> text;
  if (select_->step() && fresh(select_->get_int(1), now_ms)) text = select_->get_text(0);
  select_->reset();  // ends the statement's read, which must not outlive the lookup
  return text;
}

void ResponseCache::put_raw(const std::string& key, const std::string& provider, const std::string& model,
                            const std::string& document, std::int64_t now_ms) {
  db_.write([&] {
    if (!upsert_)
      upsert_.emplace(db_.prepare(
          "INSERT INTO llm_cache(key, provider, model, response, created_ms, hits) VALUES (?, ?, ?, ?, ?, 0) "
          "ON CONFLICT(key) DO UPDATE SET response = excluded.response, created_ms = excluded.created_ms"));
    upsert_->reset();
    upsert_->bind_all(nullptr, provider, model, document, now_ms);
    bind_key(*upsert_, 1, key);
    upsert_->run();
  });
}

std::optional<ChatResponse> ResponseCache::get(const std::string& key, std::int64_t now_ms, bool count) {
  auto text = get_raw(key, now_ms);
  if (!text) return std::nullopt;
  json j;
  try {
    j = json::parse(*text);
  } catch (const json::parse_error&) {
    return std::nullopt;  // a damaged entry is a miss; the next answer overwrites it
  }
  ChatResponse r;
  r.text = j.value("text", "");
  r.finish_reason = j.value("finish_reason", "");
  r.response_model = j.value("model", "");
  r.response_id = j.value("id", "");
  if (j.contains("usage") && j["usage"].is_object()) {
    const json& u = j["usage"];
    r.usage.input_tokens = u.value("input", std::int64_t{0});
    r.usage.output_tokens = u.value("output", std::int64_t{0});
    r.usage.cache_read_tokens = u.value("cache_read", std::int64_t{0});
    r.usage.cache_write_tokens = u.value("cache_write", std::int64_t{0});
  }
  if (count) count_hit(key, now_ms);
  return r;
}

void ResponseCache::count_hit(const std::string& key, std::int64_t now_ms) {
  db_.write([&] {
    if (!hit_update_) hit_update_.emplace(db_.prepare("UPDATE llm_cache SET hits = hits + 1, last_hit_ms = ? WHERE key = ?"));
    hit_update_->reset();
    hit_update_->bind(1, now_ms);
    bind_key(*hit_update_, 2, key);
    hit_update_->run();
  });
}

void ResponseCache::put(const std::string& key, const std::string& provider, const std::string& model,
                        const ChatResponse& r, std::int64_t now_ms) {
  // {"finish_reason","id","model","text","usage":{…}}: the bytes json::dump() gives
  // for the same document (keys sorted), written directly.
  std::string doc;
  doc.reserve(128 + r.text.size() + r.response_model.size() + r.response_id.size());
  doc += "{\"finish_reason\":";
  bool valid = util::append_json_string(doc, r.finish_reason);
  doc += ",\"id\":";
  valid = util::append_json_string(doc, r.response_id) && valid;
  doc += ",\"model\":";
  valid = util::append_json_string(doc, r.response_model) && valid;
  doc += ",\"text\":";
  valid = util::append_json_string(doc, r.text) && valid;
  doc += ",\"usage\":{\"cache_read\":" + std::to_string(r.usage.cache_read_tokens) +
         ",\"cache_write\":" + std::to_string(r.usage.cache_write_tokens) +
         ",\"input\":" + std::to_string(r.usage.input_tokens) + ",\"output\":" + std::to_string(r.usage.output_tokens) +
         "}}";
  if (!valid) {  // as before: json's own handling of text that is not UTF-8
    json j = {{"text", r.text},
              {"finish_reason", r.finish_reason},
              {"model", r.response_model},
              {"id", r.response_id},
              {"usage",
               {{"input", r.usage.input_tokens},
                {"output", r.usage.output_tokens},
                {"cache_read", r.usage.cache_read_tokens},
                {"cache_write", r.usage.cache_write_tokens}}}};
    doc = j.dump();
  }
  put_raw(key, provider, model, doc, now_ms);
}

CacheStats ResponseCache::stats(std::int64_t now_ms) {
  CacheStats s;
  auto st = db_.prepare(
      "SELECT COUNT(*), COALESCE(SUM(LENGTH(response) + LENGTH(key)), 0), COALESCE(SUM(hits), 0), "
      "MIN(created_ms), MAX(created_ms), "
      "COALESCE(SUM(CASE WHEN ? > 0 AND ? - created_ms >= ? THEN 1 ELSE 0 END), 0) FROM llm_cache");
  st.bind_all(static_cast<std::int64_t>(ttl_.count()), now_ms, static_cast<std::int64_t>(ttl_.count()));
  if (st.step()) {
    s.entries = st.get_int(0);
    s.bytes = st.get_int(1);
    s.hits = st.get_int(2);
    if (!st.is_null(3)) s.oldest_ms = st.get_int(3);
    if (!st.is_null(4)) s.newest_ms = st.get_int(4);
    s.expired = st.get_int(5);
    s.fresh = s.entries - s.expired;
  }
  return s;
}

std::int64_t ResponseCache::clear(bool expired_only, std::int64_t now_ms) {
  std::int64_t n = 0;
  db_.write([&] {
    if (!expired_only) {
      n = db_.query_int("SELECT COUNT(*) FROM llm_cache");
      db_.exec("DELETE FROM llm_cache");
      return;
    }
    if (ttl_.count() <= 0) return;
    auto count = db_.prepare("SELECT COUNT(*) FROM llm_cache WHERE ? - created_ms >= ?");
    count.bind_all(now_ms, static_cast<std::int64_t>(ttl_.count()));
    count.step();
    n = count.get_int(0);
    db_.prepare("DELETE FROM llm_cache WHERE ? - created_ms >= ?")
        .bind_all(now_ms, static_cast<std::int64_t>(ttl_.count()))
        .run();
  });
  return n;
}

}  // namespace mlops::llm
