#include "workspace/health.hpp"

#include "audit/audit.hpp"
#include "prompt/store.hpp"
#include "store/versioned.hpp"
#include "trace/trace.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::workspace {

StatusReport status(Workspace& ws) {
  StatusReport r;
  const Paths& p = ws.paths();
  r.root = p.root;
  store::Db& db = ws.db();
  db.read([&] {
    r.name = db.query_text("SELECT value FROM meta WHERE key = 'workspace_name'").value_or(p.root.filename().string());
    r.schema_version = db.user_version();
    r.audit_entries = db.query_int("SELECT count(*) FROM audit");
    r.spans = db.query_int("SELECT count(*) FROM spans");
    r.traces = db.query_int("SELECT count(DISTINCT trace_id) FROM spans");
    // The index knows every object's size (doctor checks it against the files):
    // summing it is one scan of a table, where walking objects/ costs a stat per
    // stored version (100,000 in a big prompt workspace, a quarter of a second).
    auto o = db.prepare("SELECT count(*), coalesce(sum(size), 0) FROM objects");
    if (o.step()) {
      r.objects = o.get_int(0);
      r.objects_bytes = static_cast<std::uint64_t>(o.get_int(1));
    }
    r.tracked_files = db.query_int("SELECT count(*) FROM git_files");
    r.head_commit = db.query_text("SELECT commit_id FROM git_files ORDER BY rowid DESC LIMIT 1");
    auto a = db.prepare("SELECT ts_ns, action FROM audit ORDER BY seq DESC LIMIT 1");
    if (a.step()) {
      r.last_activity_ns = a.get_int(0);
      r.last_activity = a.get_text(1);
    }
    auto s = db.prepare("SELECT start_ns, name FROM spans ORDER BY start_ns DESC LIMIT 1");
    if (s.step() && (!r.last_activity_ns || s.get_int(0) > *r.last_activity_ns)) {
      r.last_activity_ns = s.get_int(0);
      r.last_activity = s.get_text(1);
    }
  });
  for (const char* suffix : {"", "-wal", "-shm"}) r.db_bytes += util::tree_size(p.db().string() + suffix);
  r.repo_bytes = util::tree_size(p.repo());
  return r;
}

const char* check_state_name(CheckState s) {
  switch (s) {
    case CheckState::ok:
      return "ok";
    case CheckState::warning:
      return "warning";
    case CheckState::error:
      return "error";
    case CheckState::fixed:
      return "fixed";
  }
  return "?";
}

bool DoctorReport::healthy() const {
  for (const auto& c : checks)
    if (c.state == CheckState::error) return false;
  return true;
}

namespace {

// Marks a check: problems become `fixed` when the repair ran, else `error`.
void settle(CheckResult& c, bool fix, bool repairable) {
  if (c.details.empty()) return;
  c.state = (fix && repairable) ? CheckState::fixed : CheckState::error;
}

CheckResult check_layout(const Paths& p, bool fix, const config::EnvLookup& env) {
  CheckResult c{"layout", CheckState::ok, {}};
  std::error_code ec;
  for (const fs::path& dir : {p.objects(), p.objects() / "tmp"}) {
    if (!fs::is_directory(dir, ec)) {
      c.details.push_back("missing directory " + dir.string());
      if (fix) fs::create_directories(dir, ec);
    }
  }
  if (!fs::exists(p.state_dir() / ".gitignore", ec)) {
    c.details.push_back("missing " + (p.state_dir() / ".gitignore").string());
    if (fix) util::atomic_write(p.state_dir() / ".gitignore", "*\n");
  }
  settle(c, fix, true);
  try {
    config::Config cfg(p.config_file(), config::user_config_path(env), env);
  } catch (const Error& e) {
    c.state = CheckState::error;
    c.details.push_back(e.what());
  }
  return c;
}

}  // namespace

DoctorReport doctor(const fs::path& root, bool fix, const config::EnvLookup& env) {
  DoctorReport report;
  Paths p{root};
  report.checks.push_back(check_layout(p, fix, env));


  // Database: opens, passes quick_check, runs in WAL mode, schema current.
  CheckResult dbc{"database", CheckState::ok, {}};
  std::unique_ptr<store::Db> db;
  std::error_code ec;
  try {
    if (!fs::exists(p.db(), ec)) {
      dbc.details.push_back("state.db is missing");
      if (fix) {
        db = std::make_unique<store::Db>(p.db(), store::Db::Mode::create);
        dbc.details.back() += " (recreated empty; the audit log starts a new chain)";
      }
      settle(dbc, fix, true);
    } else {
      db = std::make_unique<store::Db>(p.db());
      auto qc = db->integrity_check();
      if (qc.size() != 1 || qc[0] != "ok") {
        for (const auto& line : qc) dbc.details.push_back("integrity: " + line);
        dbc.state = CheckState::error;
      }
      if (db->journal_mode() != "wal") {
        dbc.details.push_back("journal mode is " + db->journal_mode() + ", not wal");
        if (fix) db->exec("PRAGMA journal_mode=WAL");
        if (dbc.state != CheckState::error) dbc.state = fix ? CheckState::fixed : CheckState::error;
      }
      if (dbc.details.empty())
        dbc.details.push_back("schema version " + std::to_string(db->user_version()) + " (current)");
    }
  } catch (const Error& e) {
    dbc.state = CheckState::error;
    dbc.details.push_back(e.what());
    db.reset();
  }
  report.checks.push_back(dbc);

  CheckResult objc{"objects", CheckState::ok, {}};
  if (db) {
    store::ObjectStore objects(p.objects(), *db);
    auto problems = fix ? objects.repair() : objects.verify();
    for (const auto& pr : problems) objc.details.push_back(pr.path.string() + ": " + pr.detail);
    settle(objc, fix, true);
    if (fix)
      for (const auto& pr : objects.verify()) {  // what repair could not fix
        objc.state = CheckState::error;
        objc.details.push_back(pr.path.string() + ": " + pr.detail + " (cannot be repaired)");
      }
    if (objc.details.empty()) objc.details.push_back(std::to_string(objects.count()) + " objects verified");
  } else {
    objc = {"objects", CheckState::error, {"skipped: database unavailable"}};
  }
  report.checks.push_back(objc);

  CheckResult gitc{"git", CheckState::ok, {}};
  std::unique_ptr<store::GitRepo> repo;
  try {
    if (!fs::exists(p.repo(), ec)) {
      gitc.details.push_back("repository " + p.repo().string() + " is missing");
      if (fix) {
        repo = std::make_unique<store::GitRepo>(store::GitRepo::init(p.repo()));
        gitc.details.back() += " (recreated empty)";
      }
      settle(gitc, fix, true);
    } else {
      repo = std::make_unique<store::GitRepo>(store::GitRepo::open(p.repo()));
      gitc.details = repo->verify();
      bool only_locks = !gitc.details.empty();
      for (const auto& d : gitc.details) only_locks = only_locks && d.rfind("stale lock file", 0) == 0;
      if (fix && only_locks) repo->remove_stale_locks();
      settle(gitc, fix, only_locks);
    }
  } catch (const Error& e) {
    gitc.state = CheckState::error;
    gitc.details.push_back(e.what());
    repo.reset();
  }
  if (gitc.details.empty() && repo)
    gitc.details.push_back("main at " + repo->resolve(store::k_default_branch).value_or("(no commits)"));
  report.checks.push_back(gitc);

  CheckResult idx{"index", CheckState::ok, {}};
  if (db && repo) {
    for (const auto& d : store::index_differences(*db, *repo)) idx.details.push_back(d.path + ": " + d.problem);
    if (fix && !idx.details.empty()) store::rebuild_index(*db, *repo);
    settle(idx, fix, true);
    if (idx.details.empty()) idx.details.push_back("index matches git");
  } else {
    idx = {"index", CheckState::error, {"skipped: database or repository unavailable"}};
  }
  report.checks.push_back(idx);

  CheckResult pr{"prompts", CheckState::ok, {}};
  if (db && repo) {
    try {
      prompt::PromptStore prompts(*db, *repo, p.state_dir());
      pr.details = prompts.index_problems();
      if (fix && !pr.details.empty()) prompts.rebuild_index();
      settle(pr, fix, true);
      if (pr.details.empty()) pr.details.push_back("prompt index matches git");
      // A workspace from before the fan-out layout: readable as it is, but every
      // commit rewrites the wide prompts/ tree until its files move.
      if (auto flat = prompts.flat_layout_files(); !flat.empty()) {
        std::string what = std::to_string(flat.size()) + " files in the flat layout (" + flat.front() +
                           (flat.size() > 1 ? ", ..." : "") + ")";
        if (fix) {
          config::Config cfg(p.config_file(), config::user_config_path(env), env);
          prompts.migrate_layout(identity(cfg, env));
          pr.details.push_back(what + ": moved into fan-out directories prompts/XX/ and deployments/XX/");
          if (pr.state == CheckState::ok) pr.state = CheckState::fixed;
        } else {
          pr.details.push_back(what + "; 'mlopsctl doctor --fix' moves them into fan-out directories");
          if (pr.state == CheckState::ok) pr.state = CheckState::warning;
        }
      }
    } catch (const Error& e) {
      pr = {"prompts", CheckState::error, {e.what()}};
    }
  } else {
    pr = {"prompts", CheckState::error, {"skipped: database or repository unavailable"}};
  }
  report.checks.push_back(pr);
  if (fix && db && repo && idx.state != CheckState::error && pr.state != CheckState::error) {
    // Both indexes now match the tip: record it, so writers stop rebuilding.
    if (auto tip = repo->resolve(store::k_default_branch)) store::set_indexed_head(*db, *tip);
  }

  // Packing: commits pack the repository as they go (git.auto_pack); this finds a
  // repository whose loose objects piled up anyway (packing failed, auto-packing
  // is off, or another tool wrote to it), and --fix packs it.
  CheckResult pk{"pack", CheckState::ok, {}};
  if (repo) {
    try {
      auto counts = repo->object_counts();
      std::string failed;
      if (auto f = util::read_file_if_exists(p.repo() / "mlopsctl-pack.failed")) failed = util::trim(*f);
      std::size_t limit = store::k_default_auto_pack;
      try {
        config::Config cfg(p.config_file(), config::user_config_path(env), env);
        if (auto n = auto_pack_threshold(cfg)) limit = n;
      } catch (const Error&) {
      }
      bool behind = counts.loose >= 2 * limit || !failed.empty();
      if (!failed.empty()) pk.details.push_back("the last automatic pack failed: " + failed);
      if (behind && fix) {
        auto r = repo->pack();
        pk.state = CheckState::fixed;
        pk.details.push_back("packed " + std::to_string(r.loose_packed) + " loose objects" +
                             (r.packs_merged ? " and " + std::to_string(r.packs_merged) + " packs" : "") + " into " +
                             r.pack);
        counts = repo->object_counts();
      } else if (behind) {
        pk.state = CheckState::warning;
        pk.details.push_back(std::to_string(counts.loose) + " loose objects; 'mlopsctl doctor --fix' packs them");
      }
      pk.details.push_back(std::to_string(counts.loose) + " loose objects, " + std::to_string(counts.packed) +
                           " objects in " + std::to_string(counts.packs) + (counts.packs == 1 ? " pack" : " packs"));
    } catch (const Error& e) {
      pk = {"pack", CheckState::error, {e.what()}};
    }
  } else {
    pk = {"pack", CheckState::error, {"skipped: repository unavailable"}};
  }
  report.checks.push_back(pk);

  CheckResult au{"audit", CheckState::ok, {}};
  if (db) {
    audit::AuditLog log(*db);
    auto v = log.verify();
    au.details = v.problems;
    if (!v.ok())
      au.state = CheckState::error;
    else
      au.details.push_back(std::to_string(v.entries) + " entries, chain intact");
  } else {
    au = {"audit", CheckState::error, {"skipped: database unavailable"}};
  }
  report.checks.push_back(au);

  // Config: mlops.yaml parses and holds only keys mlopsctl reads (a typo such as
  // providers.local.base-url would otherwise be ignored without a word).
  CheckResult cfgc{"config", CheckState::ok, {}};
  try {
    config::Config cfg(p.config_file(), std::nullopt, env);
    std::vector<std::string> names;
    for (const auto& k : config::known_keys()) names.push_back(k.key);
    for (const auto& v : cfg.list()) {
      if (v.source != config::Source::workspace || config::is_known_key(v.key)) continue;
      cfgc.state = CheckState::warning;
      std::string near = util::nearest(v.key, names);
      cfgc.details.push_back(v.origin + ": unknown key '" + v.key + "'" +
                             (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
  } catch (const Error& e) {
    cfgc = {"config", CheckState::error, {e.what()}};
  }
  if (cfgc.details.empty() && cfgc.state == CheckState::ok) cfgc.details.push_back("mlops.yaml: every key is known");
  report.checks.push_back(cfgc);

  if (fix && db) {
    // Trace retention: prune spans older than trace.retention.
    config::Config cfg(p.config_file(), config::user_config_path(env), env);
    try {
      auto cutoff = util::now_ns() - util::parse_duration_ns(cfg.get_or("trace.retention", "30d"));
      auto n = trace::prune(*db, cutoff);
      if (n > 0) report.checks.push_back({"traces", CheckState::fixed, {"pruned " + std::to_string(n) + " old spans"}});
    } catch (const Error& e) {
      report.checks.push_back({"traces", CheckState::warning, {std::string("trace.retention: ") + e.what()}});
    }
  }
  return report;
}

}  // namespace mlops::workspace
