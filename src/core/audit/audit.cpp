#include "audit/audit.hpp"

#include <algorithm>

#include "util/error.hpp"
#include "util/hash.hpp"
#include "util/time.hpp"

namespace mlops::audit {

std::string entry_hash(const Entry& e) {
  // Version-tagged, newline-separated canonical form; json::dump sorts object keys.
  std::string canonical = "mlops-audit-v1\n" + std::to_string(e.seq) + "\n" + std::to_string(e.ts_ns) + "\n" + e.actor +
                          "\n" + e.action + "\n" + e.target + "\n" + e.details.dump() + "\n" + e.trace_id.value_or("") +
                          "\n" + e.prev_hash;
  return util::sha256_hex(canonical);
}

Entry AuditLog::append(const std::string& actor, const std::string& action, const std::string& target,
                       const nlohmann::json& details, const std::optional<std::string>& trace_id) {
  Entry e;
  e.actor = actor;
  e.action = action;
  e.target = target;
  e.details = details.is_null() ? nlohmann::json::object() : details;
  e.trace_id = trace_id;
  db_.write([&] {
    e.ts_ns = util::now_ns();
    auto last = db_.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (last.step()) {
      e.seq = last.get_int(0) + 1;
      e.prev_hash = last.get_text(1);
    } else {
      e.seq = 1;
      e.prev_hash = k_genesis_hash;
    }
    e.hash = entry_hash(e);
    db_.prepare(
           "INSERT INTO audit(seq, ts_ns, actor, action, target, details, trace_id, prev_hash, hash) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(e.seq, e.ts_ns, e.actor, e.action, e.target, e.details.dump(), e.trace_id, e.prev_hash, e.hash)
        .run();
    db_.prepare(
           "INSERT INTO meta(key, value) VALUES ('audit_head', ?) ON CONFLICT(key) DO UPDATE SET value = "
           "excluded.value")
        .bind_all(std::to_string(e.seq) + ":" + e.hash)
        .run();
  });
  return e;
}

namespace {

Entry read_row(const store::Statement& st) {
  Entry e;
  e.seq = st.get_int(0);
  e.ts_ns = st.get_int(1);
  e.actor = st.get_text(2);
  e.action = st.get_text(3);
  e.target = st.get_text(4);
  e.details = nlohmann::json::parse(st.get_text(5), nullptr, false);
  e.trace_id = st.get_optional_text(6);
  e.prev_hash = st.get_text(7);
  e.hash = st.get_text(8);
  return e;
}

constexpr const char* k_columns = "seq, ts_ns, actor, action, target, details, trace_id, prev_hash, hash";

}  // namespace

std::vector<Entry> AuditLog::list(const Filter& f) {
  std::string sql = std::string("SELECT ") + k_columns + " FROM audit WHERE ts_ns >= ?1";
  if (!f.action_prefix.empty()) sql += " AND (action = ?2 OR substr(action, 1, length(?2) + 1) = ?2 || '.')";
  if (!f.actor.empty()) sql += " AND actor = ?3";
  sql += " ORDER BY seq DESC";
  if (f.limit) sql += " LIMIT " + std::to_string(f.limit);
  auto st = db_.prepare(sql);
  st.bind(1, f.since_ns.value_or(0));
  if (!f.action_prefix.empty()) st.bind(2, f.action_prefix);
  if (!f.actor.empty()) st.bind(3, f.actor);
  std::vector<Entry> out;
  while (st.step()) out.push_back(read_row(st));
  std::reverse(out.begin(), out.end());
  return out;
}

VerifyResult AuditLog::verify() {
  VerifyResult r;
  db_.read([&] {
    auto st = db_.prepare(std::string("SELECT ") + k_columns + " FROM audit ORDER BY seq");
    std::string prev = k_genesis_hash;
    std::int64_t expected_seq = 1;
    auto bad = [&](std::int64_t seq, const std::string& what) {
      r.problems.push_back("entry " + std::to_string(seq) + ": " + what);
      if (!r.first_bad_seq) r.first_bad_seq = seq;
    };
    while (st.step()) {
      Entry e = read_row(st);
      ++r.entries;
      if (e.seq != expected_seq)
        bad(expected_seq,
            "missing (entries " + std::to_string(expected_seq) + ".." + std::to_string(e.seq - 1) + " were deleted)");
      if (e.prev_hash != prev) bad(e.seq, "does not link to the entry before it");
      if (e.details.is_discarded())
        bad(e.seq, "details are not valid JSON (edited)");
      else if (entry_hash(e) != e.hash)
        bad(e.seq, "content does not match its hash (edited)");
      prev = e.hash;
      expected_seq = e.seq + 1;
    }
    auto head = db_.query_text("SELECT value FROM meta WHERE key = 'audit_head'");
    std::string expected_head = r.entries ? std::to_string(expected_seq - 1) + ":" + prev : "";
    if (head.value_or("") != expected_head)
      bad(expected_seq - 1,
          "the log ends before its recorded head " + head.value_or("(none)") + " (entries were removed from the end)");
  });
  return r;
}

std::int64_t AuditLog::count() {
  return db_.query_int("SELECT count(*) FROM audit");
}

std::optional<std::int64_t> AuditLog::last_ts_ns() {
  auto st = db_.prepare("SELECT max(ts_ns) FROM audit");
  if (!st.step() || st.is_null(0)) return std::nullopt;
  return st.get_int(0);
}

nlohmann::json to_json(const Entry& e) {
  return {{"seq", e.seq},
          {"time", util::format_rfc3339(e.ts_ns)},
          {"actor", e.actor},
          {"action", e.action},
          {"target", e.target},
          {"details", e.details},
          {"trace_id", e.trace_id ? nlohmann::json(*e.trace_id) : nlohmann::json(nullptr)},
          {"prev_hash", e.prev_hash},
          {"hash", e.hash}};
}

}  // namespace mlops::audit
