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
  };
  return list;
}

int latest_schema_version() {
  return migrations().back().version;
}

}  // namespace mlops::store
