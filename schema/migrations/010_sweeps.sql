-- 010_sweeps: hyperparameter sweeps run by the server, trials run by agents.
-- A sweep holds its spec as normalised JSON (server/sweep/ parses it); a
-- trial is one set of parameters leased to one agent. Its run is an ordinary
-- run of the same project whose run_id the server chose when it issued the
-- trial; the trial's metric is that run's summary value, read when asked,
-- so the trainer reports it with the records it sends anyway.
-- State lives here and nowhere else: agents are stateless, and a restarted
-- server goes on from these rows (docs/design.md, "Sweeps").
CREATE TABLE sweeps (
  id          INTEGER PRIMARY KEY,
  project_id  INTEGER NOT NULL REFERENCES projects(id),
  sweep_id    TEXT NOT NULL,
  name        TEXT,
  spec        TEXT NOT NULL,
  method      TEXT NOT NULL,
  metric      TEXT,
  goal        TEXT CHECK (goal IN ('minimize', 'maximize')),
  cap         INTEGER NOT NULL DEFAULT 0,          -- new trials at most; 0: no limit
  lease_s     REAL NOT NULL DEFAULT 60,            -- a trial's lease without a heartbeat
  reissue     INTEGER NOT NULL DEFAULT 1,          -- re-issues of a crashed trial's parameters
  state       TEXT NOT NULL DEFAULT 'running'
              CHECK (state IN ('running', 'paused', 'finished', 'stopped', 'canceled')),
  created_by  INTEGER REFERENCES users(id),
  created_at  REAL NOT NULL,
  updated_at  REAL NOT NULL,
  UNIQUE (project_id, sweep_id)
);

-- num counts every trial of the sweep from 0 (re-issues too); reissue_of is
-- the num of the original trial whose parameters a re-issue repeats.
-- pending: a re-issue waiting for an agent; leased: an agent runs it (its
-- run may exist); then finished, failed, crashed (lease lost) or stopped.
CREATE TABLE sweep_trials (
  id          INTEGER PRIMARY KEY,
  sweep_id    INTEGER NOT NULL REFERENCES sweeps(id),
  num         INTEGER NOT NULL,
  run_id      TEXT NOT NULL,
  params      TEXT NOT NULL,
  state       TEXT NOT NULL
              CHECK (state IN ('pending', 'leased', 'finished', 'failed', 'crashed', 'stopped')),
  agent       TEXT,
  lease_until REAL,
  reissue_of  INTEGER,
  exit_code   INTEGER,
  created_at  REAL NOT NULL,
  started_at  REAL,
  finished_at REAL,
  UNIQUE (sweep_id, num)
);
CREATE INDEX sweep_trials_lease ON sweep_trials (state, lease_until);
