#include "experiment/runs.hpp"

#include "store/by_ref.hpp"
#include "util/error.hpp"
#include "util/owner_json.hpp"
#include "util/time.hpp"

namespace mlops::experiment {

using nlohmann::json;

namespace {

const char* k_columns =
    "id, name, description, config_path, config_sha256, paired, started_ms, finished_ms, status, owner, outcome, "
    "winner, summary, decision, actor, trace_id";

json parse_object(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

AbRun read_run(store::Statement& st) {
  AbRun r;
  r.id = st.get_text(0);
  r.name = st.get_text(1);
  r.description = st.get_text(2);
  r.config_path = st.get_text(3);
  r.config_sha256 = st.get_text(4);
  r.paired = st.get_int(5) != 0;
  r.started_ms = st.get_int(6);
  if (!st.is_null(7)) r.finished_ms = st.get_int(7);
  r.status = st.get_text(8);
  json owner = parse_object(st.get_text(9));
  r.outcome = st.get_optional_text(10);
  r.winner = st.get_optional_text(11);
  r.summary = parse_object(st.get_text(12));
  r.decision = parse_object(st.get_text(13));
  r.actor = st.get_text(14);
  r.trace_id = st.get_text(15);
  // A run still marked running whose process on this host is gone was killed.
  if (r.status == "running" && owner.get<util::ProcessOwner>().gone()) r.status = "interrupted";
  return r;
}

std::string iso(std::int64_t ms) {
  return util::format_rfc3339(ms * 1'000'000);
}

}  // namespace

void AbRuns::create(const AbRun& r) {
  json owner = util::ProcessOwner::self();
  db_.write([&] {
    db_.prepare(
           "INSERT INTO ab_runs(id, name, description, config_path, config_sha256, paired, started_ms, status, "
           "owner, summary, actor, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(r.id, r.name, r.description, r.config_path, r.config_sha256, r.paired ? 1 : 0, r.started_ms, r.status,
                  owner.dump(), r.summary.dump(), r.actor, r.trace_id)
        .run();
  });
}

void AbRuns::link_arm(const std::string& run_id, int position, const ArmLink& link) {
  db_.write([&] {
    db_.prepare("INSERT OR REPLACE INTO ab_arms(run_id, position, arm, eval_run) VALUES (?, ?, ?, ?)")
        .bind_all(run_id, position, link.arm, link.eval_run)
        .run();
  });
}

void AbRuns::finish(const AbRun& r) {
  db_.write([&] {
    db_.prepare(
           "UPDATE ab_runs SET finished_ms = ?, status = ?, outcome = ?, winner = ?, summary = ?, decision = ? "
           "WHERE id = ?")
        .bind_all(r.finished_ms, r.status, r.outcome, r.winner, r.summary.dump(), r.decision.dump(), r.id)
        .run();
  });
}

AbRun AbRuns::get(const std::string& ref) {
  std::vector<AbRun> found;
  db_.read([&] {
    store::find_by_ref(db_, "ab_runs", k_columns, ref, [&](store::Statement& st) { found.push_back(read_run(st)); });
    if (found.empty()) return;
    auto arms = db_.prepare("SELECT arm, eval_run FROM ab_arms WHERE run_id = ? ORDER BY position");
    arms.bind(1, found.front().id);
    while (arms.step()) found.front().arms.push_back({arms.get_text(0), arms.get_text(1)});
  });
  if (found.empty())
    throw NotFoundError("no A/B experiment run '" + ref + "'",
                        "give the run id printed by 'experiment run', or the experiment's name for its latest run");
  if (found.size() > 1 && found[0].id != ref)
    throw UsageError("'" + ref + "' matches more than one experiment run", "give more of the run id");
  return found.front();
}

std::vector<AbRun> AbRuns::list(std::size_t limit, const std::optional<std::string>& name) {
  std::vector<AbRun> out;
  db_.read([&] {
    std::string sql = std::string("SELECT ") + k_columns + " FROM ab_runs";
    if (name) sql += " WHERE name = ?";
    sql += " ORDER BY started_ms DESC, id DESC";
    if (limit) sql += " LIMIT " + std::to_string(limit);
    auto st = db_.prepare(sql);
    if (name) st.bind(1, *name);
    while (st.step()) out.push_back(read_run(st));
  });
  return out;
}

std::vector<AbExperimentSummary> AbRuns::experiments() {
  std::map<std::string, AbExperimentSummary> by_name;
  for (const auto& r : list(0, std::nullopt)) {
    auto& e = by_name[r.name];
    e.name = r.name;
    ++e.runs;
    ++e.by_status[r.status];
    e.first_ms = e.first_ms == 0 ? r.started_ms : std::min(e.first_ms, r.started_ms);
    e.last_ms = std::max(e.last_ms, r.started_ms);
  }
  std::vector<AbExperimentSummary> out;
  for (auto& [_, e] : by_name) out.push_back(std::move(e));
  return out;
}

json to_json(const AbRun& r) {
  json arms = r.summary.value("arms", json::array());
  for (auto& a : arms)
    for (const auto& link : r.arms)
      if (a.value("name", std::string()) == link.arm) a["eval_run"] = link.eval_run;
  return {{"id", r.id},
          {"kind", "ab"},
          {"name", r.name},
          {"description", r.description},
          {"config", r.config_path},
          {"config_sha256", r.config_sha256},
          {"paired", r.paired},
          {"status", r.status},
          {"started", iso(r.started_ms)},
          {"finished", r.finished_ms ? json(iso(*r.finished_ms)) : json(nullptr)},
          {"actor", r.actor},
          {"trace_id", r.trace_id},
          {"confidence", r.summary.value("confidence", json(nullptr))},
          {"primary", r.summary.value("primary", json(nullptr))},
          {"unit", r.summary.value("unit", json(nullptr))},
          {"arms", arms},
          {"metrics", r.summary.value("metrics", json::array())},
          {"srm", r.summary.value("srm", json(nullptr))},
          {"decision", r.decision.empty() ? json(nullptr) : r.decision}};
}

}  // namespace mlops::experiment
