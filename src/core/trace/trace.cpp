#include "trace/trace.hpp"

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

namespace mlops::trace {

const char* status_name(Status s) {
  switch (s) {
    case Status::unset:
      return "unset";
    case Status::ok:
      return "ok";
    case Status::error:
      return "error";
  }
  return "unset";
}

namespace {

Status parse_status(const std::string& s) {
  if (s == "ok") return Status::ok;
  if (s == "error") return Status::error;
  return Status::unset;
}

bool is_hex(const std::string& s, std::size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return s.find_first_not_of('0') != std::string::npos;  // all-zero ids are invalid
}

}  // namespace

std::optional<TraceParent> parse_traceparent(const std::string& header) {
  if (header.size() != 55 || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  if (header.compare(0, 2, "ff") == 0) return std::nullopt;
  TraceParent tp{header.substr(3, 32), header.substr(36, 16)};
  if (!is_hex(tp.trace_id, 32) || !is_hex(tp.span_id, 16)) return std::nullopt;
  return tp;
}

Tracer::Tracer(const std::optional<std::string>& traceparent) {
  if (traceparent) {
    if (auto tp = parse_traceparent(*traceparent)) {
      trace_id_ = tp->trace_id;
      inherited_parent_ = tp->span_id;
    }
  }
  if (trace_id_.empty()) trace_id_ = util::random_hex(16);
}

std::size_t Tracer::start(const std::string& name, std::optional<std::size_t> parent, const std::string& kind) {
  Span s;
  s.trace_id = trace_id_;
  s.span_id = util::random_hex(8);
  if (parent)
    s.parent_span_id = spans_.at(*parent).span_id;
  else if (next_handle_ == 0)
    s.parent_span_id = inherited_parent_;
  s.name = name;
  s.kind = kind;
  s.start_ns = util::now_ns();
  spans_.emplace_hint(spans_.end(), next_handle_, std::move(s));
  return next_handle_++;
}

void Tracer::end(std::size_t handle, Status status, const std::string& message) {
  Span& s = spans_.at(handle);
  s.end_ns = util::now_ns();
  s.status = status;
  s.status_message = message;
}

std::string Tracer::traceparent(std::size_t handle) const {
  return "00-" + trace_id_ + "-" + spans_.at(handle).span_id + "-01";
}

namespace {

const char* k_insert_span =
    "INSERT OR REPLACE INTO spans(span_id, trace_id, parent_span_id, name, kind, start_ns, end_ns, status, "
    "status_message, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

void insert_span(store::Statement& st, Span& s) {
  if (!s.end_ns) s.end_ns = util::now_ns();
  st.reset();
  // Pre-written attributes go in as they are (the same text dump() gives); only
  // a span holding both kinds pays for a merge.
  std::string merged;
  if (s.attributes_json.empty())
    merged = s.attributes.dump();
  else if (!s.attributes.empty())
    merged = all_attributes(s).dump();
  std::string_view attributes = merged.empty() ? std::string_view(s.attributes_json) : std::string_view(merged);
  st.bind_all(s.span_id, s.trace_id, s.parent_span_id, s.name, s.kind, s.start_ns, *s.end_ns, status_name(s.status),
              s.status_message, attributes)
      .run();
}

}  // namespace

void Tracer::flush(store::Db& db) {
  if (spans_.empty()) return;
  db.write([&] {
    auto st = db.prepare(k_insert_span);
    for (auto& [handle, s] : spans_) insert_span(st, s);
  });
}

void Tracer::write_spans(store::Db& db, const std::vector<std::size_t>& handles) {
  if (handles.empty()) return;
  db.write([&] {
    auto st = db.prepare(k_insert_span);
    for (auto h : handles)
      if (auto it = spans_.find(h); it != spans_.end()) insert_span(st, it->second);
  });
}

void Tracer::release(const std::vector<std::size_t>& handles) {
  for (auto h : handles) spans_.erase(h);
}

std::vector<Span> Tracer::spans() const {
  std::vector<Span> out;
  out.reserve(spans_.size());
  for (const auto& [handle, s] : spans_) {
    out.push_back(s);
    if (!s.attributes_json.empty()) {
      out.back().attributes = all_attributes(s);
      out.back().attributes_json.clear();
    }
  }
  return out;
}

nlohmann::json all_attributes(const Span& s) {
  if (s.attributes_json.empty()) return s.attributes;
  auto merged = nlohmann::json::parse(s.attributes_json, nullptr, false);
  if (!merged.is_object()) merged = nlohmann::json::object();
  for (const auto& [k, v] : s.attributes.items()) merged[k] = v;
  return merged;
}

namespace {

Span read_span(const store::Statement& st) {
  Span s;
  s.span_id = st.get_text(0);
  s.trace_id = st.get_text(1);
  s.parent_span_id = st.get_optional_text(2);
  s.name = st.get_text(3);
  s.kind = st.get_text(4);
  s.start_ns = st.get_int(5);
  if (!st.is_null(6)) s.end_ns = st.get_int(6);
  s.status = parse_status(st.get_text(7));
  s.status_message = st.get_optional_text(8).value_or("");
  s.attributes = nlohmann::json::parse(st.get_text(9), nullptr, false);
  if (s.attributes.is_discarded()) s.attributes = nlohmann::json::object();
  return s;
}

}  // namespace

std::vector<TraceSummary> list_traces(store::Db& db, std::size_t limit, std::optional<std::int64_t> since_ns) {
  std::string sql =
      "SELECT trace_id, min(start_ns), max(coalesce(end_ns, start_ns)) - min(start_ns), count(*), "
      "max(status = 'error'), "
      "(SELECT name FROM spans r WHERE r.trace_id = s.trace_id ORDER BY r.start_ns LIMIT 1) "
      "FROM spans s WHERE start_ns >= ? GROUP BY trace_id ORDER BY min(start_ns) DESC";
  if (limit) sql += " LIMIT " + std::to_string(limit);
  auto st = db.prepare(sql);
  st.bind(1, since_ns.value_or(0));
  std::vector<TraceSummary> out;
  while (st.step()) {
    TraceSummary t;
    t.trace_id = st.get_text(0);
    t.start_ns = st.get_int(1);
    t.duration_ns = st.get_int(2);
    t.span_count = st.get_int(3);
    t.status = st.get_int(4) ? Status::error : Status::ok;
    t.root_name = st.get_text(5);
    out.push_back(t);
  }
  return out;
}

std::vector<Span> get_trace(store::Db& db, const std::string& id) {
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      throw UsageError("'" + id + "' is not a trace id", "trace ids are hex; see 'mlopsctl trace list'");
  auto ids = db.prepare("SELECT DISTINCT trace_id FROM spans WHERE trace_id LIKE ? || '%' LIMIT 2");
  ids.bind(1, id);
  std::vector<std::string> matches;
  while (ids.step()) matches.push_back(ids.get_text(0));
  if (matches.empty()) throw NotFoundError("no trace " + id, "list recent traces with 'mlopsctl trace list'");
  if (matches.size() > 1) throw UsageError("trace id prefix '" + id + "' is ambiguous", "give more characters");
  auto st = db.prepare(
      "SELECT span_id, trace_id, parent_span_id, name, kind, start_ns, end_ns, status, status_message, attributes "
      "FROM spans WHERE trace_id = ? ORDER BY start_ns, rowid");
  st.bind(1, matches[0]);
  std::vector<Span> out;
  while (st.step()) out.push_back(read_span(st));
  return out;
}

std::int64_t span_count(store::Db& db) {
  return db.query_int("SELECT count(*) FROM spans");
}

std::int64_t prune(store::Db& db, std::int64_t cutoff_ns) {
  std::int64_t n = 0;
  db.write([&] {
    auto count = db.prepare("SELECT count(*) FROM spans WHERE start_ns < ?");
    count.bind(1, cutoff_ns);
    count.step();
    n = count.get_int(0);
    db.prepare("DELETE FROM spans WHERE start_ns < ?").bind_all(cutoff_ns).run();
  });
  return n;
}

nlohmann::json to_json(const Span& s) {
  return {{"trace_id", s.trace_id},
          {"span_id", s.span_id},
          {"parent_span_id", s.parent_span_id ? nlohmann::json(*s.parent_span_id) : nlohmann::json(nullptr)},
          {"name", s.name},
          {"kind", s.kind},
          {"start_time", util::format_rfc3339(s.start_ns)},
          {"start_time_unix_nano", s.start_ns},
          {"end_time_unix_nano", s.end_ns ? nlohmann::json(*s.end_ns) : nlohmann::json(nullptr)},
          {"duration_ms",
           s.end_ns ? nlohmann::json(static_cast<double>(*s.end_ns - s.start_ns) / 1e6) : nlohmann::json(nullptr)},
          {"status", status_name(s.status)},
          {"status_message", s.status_message},
          {"attributes", s.attributes}};
}

}  // namespace mlops::trace
