#pragma once
// OpenTelemetry-shaped spans. A Tracer collects the spans of one process in memory
// and writes them in one transaction when the command ends; a long command (an
// eval of 100,000 calls) writes finished spans as it goes (write_spans, release)
// so they do not pile up in memory. The trace id comes
// from a W3C TRACEPARENT in the environment when there is one, so a CI job's trace
// and mlopsctl's spans join up.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/db.hpp"

namespace mlops::trace {

enum class Status { unset, ok, error };
const char* status_name(Status s);

struct Span {
  std::string trace_id;  // 32 hex
  std::string span_id;   // 16 hex
  std::optional<std::string> parent_span_id;
  std::string name;
  std::string kind = "internal";  // internal, client, server
  std::int64_t start_ns = 0;
  std::optional<std::int64_t> end_ns;
  Status status = Status::unset;
  std::string status_message;
  nlohmann::json attributes = nlohmann::json::object();
  // Attributes already written as a JSON object by a hot path that skips the
  // document (the LLM client's GenAI attributes, util::JsonObjectWriter), stored
  // as they are. Readers never see it apart: spans() and the stored row hold the
  // union of these and `attributes` (which wins on a shared key).
  std::string attributes_json;
};
// The span's attributes as one document: `attributes` merged over attributes_json.
nlohmann::json all_attributes(const Span& s);

// Parses "00-<32 hex trace>-<16 hex span>-<2 hex flags>"; nullopt if malformed.
struct TraceParent {
  std::string trace_id;
  std::string span_id;
};
std::optional<TraceParent> parse_traceparent(const std::string& header);

class Tracer {
 public:
  // `traceparent`: the inherited W3C context, if any.
  explicit Tracer(const std::optional<std::string>& traceparent = std::nullopt);
  const std::string& trace_id() const { return trace_id_; }

  // Starts a span under `parent` (or under the inherited parent for the first span).
  std::size_t start(const std::string& name, std::optional<std::size_t> parent = std::nullopt,
                    const std::string& kind = "internal");
  // std::out_of_range for a handle never given or already released.
  Span& span(std::size_t handle) { return spans_.at(handle); }
  void end(std::size_t handle, Status status, const std::string& message = {});
  // W3C traceparent of a span, to hand to child processes and HTTP calls.
  std::string traceparent(std::size_t handle) const;
  // Writes every span still held (ending open ones) in one transaction.
  void flush(store::Db& db);
  // Drops every span (after a flush): for long-running processes such as serve
  // that trace each request. Only when no span is open.
  void clear() { spans_.clear(); }
  // Writes these spans now (in the caller's transaction when there is one);
  // release() then frees them, and their handles are no longer valid.
  void write_spans(store::Db& db, const std::vector<std::size_t>& handles);
  void release(const std::vector<std::size_t>& handles);
  // The spans still held, in the order they were started.
  std::vector<Span> spans() const;

 private:
  std::string trace_id_;
  std::optional<std::string> inherited_parent_;
  std::map<std::size_t, Span> spans_;  // by handle
  std::size_t next_handle_ = 0;
};

struct TraceSummary {
  std::string trace_id;
  std::string root_name;
  std::int64_t start_ns = 0;
  std::int64_t duration_ns = 0;
  std::int64_t span_count = 0;
  Status status = Status::unset;
};

std::vector<TraceSummary> list_traces(store::Db& db, std::size_t limit, std::optional<std::int64_t> since_ns);
// Spans of one trace, by start time; accepts a unique prefix of the trace id.
std::vector<Span> get_trace(store::Db& db, const std::string& trace_id_or_prefix);
std::int64_t span_count(store::Db& db);
// Deletes spans that started before `cutoff_ns`; returns how many.
std::int64_t prune(store::Db& db, std::int64_t cutoff_ns);

nlohmann::json to_json(const Span& s);

}  // namespace mlops::trace
