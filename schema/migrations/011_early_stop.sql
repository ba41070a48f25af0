-- 011_early_stop: early stopping of sweep trials (docs/design.md, "Early
-- stopping"). The controller judges a trial as its run's records are
-- ingested, from every trial's curve of the sweep's metric; it needs those
-- curves without decoding chunks, so a trial run's points of the metric are
-- also kept here, one row per (trial, iteration), written in the same ingest
-- transaction. Only trials of a sweep with early_terminate have rows.
--
-- A decision is a stop: stopped_at is set once and never cleared, with the
-- rung (its index in the trial's bracket; NULL for the median rule) and the
-- rung's iteration (for median, the iteration judged).
ALTER TABLE sweep_trials ADD COLUMN stop_rung INTEGER;
ALTER TABLE sweep_trials ADD COLUMN stop_iter INTEGER;
ALTER TABLE sweep_trials ADD COLUMN stopped_at REAL;

-- the ingest path finds a run's trial by its run_id: one indexed probe
CREATE INDEX sweep_trials_run ON sweep_trials (run_id);

CREATE TABLE sweep_curves (
  trial_id INTEGER NOT NULL REFERENCES sweep_trials(id),
  iter     INTEGER NOT NULL,
  value    REAL,                -- NULL: NaN (the worst)
  PRIMARY KEY (trial_id, iter)
) WITHOUT ROWID;
