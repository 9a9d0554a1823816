// The workspace database schema, as an append-only list of migrations keyed by
// PRAGMA user_version. Never edit a shipped step: add a new one at the end.
#include "store/db.hpp"

namespace mlops::store {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Hash-chained, append-only audit log. hash = sha256 over the canonical entry and
-- prev_hash; meta.audit_head holds "seq:hash" of the newest entry so that removing
-- entries from the end is detected too.
CREATE TABLE audit (
  seq       INTEGER PRIMARY KEY,
  ts_ns     INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  target    TEXT NOT NULL,
  details   TEXT NOT NULL,
  trace_id  TEXT,
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE spans (
  span_id        TEXT PRIMARY KEY,
  trace_id       TEXT NOT NULL,
  parent_span_id TEXT,
  name           TEXT NOT NULL,
  kind           TEXT NOT NULL DEFAULT 'internal',
  start_ns       INTEGER NOT NULL,
  end_ns         INTEGER,
  status         TEXT NOT NULL DEFAULT 'unset',
  status_message TEXT,
  attributes     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX spans_by_trace ON spans(trace_id);
CREATE INDEX spans_by_start ON spans(start_ns);

-- Index of the content-addressed object store (.mlops/objects).
CREATE TABLE objects (
  sha256     TEXT PRIMARY KEY,
  size       INTEGER NOT NULL,
  created_ns INTEGER NOT NULL
);

-- Index of the files at the tip of the workspace repository's main branch,
-- kept in step by every commit made through the store and rebuildable from git.
CREATE TABLE git_files (
  path       TEXT PRIMARY KEY,
  blob       TEXT NOT NULL,
  commit_id  TEXT NOT NULL
);
)sql"},
      {2, R"sql(
-- Prompt store index. Git (.mlops/repo) is the source of truth: every row here
-- is rebuilt from commit trailers by 'doctor --fix'.
CREATE TABLE prompt_versions (
  name           TEXT NOT NULL,
  version        INTEGER NOT NULL,
  commit_id      TEXT NOT NULL,
  path           TEXT NOT NULL,
  content_sha256 TEXT NOT NULL,
  author         TEXT NOT NULL,
  email          TEXT NOT NULL,
  message        TEXT NOT NULL,
  ts_ns          INTEGER NOT NULL,
  status         TEXT NOT NULL DEFAULT 'draft',
  PRIMARY KEY (name, version)
) WITHOUT ROWID;

CREATE TABLE prompt_labels (
  name    TEXT NOT NULL,
  label   TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (name, label)
) WITHOUT ROWID;

-- Label moves (kind 'label': subject = label) and review transitions (kind
-- 'status': subject = version), oldest first.
CREATE TABLE prompt_events (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  subject    TEXT NOT NULL,
  from_value TEXT,
  to_value   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  ts_ns      INTEGER NOT NULL,
  commit_id  TEXT NOT NULL,
  reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX prompt_events_by_name ON prompt_events(name, kind, id);
)sql"},
      {3, R"sql(
-- Cost ledger: one row per LLM call. cost_usd is NULL when the model's price is
-- unknown (never 0). Append-only: the rollups below are kept by trigger and a
-- changed or deleted row would make them disagree.
CREATE TABLE llm_calls (
  id                 INTEGER PRIMARY KEY,
  ts_ms              INTEGER NOT NULL,
  provider           TEXT NOT NULL,
  model              TEXT NOT NULL,
  prompt             TEXT,
  prompt_version     INTEGER,
  eval_id            TEXT,
  experiment_id      TEXT,
  input_tokens       INTEGER NOT NULL DEFAULT 0,
  output_tokens      INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd           REAL,
  latency_ms         REAL NOT NULL DEFAULT 0,
  status             TEXT NOT NULL,
  cache_hit          INTEGER NOT NULL DEFAULT 0,
  trace_id           TEXT NOT NULL DEFAULT '',
  span_id            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX llm_calls_by_ts ON llm_calls(ts_ms);
CREATE TRIGGER llm_calls_no_update BEFORE UPDATE ON llm_calls
BEGIN SELECT RAISE(ABORT, 'the cost ledger is append-only'); END;
CREATE TRIGGER llm_calls_no_delete BEFORE DELETE ON llm_calls
BEGIN SELECT RAISE(ABORT, 'the cost ledger is append-only'); END;

-- Sums of llm_calls per dimension and time bucket, at two grains: hours
-- (grain 3600000) and UTC days (grain 86400000); bucket = ts_ms / grain.
-- dim 'model' has k1 provider, k2 model; 'prompt' k1 the prompt name or '';
-- 'eval' k1 the eval id or ''. Costs are summed in integer nano-dollars so
-- every split of a range adds up exactly.
CREATE TABLE llm_rollup (
  dim                 TEXT NOT NULL,
  grain               INTEGER NOT NULL,
  bucket              INTEGER NOT NULL,
  k1                  TEXT NOT NULL,
  k2                  TEXT NOT NULL,
  calls               INTEGER NOT NULL,
  errors              INTEGER NOT NULL,
  cache_hits          INTEGER NOT NULL,
  tokens_in           INTEGER NOT NULL,
  tokens_out          INTEGER NOT NULL,
  tokens_cache_read   INTEGER NOT NULL,
  tokens_cache_write  INTEGER NOT NULL,
  unknown_price_calls INTEGER NOT NULL,
  cost_nusd           INTEGER NOT NULL,
  PRIMARY KEY (dim, grain, bucket, k1, k2)
) WITHOUT ROWID;
CREATE TRIGGER llm_calls_rollup AFTER INSERT ON llm_calls
BEGIN
  INSERT INTO llm_rollup (dim, grain, bucket, k1, k2, calls, errors, cache_hits, tokens_in, tokens_out,
                          tokens_cache_read, tokens_cache_write, unknown_price_calls, cost_nusd)
  SELECT d.dim, g.grain, NEW.ts_ms / g.grain, d.k1, d.k2, 1, NEW.status <> 'ok', NEW.cache_hit != 0,
         NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens, NEW.cache_write_tokens, NEW.cost_usd IS NULL,
         coalesce(CAST(round(NEW.cost_usd * 1e9) AS INTEGER), 0)
  FROM (SELECT 'model' AS dim, NEW.provider AS k1, NEW.model AS k2
        UNION ALL SELECT 'prompt', coalesce(NEW.prompt, ''), ''
        UNION ALL SELECT 'eval', coalesce(NEW.eval_id, ''), '') AS d,
       (SELECT 3600000 AS grain UNION ALL SELECT 86400000) AS g
  WHERE 1
  ON CONFLICT (dim, grain, bucket, k1, k2) DO UPDATE SET
    calls = calls + excluded.calls, errors = errors + excluded.errors, cache_hits = cache_hits + excluded.cache_hits,
    tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out,
    tokens_cache_read = tokens_cache_read + excluded.tokens_cache_read,
    tokens_cache_write = tokens_cache_write + excluded.tokens_cache_write,
    unknown_price_calls = unknown_price_calls + excluded.unknown_price_calls,
    cost_nusd = cost_nusd + excluded.cost_nusd;
END;

-- Spending limits per calendar period (UTC). scope_kind: workspace, model,
-- prompt or provider; soft is the fraction of limit_usd that raises an alert.
CREATE TABLE budgets (
  name        TEXT PRIMARY KEY,
  limit_usd   REAL NOT NULL,
  period      TEXT NOT NULL,
  scope_kind  TEXT NOT NULL,
  scope_value TEXT NOT NULL DEFAULT '',
  soft        REAL,
  notify_url  TEXT,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);
-- One row per soft alert raised, so each budget alerts once per period even
-- when several processes cross the threshold together.
CREATE TABLE budget_alerts (
  budget          TEXT NOT NULL,
  period_start_ms INTEGER NOT NULL,
  raised_ms       INTEGER NOT NULL,
  spent_usd       REAL NOT NULL,
  PRIMARY KEY (budget, period_start_ms)
) WITHOUT ROWID;
)sql"},
      {4, R"sql(
-- LLM response cache (llm/cache.hpp): key = sha256 of the canonical request
-- document; only successful answers are stored.
CREATE TABLE llm_cache (
  key         TEXT PRIMARY KEY,
  provider    TEXT NOT NULL,
  model       TEXT NOT NULL,
  response    TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  hits        INTEGER NOT NULL DEFAULT 0,
  last_hit_ms INTEGER
) WITHOUT ROWID;
)sql"},
      {5, R"sql(
-- Eval runs (eval/results.hpp): one row per `eval run`, results streamed in as
-- each chunk of calls finishes, so a killed run keeps what it finished.
CREATE TABLE eval_runs (
  id            TEXT PRIMARY KEY,
  name          TEXT,
  description   TEXT NOT NULL DEFAULT '',
  config_path   TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  started_ms    INTEGER NOT NULL,
  finished_ms   INTEGER,
  status        TEXT NOT NULL,
  total         INTEGER NOT NULL DEFAULT 0,
  passed        INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  errors        INTEGER NOT NULL DEFAULT 0,
  summary       TEXT NOT NULL DEFAULT '{}',
  actor         TEXT NOT NULL DEFAULT '',
  trace_id      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX eval_runs_by_name ON eval_runs(name, started_ms);
CREATE INDEX eval_runs_by_start ON eval_runs(started_ms);

CREATE TABLE eval_results (
  run_id      TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
  idx         INTEGER NOT NULL,
  test_idx    INTEGER NOT NULL,
  repeat_idx  INTEGER NOT NULL,
  prompt      TEXT NOT NULL,
  provider    TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  vars        TEXT NOT NULL,
  output      TEXT,
  error       TEXT,
  pass        INTEGER NOT NULL,
  score       REAL NOT NULL,
  assertions  TEXT NOT NULL,
  latency_ms  REAL NOT NULL DEFAULT 0,
  cost_usd    REAL,
  tokens_in   INTEGER NOT NULL DEFAULT 0,
  tokens_out  INTEGER NOT NULL DEFAULT 0,
  cache_hit   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
)sql"},
      {6, R"sql(
-- Runs (runs/runs.hpp), MLflow's tracking model: experiments hold runs; params
-- are write-once, metrics append (history in run_metrics, the newest by step
-- then time kept in run_latest_metrics for compare), tags overwrite.
CREATE TABLE experiments (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
);
-- owner_pid/owner_host/owner_start name the process that owns a running run, so a
-- run whose owner died (kill -9, a reboot) reads as failed instead of running.
CREATE TABLE runs (
  id               TEXT PRIMARY KEY,
  experiment_id    INTEGER NOT NULL REFERENCES experiments(id),
  name             TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL,
  start_ms         INTEGER NOT NULL,
  end_ms           INTEGER,
  user             TEXT NOT NULL DEFAULT '',
  host             TEXT NOT NULL DEFAULT '',
  owner_pid        INTEGER NOT NULL DEFAULT 0,
  owner_start      TEXT NOT NULL DEFAULT '',
  git_commit       TEXT,
  config_sha256    TEXT,
  data_sha256      TEXT,
  seed             INTEGER,
  mlopsctl_version TEXT NOT NULL DEFAULT '',
  source           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_experiment ON runs(experiment_id, start_ms);
CREATE TABLE run_params (
  run_id TEXT NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE run_tags (
  run_id TEXT NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE run_metrics (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  step   INTEGER NOT NULL,
  ts_ms  INTEGER NOT NULL,
  value  REAL NOT NULL
);
CREATE INDEX run_metrics_by_key ON run_metrics(run_id, key, step);
CREATE TABLE run_latest_metrics (
  run_id TEXT NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  step   INTEGER NOT NULL,
  ts_ms  INTEGER NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE run_artifacts (
  run_id   TEXT NOT NULL REFERENCES runs(id),
  name     TEXT NOT NULL,
  sha256   TEXT NOT NULL,
  size     INTEGER NOT NULL,
  added_ms INTEGER NOT NULL,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

-- Model registry (registry/registry.hpp): integer versions per name, aliases as
-- in MLflow >= 2.9 (one version may hold several), every alias move recorded.
CREATE TABLE models (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_ms  INTEGER NOT NULL
);
CREATE TABLE model_versions (
  name            TEXT NOT NULL REFERENCES models(name),
  version         INTEGER NOT NULL,
  kind            TEXT NOT NULL,
  run_id          TEXT,
  artifact_sha256 TEXT,
  artifact_name   TEXT,
  spec            TEXT NOT NULL DEFAULT '{}',
  status          TEXT NOT NULL DEFAULT 'ready',
  description     TEXT NOT NULL DEFAULT '',
  actor           TEXT NOT NULL,
  created_ms      INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE model_aliases (
  name    TEXT NOT NULL,
  alias   TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (name, alias)
) WITHOUT ROWID;
-- kind: promote, rollback, archive (the alias was taken from an archived version).
CREATE TABLE model_alias_events (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  alias        TEXT NOT NULL,
  kind         TEXT NOT NULL,
  from_version INTEGER,
  to_version   INTEGER,
  actor        TEXT NOT NULL,
  ts_ms        INTEGER NOT NULL,
  reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_alias_events_by_name ON model_alias_events(name, alias, id);
CREATE TABLE model_approvals (
  name    TEXT NOT NULL,
  version INTEGER NOT NULL,
  alias   TEXT NOT NULL,
  actor   TEXT NOT NULL,
  ts_ms   INTEGER NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (name, version, alias, actor)
) WITHOUT ROWID;
)sql"},
      {7, R"sql(
-- Prompt A/B experiment runs (experiment/runs.hpp): one row per `experiment run`
-- of a kind: ab config; owner {pid, host} tells a killed run from a running one.
-- summary holds the arms, the metrics and the SRM check; decision the verdict.
CREATE TABLE ab_runs (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  config_path   TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  paired        INTEGER NOT NULL DEFAULT 0,
  started_ms    INTEGER NOT NULL,
  finished_ms   INTEGER,
  status        TEXT NOT NULL,
  owner         TEXT NOT NULL DEFAULT '{}',
  outcome       TEXT,
  winner        TEXT,
  summary       TEXT NOT NULL DEFAULT '{}',
  decision      TEXT NOT NULL DEFAULT '{}',
  actor         TEXT NOT NULL DEFAULT '',
  trace_id      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ab_runs_by_name ON ab_runs(name, started_ms);

-- Each arm of a run and the eval run that holds its results (eval_results).
CREATE TABLE ab_arms (
  run_id    TEXT NOT NULL REFERENCES ab_runs(id) ON DELETE CASCADE,
  position  INTEGER NOT NULL,
  arm       TEXT NOT NULL,
  eval_run  TEXT NOT NULL,
  PRIMARY KEY (run_id, position)
) WITHOUT ROWID;
CREATE INDEX ab_arms_by_eval ON ab_arms(eval_run);
)sql"},
      {8, R"sql(
-- llm_rollup is now kept by cost::Ledger: each write batch of llm_calls rows is
-- summed in memory and upserted once per (dim, grain, bucket, k1, k2), in the
-- same transaction as the rows, instead of six upserts per row by this trigger.
-- The rollups already hold every existing row (the trigger wrote them).
DROP TRIGGER llm_calls_rollup;
)sql"},
      {9, R"sql(
-- llm_cache becomes a rowid table: entries are appended in the order they are
-- stored, so the answers fill the last pages instead of each landing on a random
-- page of a table ordered by key (a write batch dirtied about one page per new
-- entry). The lookup goes through llm_cache_by_key, whose entries are small: the
-- key is the 32 bytes of the SHA-256 (hex in the documentation: the same value),
-- so about a hundred fit a page and the index stays in the page cache.
-- A key that is not a lowercase hex SHA-256 (mlopsctl never makes one) stays text.
CREATE TABLE llm_cache_v9 (
  id          INTEGER PRIMARY KEY,
  key         BLOB NOT NULL,
  provider    TEXT NOT NULL,
  model       TEXT NOT NULL,
  response    TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  hits        INTEGER NOT NULL DEFAULT 0,
  last_hit_ms INTEGER
);
INSERT INTO llm_cache_v9 (key, provider, model, response, created_ms, hits, last_hit_ms)
  SELECT mlops_unhex(key), provider, model, response, created_ms, hits, last_hit_ms FROM llm_cache
  ORDER BY created_ms, key;
DROP TABLE llm_cache;
ALTER TABLE llm_cache_v9 RENAME TO llm_cache;
CREATE UNIQUE INDEX llm_cache_by_key ON llm_cache(key);
)sql"},
  };
  return list;
}

int latest_schema_version() {
  return migrations().back().version;
}

}  // namespace mlops::store
