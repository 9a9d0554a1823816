#pragma once
// The response cache: successful answers in the workspace database, keyed by
// sha256 of a canonical JSON document (see cache_key). Errors are never cached.
// An entry is fresh while now - created < TTL (TTL from llm.cache.ttl, read at
// lookup time, so changing it applies to existing entries; 0 = no expiry).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "llm/provider.hpp"
#include "store/db.hpp"

namespace mlops::llm {

// The canonical document hashed for the key, one JSON line with sorted keys:
//   {"base_url":…,"messages":[[role,content],…],"model":…,"params":{"max_tokens":…,"stop":[…],
//    "temperature":…,"top_p":…},"provider":NAME,"type":TYPE,"v":1}
// Absent parameters are omitted. For type http the document also holds
// "http":{"body":…,"path":…,"response_path":…}, and "tag" when the request has a
// cache_tag (eval --repeat N caches each repeat apart). API keys and headers are never part of it.
std::string cache_document(const ProviderSettings& provider, const ChatRequest& request);
std::string cache_key(const ProviderSettings& provider, const ChatRequest& request);
// An embedding of one input text: {"base_url","input","model","op":"embedding","provider","type","v":1},
// so an embedding never shares a key with a chat answer.
std::string embedding_cache_key(const ProviderSettings& provider, const std::string& model, const std::string& input);

struct CacheStats {
  std::int64_t entries = 0;
  std::int64_t fresh = 0;
  std::int64_t expired = 0;
  std::int64_t bytes = 0;
  std::int64_t hits = 0;  // lookups answered from the cache, over the entries kept
  std::optional<std::int64_t> oldest_ms;
  std::optional<std::int64_t> newest_ms;
};

class ResponseCache {
 public:
  ResponseCache(store::Db& db, std::chrono::milliseconds ttl) : db_(db), ttl_(ttl) {}
  // A fresh answer, or nullopt. A hit is counted at once in its own write, or,
  // with count = false, when the caller calls count_hit (in a write it batches).
  std::optional<ChatResponse> get(const std::string& key, std::int64_t now_ms, bool count = true);
  void count_hit(const std::string& key, std::int64_t now_ms);
  // The stored document of a fresh entry, for entries that are not chat answers
  // (embeddings: {"embedding": [...], "model": ...}).
  std::optional<std::string> get_raw(const std::string& key, std::int64_t now_ms);
  void put_raw(const std::string& key, const std::string& provider, const std::string& model, const std::string& document,
               std::int64_t now_ms);
  void put(const std::string& key, const std::string& provider, const std::string& model, const ChatResponse& r,
           std::int64_t now_ms);
  CacheStats stats(std::int64_t now_ms);
  // Removes every entry, or only the expired ones; returns how many.
  std::int64_t clear(bool expired_only, std::int64_t now_ms);

 private:
  bool fresh(std::int64_t created_ms, std::int64_t now_ms) const {
    return ttl_.count() <= 0 || now_ms - created_ms < ttl_.count();
  }
  store::Db& db_;
  std::chrono::milliseconds ttl_;
  // Prepared once and reused: an eval makes one lookup and one store per call.
  std::optional<store::Statement> select_, hit_update_, upsert_;
};

}  // namespace mlops::llm
