-- 001_init: users, API keys, projects, runs, metric series stored as
-- compressed chunks. Forward-only: never edit a migration that has shipped;
-- add NNN_next.sql instead. Times are unix seconds (REAL).

CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL
);

-- Only the SHA-256 of a key is kept; prefix ("wb_AbCd") is for display.
CREATE TABLE api_keys (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  hash       BLOB NOT NULL UNIQUE,
  prefix     TEXT NOT NULL,
  created_at REAL NOT NULL,
  revoked_at REAL
);

-- entity is a user or (later) a team name; visibility prepares public projects.
CREATE TABLE projects (
  id         INTEGER PRIMARY KEY,
  entity     TEXT NOT NULL,
  name       TEXT NOT NULL,
  visibility TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  UNIQUE (entity, name)
);

-- JSON columns hold JSON text written by the server (exact numbers,
-- non-finite values as "NaN"/"Infinity"/"-Infinity" strings).
-- summary is materialised from metric_keys, metric_defs and summary_explicit.
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  project_id       INTEGER NOT NULL REFERENCES projects(id),
  run_id           TEXT NOT NULL,
  name             TEXT,
  grp              TEXT,
  job_type         TEXT,
  notes            TEXT NOT NULL DEFAULT '',
  tags             TEXT NOT NULL DEFAULT '[]',
  state            TEXT NOT NULL DEFAULT 'running'
                   CHECK (state IN ('running', 'finished', 'failed', 'crashed')),
  exit_code        INTEGER,
  config           TEXT NOT NULL DEFAULT '{}',
  summary          TEXT NOT NULL DEFAULT '{}',
  summary_explicit TEXT NOT NULL DEFAULT '{}',
  metadata         TEXT NOT NULL DEFAULT '{}',
  metric_defs      TEXT NOT NULL DEFAULT '[]',
  created_at       REAL NOT NULL,
  updated_at       REAL NOT NULL,
  heartbeat_at     REAL,
  finished_at      REAL,
  last_seq         INTEGER NOT NULL DEFAULT 0,
  last_step        INTEGER,
  user_id          INTEGER REFERENCES users(id),
  UNIQUE (project_id, run_id)
);
CREATE INDEX runs_project_created ON runs (project_id, created_at);
CREATE INDEX runs_state_heartbeat ON runs (state, heartbeat_at);

-- One row per (run, key): running aggregates so the metrics list and the
-- summary never decode chunks. min/max/sum/nvalid skip NaN; last is kept as
-- its IEEE-754 bits because SQLite turns a NaN REAL into NULL.
CREATE TABLE metric_keys (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id),
  key        TEXT NOT NULL,
  count      INTEGER NOT NULL DEFAULT 0,
  first_step INTEGER,
  last_step  INTEGER,
  vmin       REAL,
  vmax       REAL,
  vsum       REAL,
  nvalid     INTEGER NOT NULL DEFAULT 0,
  last_bits  INTEGER,
  UNIQUE (run_id, key)
);

-- A series is chunks of up to 2048 points (server/store/tsz.h). The meta
-- columns come before the blob so that a meta scan reads them from the
-- leaf page without touching the blob's overflow pages.
CREATE TABLE chunks (
  key_id     INTEGER NOT NULL REFERENCES metric_keys(id),
  chunk_no   INTEGER NOT NULL,
  step_min   INTEGER NOT NULL,
  step_max   INTEGER NOT NULL,
  n          INTEGER NOT NULL,
  vmin       REAL,
  vmax       REAL,
  vlast_bits INTEGER NOT NULL,
  data       BLOB NOT NULL,
  PRIMARY KEY (key_id, chunk_no)
);
