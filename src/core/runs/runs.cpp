#include "runs/runs.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/owner.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::runs {

using util::process_alive;
using util::process_start_token;
using util::this_host;

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::int64_t now_ms() { return util::now_ns() / 1'000'000; }

constexpr const char* k_run_select =
    "SELECT r.id, e.name, r.name, r.status, r.start_ms, r.end_ms, r.user, r.host, r.owner_pid, r.owner_start, "
    "r.git_commit, r.config_sha256, r.data_sha256, r.seed, r.mlopsctl_version, r.source "
    "FROM runs r JOIN experiments e ON e.id = r.experiment_id ";

// The status a reader should see: a running run whose owner on this host is
// gone failed (the owner could not end it).
void settle(RunInfo& r, const std::string& owner_start) {
  r.status = r.stored_status;
  if (r.stored_status != k_running || r.owner_pid <= 0 || r.host != this_host()) return;
  if (!process_alive(r.owner_pid, owner_start)) {
    r.status = k_failed;
    r.status_reason = "its owner process " + std::to_string(r.owner_pid) + " on " + r.host +
                      " exited without ending the run";
  }
}

RunInfo read_run(const store::Statement& st) {
  RunInfo r;
  r.id = st.get_text(0);
  r.experiment = st.get_text(1);
  r.name = st.get_text(2);
  r.stored_status = st.get_text(3);
  r.start_ms = st.get_int(4);
  if (!st.is_null(5)) r.end_ms = st.get_int(5);
  r.user = st.get_text(6);
  r.host = st.get_text(7);
  r.owner_pid = st.get_int(8);
  std::string owner_start = st.get_text(9);
  r.git_commit = st.get_optional_text(10);
  r.config_sha256 = st.get_optional_text(11);
  r.data_sha256 = st.get_optional_text(12);
  if (!st.is_null(13)) r.seed = st.get_int(13);
  r.mlopsctl_version = st.get_text(14);
  r.source = st.get_text(15);
  settle(r, owner_start);
  return r;
}

bool is_status(const std::string& s) {
  return s == k_running || s == k_finished || s == k_failed || s == k_killed;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

void check_artifact_name(const std::string& name) {
  std::string why;
  if (name.empty())
    why = "it is empty";
  else if (name.size() > 1024)
    why = "it is longer than 1024 characters";
  else if (name[0] == '/')
    why = "it starts with '/'";
  else
    for (const auto& part : util::split(name, '/'))
      if (part.empty() || part == "." || part == "..") {
        why = "it has an empty, '.' or '..' path component";
        break;
      }
  if (why.empty())
    for (char c : name)
      if (static_cast<unsigned char>(c) < 0x20) why = "it contains a control character";
  if (!why.empty())
    throw UsageError("invalid artifact name '" + name + "': " + why,
                     "use a relative path such as model.pt or checkpoints/epoch-3.pt");
}

void write_param(store::Db& db, const std::string& run, const std::string& key, const std::string& value) {
  check_key("param", key);
  if (value.size() > k_max_param_value)
    throw UsageError("param '" + key + "' is " + std::to_string(value.size()) + " bytes, over the limit of " +
                         std::to_string(k_max_param_value),
                     "log long values as an artifact instead");
  auto existing = db.prepare("SELECT value FROM run_params WHERE run_id = ? AND key = ?");
  existing.bind_all(run, key);
  if (existing.step()) {
    std::string old = existing.get_text(0);
    if (old == value) return;
    throw UsageError("param '" + key + "' of run " + run + " is already '" + old + "'; it cannot change to '" +
                         value + "'",
                     "params are write-once (as in MLflow): log a tag or a metric for values that change, or "
                     "start a new run");
  }
  db.prepare("INSERT INTO run_params(run_id, key, value) VALUES (?, ?, ?)").bind_all(run, key, value).run();
}

void write_tag(store::Db& db, const std::string& run, const std::string& key, const std::string& value) {
  check_key("tag", key);
  if (value.size() > k_max_tag_value)
    throw UsageError("tag '" + key + "' is " + std::to_string(value.size()) + " bytes, over the limit of " +
                     std::to_string(k_max_tag_value));
  db.prepare(
        "INSERT INTO run_tags(run_id, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value")
      .bind_all(run, key, value)
      .run();
}

void write_metrics(store::Db& db, const std::string& run, const std::vector<Metric>& metrics) {
  if (metrics.empty()) return;
  auto hist = db.prepare("INSERT INTO run_metrics(run_id, key, step, ts_ms, value) VALUES (?, ?, ?, ?, ?)");
  // MLflow's latest metric: the highest step, then the newest timestamp.
  auto latest = db.prepare(
      "INSERT INTO run_latest_metrics(run_id, key, step, ts_ms, value) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(run_id, key) DO UPDATE SET step = excluded.step, ts_ms = excluded.ts_ms, value = excluded.value "
      "WHERE excluded.step > step OR (excluded.step = step AND excluded.ts_ms >= ts_ms)");
  std::int64_t now = now_ms();
  for (const auto& m : metrics) {
    check_key("metric", m.key);
    std::int64_t ts = m.ts_ms ? m.ts_ms : now;
    hist.reset();
    hist.bind_all(run, m.key, m.step, ts, m.value).run();
    latest.reset();
    latest.bind_all(run, m.key, m.step, ts, m.value).run();
  }
}

}  // namespace

void check_key(const std::string& what, const std::string& key) {
  std::string why;
  if (key.empty())
    why = "it is empty";
  else if (key.size() > k_max_key)
    why = "it is longer than " + std::to_string(k_max_key) + " characters";
  else if (key[0] == '/' || key.find("..") != std::string::npos)
    why = "it starts with '/' or contains '..'";
  else
    for (char c : key)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' && c != ' ' && c != '/') {
        why = "it contains '" + std::string(1, c) + "'";
        break;
      }
  if (!why.empty())
    throw UsageError("invalid " + what + " key '" + key + "': " + why,
                     "keys use letters, digits, '_', '-', '.', ' ' and '/' (as in MLflow), e.g. val/accuracy");
}

void check_experiment_name(const std::string& name) {
  std::string why;
  if (name.empty())
    why = "it is empty";
  else if (name.size() > 256)
    why = "it is longer than 256 characters";
  else
    for (char c : name)
      if (static_cast<unsigned char>(c) < 0x20) why = "it contains a control character";
  if (!why.empty()) throw UsageError("invalid experiment name '" + name + "': " + why, "e.g. --experiment churn");
}

std::pair<std::string, std::string> parse_assignment(const std::string& flag, const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError(flag + " '" + text + "' is not KEY=VALUE", "e.g. " + flag + " lr=0.01");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

double parse_metric_value(const std::string& key, const std::string& text) {
  std::string t = util::trim(text);
  try {
    std::size_t used = 0;
    double v = std::stod(t, &used);
    if (used == t.size() && !t.empty()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("metric '" + key + "' has value '" + text + "', which is not a number",
                   "metrics are numbers, e.g. --metric loss=0.25; log text as a tag or param");
}

std::string content_hash(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  if (fs::is_regular_file(p, ec)) return util::sha256_file(p);
  if (!fs::is_directory(p, ec)) throw NotFoundError(path + " does not exist", "give an existing file or directory");
  std::vector<std::pair<std::string, std::string>> files;
  for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file()) files.emplace_back(fs::relative(it->path(), p).generic_string(), "");
  if (ec) throw RuntimeError("cannot read directory " + path + ": " + ec.message());
  std::sort(files.begin(), files.end());
  util::Sha256 h;
  for (auto& [rel, sha] : files) {
    sha = util::sha256_file(p / rel);
    h.update(rel);
    h.update(std::string_view("\0", 1));
    h.update(sha);
    h.update("\n");
  }
  return h.hex();
}

RunInfo Runs::start(const StartOptions& o) {
  std::string id;
  db_.write([&] {
    if (o.resume) {
      id = resolve_id(*o.resume);
      RunInfo r = get_by_id(id);
      if (!o.experiment.empty() && o.experiment != r.experiment)
        throw UsageError("run " + id + " belongs to experiment '" + r.experiment + "', not '" + o.experiment + "'",
                         "drop --experiment or MLOPS_RUN_ID to start a new run");
      db_.prepare(
             "UPDATE runs SET status = 'running', end_ms = NULL, owner_pid = ?, owner_start = ?, host = ? WHERE id = ?")
          .bind_all(o.owner_pid, process_start_token(o.owner_pid), o.host.empty() ? this_host() : o.host, id)
          .run();
      return;
    }
    check_experiment_name(o.experiment);
    db_.prepare("INSERT INTO experiments(name, created_ms) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
        .bind_all(o.experiment, now_ms())
        .run();
    auto e = db_.prepare("SELECT id FROM experiments WHERE name = ?");
    e.bind_all(o.experiment);
    e.step();
    std::int64_t experiment_id = e.get_int(0);
    id = util::random_hex(16);
    db_.prepare(
           "INSERT INTO runs(id, experiment_id, name, status, start_ms, user, host, owner_pid, owner_start, git_commit, "
           "config_sha256, data_sha256, seed, mlopsctl_version, source) "
           "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(id, experiment_id, o.name, now_ms(), o.user, o.host.empty() ? this_host() : o.host, o.owner_pid,
                  process_start_token(o.owner_pid), o.git_commit, o.config_sha256, o.data_sha256, o.seed,
                  o.mlopsctl_version, o.source)
        .run();
  });
  return get_by_id(id);
}

void Runs::require_active(const std::string& id) {
  auto st = db_.prepare("SELECT status FROM runs WHERE id = ?");
  st.bind_all(id);
  if (!st.step()) throw NotFoundError("no run " + id, "list runs with 'mlopsctl experiment runs EXPERIMENT'");
}

void Runs::log_param(const std::string& run, const std::string& key, const std::string& value) {
  log_batch(run, {{key, value}}, {}, {});
}

void Runs::log_metric(const std::string& run, const Metric& metric) {
  log_batch(run, {}, {metric}, {});
}

void Runs::set_tag(const std::string& run, const std::string& key, const std::string& value) {
  log_batch(run, {}, {}, {{key, value}});
}

void Runs::log_batch(const std::string& run, const std::map<std::string, std::string>& params,
                     const std::vector<Metric>& metrics, const std::map<std::string, std::string>& tags) {
  std::string id = resolve_id(run);
  db_.write([&] {
    require_active(id);
    for (const auto& [k, v] : params) write_param(db_, id, k, v);
    write_metrics(db_, id, metrics);
    for (const auto& [k, v] : tags) write_tag(db_, id, k, v);
  });
}

void Runs::record_artifact(const std::string& id, const Artifact& a) {
  db_.write([&] {
    require_active(id);
    db_.prepare(
           "INSERT INTO run_artifacts(run_id, name, sha256, size, added_ms) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT(run_id, name) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, "
           "added_ms = excluded.added_ms")
        .bind_all(id, a.name, a.sha256, static_cast<std::int64_t>(a.size), a.added_ms)
        .run();
  });
}

Artifact Runs::add_artifact(const std::string& run, const std::string& path, const std::string& name) {
  if (!objects_) throw RuntimeError("internal: Runs needs the object store to add artifacts");
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec))
    throw UsageError("artifact " + path + " is a directory", "add its files one by one, e.g. with --name DIR/FILE");
  if (!fs::is_regular_file(p, ec)) throw NotFoundError("artifact file " + path + " does not exist");
  Artifact a;
  a.name = name.empty() ? p.filename().string() : name;
  check_artifact_name(a.name);
  std::string id = resolve_id(run);
  auto info = objects_->put_file(p);
  a.sha256 = info.sha256;
  a.size = info.size;
  a.added_ms = now_ms();
  record_artifact(id, a);
  return a;
}

Artifact Runs::add_artifact_content(const std::string& run, const std::string& name, std::string_view content) {
  if (!objects_) throw RuntimeError("internal: Runs needs the object store to add artifacts");
  check_artifact_name(name);
  std::string id = resolve_id(run);
  auto info = objects_->put(content);
  Artifact a{name, info.sha256, info.size, now_ms()};
  record_artifact(id, a);
  return a;
}

RunInfo Runs::end(const std::string& run, const std::string& status) {
  if (!is_status(status) || status == k_running)
    throw UsageError("cannot end a run with status '" + status + "'", "use --status finished, failed or killed");
  std::string id = resolve_id(run);
  db_.write([&] {
    RunInfo r = get_by_id(id);
    if (r.stored_status != k_running) {
      if (r.stored_status == status) return;
      throw UsageError("run " + id + " already ended as " + r.stored_status,
                       "a run ends once; resume it with 'mlopsctl run start --resume " + id + "' first");
    }
    db_.prepare("UPDATE runs SET status = ?, end_ms = ? WHERE id = ?").bind_all(status, now_ms(), id).run();
  });
  return get_by_id(id);
}

std::string Runs::resolve_id(const std::string& ref) {
  std::string r = util::trim(ref);
  if (r.empty()) throw UsageError("no run given", "pass a run id, or set MLOPS_RUN_ID (printed by 'run start')");
  std::string lower = r;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.size() >= 4 && lower.size() <= 32 && is_hex(lower)) {
    auto st = db_.prepare("SELECT id FROM runs WHERE id >= ? AND id <= ? ORDER BY id LIMIT 2");
    st.bind_all(lower, lower + std::string(32 - lower.size(), 'f'));
    std::vector<std::string> ids;
    while (st.step()) ids.push_back(st.get_text(0));
    if (ids.size() == 1) return ids[0];
    if (ids.size() > 1)
      throw UsageError("run id prefix '" + r + "' is ambiguous (" + ids[0] + ", " + ids[1] + ", …)",
                       "give more characters of the id");
  }
  // A run name: the newest run with it.
  auto st = db_.prepare("SELECT id FROM runs WHERE name = ? ORDER BY start_ms DESC, id LIMIT 1");
  st.bind_all(r);
  if (st.step()) return st.get_text(0);
  throw NotFoundError("no run '" + r + "'", "list runs with 'mlopsctl experiment runs EXPERIMENT'");
}

RunInfo Runs::get_by_id(const std::string& id) {
  auto st = db_.prepare(std::string(k_run_select) + "WHERE r.id = ?");
  st.bind_all(id);
  if (!st.step()) throw NotFoundError("no run " + id);
  return read_run(st);
}

RunInfo Runs::get(const std::string& ref) {
  return get_by_id(resolve_id(ref));
}

RunDetail Runs::detail(const std::string& ref) {
  RunDetail d;
  db_.read([&] {
    d.info = get(ref);
    const std::string& id = d.info.id;
    auto p = db_.prepare("SELECT key, value FROM run_params WHERE run_id = ? ORDER BY key");
    p.bind_all(id);
    while (p.step()) d.params[p.get_text(0)] = p.get_text(1);
    auto t = db_.prepare("SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key");
    t.bind_all(id);
    while (t.step()) d.tags[t.get_text(0)] = t.get_text(1);
    auto m = db_.prepare("SELECT key, step, ts_ms, value FROM run_latest_metrics WHERE run_id = ? ORDER BY key");
    m.bind_all(id);
    while (m.step()) d.metrics[m.get_text(0)] = Metric{m.get_text(0), m.get_double(3), m.get_int(1), m.get_int(2)};
    auto a = db_.prepare("SELECT name, sha256, size, added_ms FROM run_artifacts WHERE run_id = ? ORDER BY name");
    a.bind_all(id);
    while (a.step())
      d.artifacts.push_back({a.get_text(0), a.get_text(1), static_cast<std::uint64_t>(a.get_int(2)), a.get_int(3)});
  });
  return d;
}

std::vector<Metric> Runs::metric_history(const std::string& run, const std::string& key) {
  std::string id = resolve_id(run);
  auto st = db_.prepare("SELECT step, ts_ms, value FROM run_metrics WHERE run_id = ? AND key = ? ORDER BY step, id");
  st.bind_all(id, key);
  std::vector<Metric> out;
  while (st.step()) out.push_back({key, st.get_double(2), st.get_int(0), st.get_int(1)});
  return out;
}

std::map<std::string, std::vector<Metric>> Runs::all_metric_history(const std::string& run) {
  std::string id = resolve_id(run);
  auto st = db_.prepare("SELECT key, step, ts_ms, value FROM run_metrics WHERE run_id = ? ORDER BY key, step, id");
  st.bind_all(id);
  std::map<std::string, std::vector<Metric>> out;
  while (st.step()) {
    std::string key = st.get_text(0);
    out[key].push_back({key, st.get_double(3), st.get_int(1), st.get_int(2)});
  }
  return out;
}

std::vector<RunInfo> Runs::list(const ListFilter& f) {
  std::string sql = k_run_select;
  if (f.experiment) sql += "WHERE e.name = ?1 ";
  sql += "ORDER BY r.start_ms DESC, r.id";
  auto st = db_.prepare(sql);
  if (f.experiment) st.bind(1, *f.experiment);
  std::vector<RunInfo> out;
  while (st.step()) {
    RunInfo r = read_run(st);
    if (f.status && r.status != *f.status) continue;
    out.push_back(std::move(r));
    if (f.limit && out.size() >= f.limit) break;
  }
  if (f.experiment && out.empty() && !f.status) {
    auto e = db_.prepare("SELECT 1 FROM experiments WHERE name = ?");
    e.bind_all(*f.experiment);
    if (!e.step())
      throw NotFoundError("no experiment '" + *f.experiment + "'", "list experiments with 'mlopsctl experiment list'");
  }
  return out;
}

std::vector<ExperimentSummary> Runs::experiments() {
  std::vector<ExperimentSummary> out;
  db_.read([&] {
    auto st = db_.prepare("SELECT id, name, created_ms FROM experiments ORDER BY name");
    std::map<std::int64_t, std::size_t> index;
    while (st.step()) {
      index[st.get_int(0)] = out.size();
      out.push_back({st.get_text(1), st.get_int(2), 0, {}, std::nullopt});
    }
    // Statuses are settled per run (a dead owner), so count in C++.
    auto runs = db_.prepare(
        "SELECT experiment_id, status, owner_pid, owner_start, host, start_ms FROM runs ORDER BY start_ms");
    while (runs.step()) {
      auto it = index.find(runs.get_int(0));
      if (it == index.end()) continue;
      auto& e = out[it->second];
      RunInfo r;
      r.stored_status = runs.get_text(1);
      r.owner_pid = runs.get_int(2);
      r.host = runs.get_text(4);
      settle(r, runs.get_text(3));
      ++e.runs;
      ++e.by_status[r.status];
      e.last_start_ms = runs.get_int(5);
    }
  });
  return out;
}

Comparison Runs::compare(const std::vector<std::string>& refs) {
  if (refs.empty()) throw UsageError("no runs to compare", "give two or more run ids, or --experiment NAME");
  Comparison c;
  db_.read([&] {
    std::set<std::string> seen;
    // Full ids (what scripts and --experiment pass) through one prepared
    // statement; prefixes and names through get().
    auto by_id = db_.prepare(std::string(k_run_select) + "WHERE r.id = ?");
    for (const auto& ref : refs) {
      std::optional<RunInfo> r;
      if (ref.size() == 32) {
        by_id.reset();
        by_id.bind(1, ref);
        if (by_id.step()) r = read_run(by_id);
      }
      if (!r) r = get(ref);
      if (seen.insert(r->id).second) c.runs.push_back(std::move(*r));
    }
    auto p = db_.prepare("SELECT key, value FROM run_params WHERE run_id = ?");
    auto m = db_.prepare("SELECT key, value FROM run_latest_metrics WHERE run_id = ?");
    std::set<std::string> pk, mk;
    c.params.resize(c.runs.size());
    c.metrics.resize(c.runs.size());
    for (std::size_t i = 0; i < c.runs.size(); ++i) {
      p.reset();
      p.bind(1, c.runs[i].id);
      while (p.step()) {
        auto k = p.get_text(0);
        pk.insert(k);
        c.params[i].emplace(std::move(k), p.get_text(1));
      }
      m.reset();
      m.bind(1, c.runs[i].id);
      while (m.step()) {
        auto k = m.get_text(0);
        mk.insert(k);
        c.metrics[i].emplace(std::move(k), m.get_double(1));
      }
    }
    c.param_keys.assign(pk.begin(), pk.end());
    c.metric_keys.assign(mk.begin(), mk.end());
  });
  return c;
}

namespace {

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
std::string iso(std::int64_t ms) { return util::format_rfc3339(ms * 1'000'000); }

// JSON has no NaN or infinity: they are written as strings, as MLflow's REST API does.
json number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

}  // namespace

json to_json(const RunInfo& r) {
  json j = {{"id", r.id},
            {"experiment", r.experiment},
            {"name", r.name},
            {"status", r.status},
            {"start_time", iso(r.start_ms)},
            {"end_time", r.end_ms ? json(iso(*r.end_ms)) : json(nullptr)},
            {"duration_ms", r.end_ms ? json(*r.end_ms - r.start_ms) : json(nullptr)},
            {"user", r.user},
            {"host", r.host},
            {"source", r.source},
            {"lineage",
             {{"git_commit", opt(r.git_commit)},
              {"config_sha256", opt(r.config_sha256)},
              {"data_sha256", opt(r.data_sha256)},
              {"seed", r.seed ? json(*r.seed) : json(nullptr)},
              {"mlopsctl_version", r.mlopsctl_version}}}};
  if (!r.status_reason.empty()) j["status_reason"] = r.status_reason;
  return j;
}

json to_json(const RunDetail& d) {
  json j = to_json(d.info);
  j["params"] = d.params;
  j["tags"] = d.tags;
  json metrics = json::object();
  for (const auto& [k, m] : d.metrics)
    metrics[k] = {{"value", number(m.value)}, {"step", m.step}, {"timestamp", iso(m.ts_ms)}};
  j["metrics"] = metrics;
  json arts = json::array();
  for (const auto& a : d.artifacts)
    arts.push_back({{"name", a.name}, {"sha256", a.sha256}, {"size", a.size}, {"added", iso(a.added_ms)}});
  j["artifacts"] = arts;
  return j;
}

json to_json(const Comparison& c) {
  json runs = json::array();
  for (std::size_t i = 0; i < c.runs.size(); ++i) {
    json params = json::object(), metrics = json::object();
    for (const auto& [k, v] : c.params[i]) params[k] = v;
    for (const auto& [k, v] : c.metrics[i]) metrics[k] = number(v);
    const auto& r = c.runs[i];
    runs.push_back({{"id", r.id},
                    {"name", r.name},
                    {"experiment", r.experiment},
                    {"status", r.status},
                    {"params", params},
                    {"metrics", metrics}});
  }
  return {{"param_keys", c.param_keys}, {"metric_keys", c.metric_keys}, {"runs", runs}};
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);  // the shortest text that reads back as the same double
}

}  // namespace

std::string to_csv(const Comparison& c) {
  std::string out = "run,name,experiment,status";
  for (const auto& k : c.param_keys) out += "," + csv_field("param:" + k);
  for (const auto& k : c.metric_keys) out += "," + csv_field("metric:" + k);
  out += "\n";
  for (std::size_t i = 0; i < c.runs.size(); ++i) {
    const auto& r = c.runs[i];
    out += r.id + "," + csv_field(r.name) + "," + csv_field(r.experiment) + "," + r.status;
    for (const auto& k : c.param_keys) {
      auto it = c.params[i].find(k);
      out += "," + (it == c.params[i].end() ? std::string() : csv_field(it->second));
    }
    for (const auto& k : c.metric_keys) {
      auto it = c.metrics[i].find(k);
      out += "," + (it == c.metrics[i].end() ? std::string() : format_number(it->second));
    }
    out += "\n";
  }
  return out;
}

}  // namespace mlops::runs
