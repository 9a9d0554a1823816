#include "eval/results.hpp"

#include "store/by_ref.hpp"
#include "util/error.hpp"
#include "util/owner_json.hpp"
#include "util/time.hpp"

namespace mlops::eval {

using nlohmann::json;

namespace {

const char* k_run_columns =
    "id, name, description, config_path, config_sha256, started_ms, finished_ms, status, total, passed, failed, "
    "errors, summary, actor, trace_id";

// A run still marked running whose process on this host is gone was killed.
void settle_status(RunInfo& r) {
  if (r.status == "running" && r.summary.contains("owner") &&
      r.summary["owner"].get<util::ProcessOwner>().gone())
    r.status = "interrupted";
}

RunInfo read_run(store::Statement& st) {
  RunInfo r;
  r.id = st.get_text(0);
  r.name = st.get_optional_text(1);
  r.description = st.get_text(2);
  r.config_path = st.get_text(3);
  r.config_sha256 = st.get_text(4);
  r.started_ms = st.get_int(5);
  if (!st.is_null(6)) r.finished_ms = st.get_int(6);
  r.status = st.get_text(7);
  r.total = st.get_int(8);
  r.passed = st.get_int(9);
  r.failed = st.get_int(10);
  r.errors = st.get_int(11);
  r.summary = json::parse(st.get_text(12), nullptr, false);
  if (r.summary.is_discarded()) r.summary = json::object();
  r.actor = st.get_text(13);
  r.trace_id = st.get_text(14);
  settle_status(r);
  return r;
}

std::string iso(std::int64_t ms) { return util::format_rfc3339(ms * 1'000'000); }

}  // namespace

void Results::create(const RunInfo& r) {
  // Who runs it, so a run whose process died (kill -9, a reboot) reads as interrupted.
  json owner = util::ProcessOwner::self();
  db_.write([&] {
    db_.prepare("INSERT INTO eval_runs(id, name, description, config_path, config_sha256, started_ms, status, actor, "
                "trace_id, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(r.id, r.name, r.description, r.config_path, r.config_sha256, r.started_ms, r.status, r.actor,
                  r.trace_id, json{{"owner", owner}}.dump())
        .run();
  });
}

void Results::append(const std::string& run_id, const std::vector<ResultRow>& rows) {
  if (rows.empty()) return;
  db_.write([&] {
    auto st = db_.prepare(
        "INSERT INTO eval_results(run_id, idx, test_idx, repeat_idx, prompt, provider, description, vars, output, "
        "error, pass, score, assertions, latency_ms, cost_usd, tokens_in, tokens_out, cache_hit) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& r : rows) {
      st.reset();
      st.bind_all(run_id, r.idx, r.test_idx, r.repeat_idx, r.prompt, r.provider, r.description, r.vars.dump(),
                  r.output, r.error, r.pass ? 1 : 0, r.score, r.assertions.dump(), r.latency_ms, r.cost_usd,
                  r.tokens_in, r.tokens_out, r.cache_hit ? 1 : 0);
      st.run();
    }
  });
}

void Results::finish(const RunInfo& r) {
  db_.write([&] {
    db_.prepare("UPDATE eval_runs SET finished_ms = ?, status = ?, total = ?, passed = ?, failed = ?, errors = ?, "
                "summary = ? WHERE id = ?")
        .bind_all(r.finished_ms, r.status, r.total, r.passed, r.failed, r.errors, r.summary.dump(), r.id)
        .run();
  });
}

void Results::mark(const std::string& run_id, const std::string& status) {
  db_.write([&] { db_.prepare("UPDATE eval_runs SET status = ? WHERE id = ?").bind_all(status, run_id).run(); });
}

RunInfo Results::get(const std::string& ref) {
  std::vector<RunInfo> found;
  db_.read([&] {
    store::find_by_ref(db_, "eval_runs", k_run_columns, ref,
                       [&](store::Statement& st) { found.push_back(read_run(st)); });
  });
  if (found.empty())
    throw NotFoundError("no eval run '" + ref + "'", "see 'mlopsctl eval list' for run ids and names");
  if (found.size() > 1 && found[0].id != ref)
    throw UsageError("'" + ref + "' matches more than one eval run", "give more of the run id");
  return found.front();
}

std::optional<RunInfo> Results::latest(const std::optional<std::string>& name) {
  auto runs = list(1, name);
  if (runs.empty()) return std::nullopt;
  return runs.front();
}

std::vector<RunInfo> Results::list(std::size_t limit, const std::optional<std::string>& name) {
  std::vector<RunInfo> out;
  std::string sql = std::string("SELECT ") + k_run_columns + " FROM eval_runs";
  if (name) sql += " WHERE name = ?";
  sql += " ORDER BY started_ms DESC, id DESC";
  if (limit) sql += " LIMIT " + std::to_string(limit);
  auto st = db_.prepare(sql);
  if (name) st.bind(1, *name);
  while (st.step()) out.push_back(read_run(st));
  return out;
}

void Results::for_each(const std::string& run_id, const std::function<bool(const ResultRow&)>& fn,
                       bool failures_only) {
  auto st = db_.prepare(std::string(
                            "SELECT idx, test_idx, repeat_idx, prompt, provider, description, vars, output, error, "
                            "pass, score, assertions, latency_ms, cost_usd, tokens_in, tokens_out, cache_hit "
                            "FROM eval_results WHERE run_id = ?") +
                        (failures_only ? " AND pass = 0" : "") + " ORDER BY idx");
  st.bind(1, run_id);
  ResultRow r;
  while (st.step()) {
    r.idx = st.get_int(0);
    r.test_idx = st.get_int(1);
    r.repeat_idx = static_cast<int>(st.get_int(2));
    r.prompt = st.get_text(3);
    r.provider = st.get_text(4);
    r.description = st.get_text(5);
    r.vars = json::parse(st.get_text(6), nullptr, false);
    r.output = st.get_optional_text(7);
    r.error = st.get_optional_text(8);
    r.pass = st.get_int(9) != 0;
    r.score = st.get_double(10);
    r.assertions = json::parse(st.get_text(11), nullptr, false);
    r.latency_ms = st.get_double(12);
    r.cost_usd = st.is_null(13) ? std::nullopt : std::optional<double>(st.get_double(13));
    r.tokens_in = st.get_int(14);
    r.tokens_out = st.get_int(15);
    r.cache_hit = st.get_int(16) != 0;
    if (!fn(r)) return;
  }
}

json to_json(const RunInfo& r) {
  return {{"id", r.id},
          {"name", r.name ? json(*r.name) : json(nullptr)},
          {"description", r.description},
          {"config", r.config_path},
          {"config_sha256", r.config_sha256},
          {"started", iso(r.started_ms)},
          {"finished", r.finished_ms ? json(iso(*r.finished_ms)) : json(nullptr)},
          {"status", r.status},
          {"total", r.total},
          {"passed", r.passed},
          {"failed", r.failed},
          {"errors", r.errors},
          {"pass_rate", r.pass_rate()},
          {"summary", r.summary},
          {"actor", r.actor},
          {"trace_id", r.trace_id}};
}

json to_json(const ResultRow& r) {
  return {{"idx", r.idx},
          {"test", r.test_idx},
          {"repeat", r.repeat_idx},
          {"prompt", r.prompt},
          {"provider", r.provider},
          {"description", r.description},
          {"vars", r.vars},
          {"output", r.output ? json(*r.output) : json(nullptr)},
          {"error", r.error ? json(*r.error) : json(nullptr)},
          {"pass", r.pass},
          {"score", r.score},
          {"assertions", r.assertions},
          {"latency_ms", r.latency_ms},
          {"cost_usd", r.cost_usd ? json(*r.cost_usd) : json(nullptr)},
          {"tokens_in", r.tokens_in},
          {"tokens_out", r.tokens_out},
          {"cache_hit", r.cache_hit}};
}

}  // namespace mlops::eval
