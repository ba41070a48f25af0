-- 004_notify: Slack incoming webhooks (server/notify/notify.c).
--
-- Events become delivery rows in the same transaction as the change that
-- caused them, through triggers: a run's state turning finished, failed or
-- crashed (the finish route, a FINISH record or the crash sweep), an
-- ALERT record (notify_alerts), a threshold rule firing (notify_rule_fires).
-- So a committed event is never lost, whatever path changed the run, and the
-- notifier thread only has to deliver the pending rows (a persistent queue
-- that survives restarts).
--
-- events is a bit set: 1 finished, 2 failed, 4 crashed, 8 alert, 16 rule.
-- url is the secret: the API never returns it and the server never logs
-- it; a deleted webhook's url is blanked. Times are unix seconds (REAL).

-- A webhook belongs to a project (project_id) or to a user (project_id
-- NULL: every run that user creates, in any project).
CREATE TABLE notify_webhooks (
  id         INTEGER PRIMARY KEY,
  project_id INTEGER REFERENCES projects(id),
  user_id    INTEGER REFERENCES users(id),
  url        TEXT NOT NULL,
  hint       TEXT NOT NULL,
  events     INTEGER NOT NULL,
  created_at REAL NOT NULL,
  deleted_at REAL
);
CREATE INDEX notify_webhooks_project ON notify_webhooks (project_id);

-- Threshold rules (server/notify/rule.c): kind 'summary' compares
-- json_extract(runs.summary, path) with threshold on every summary update;
-- kind 'stall' fires when a running run has made no step for seconds.
CREATE TABLE notify_rules (
  id         INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  text       TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('summary', 'stall')),
  path       TEXT,
  op         TEXT,
  threshold  REAL,
  seconds    REAL,
  created_at REAL NOT NULL,
  deleted_at REAL
);
CREATE INDEX notify_rules_project ON notify_rules (project_id);

-- A rule fires once per run: the primary key makes a second firing a no-op.
CREATE TABLE notify_rule_fires (
  id       INTEGER PRIMARY KEY,
  rule_id  INTEGER NOT NULL,
  run_id   INTEGER NOT NULL REFERENCES runs(id),
  value    REAL,
  fired_at REAL NOT NULL,
  UNIQUE (rule_id, run_id)
);

-- wb_alert() from a trainer (ALERT record, schema/wire.md).
CREATE TABLE notify_alerts (
  id     INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  level  TEXT NOT NULL,
  title  TEXT NOT NULL,
  text   TEXT NOT NULL,
  at     REAL NOT NULL
);

-- When a run last moved to a new step (for 'stall' rules).
CREATE TABLE notify_run_steps (
  run_id  INTEGER PRIMARY KEY REFERENCES runs(id),
  step_at REAL NOT NULL
);

-- The queue and the delivery log in one: state pending -> delivered |
-- failed (gave up, or the receiver refused for good) | cancelled (the
-- webhook was deleted).
CREATE TABLE notify_deliveries (
  id          INTEGER PRIMARY KEY,
  webhook_id  INTEGER NOT NULL,
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  event       TEXT NOT NULL,
  ref_id      INTEGER,
  state       TEXT NOT NULL DEFAULT 'pending'
              CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  http_status INTEGER,
  error       TEXT,
  created_at  REAL NOT NULL,
  next_at     REAL NOT NULL,
  last_at     REAL,
  done_at     REAL
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_at);
CREATE INDEX notify_deliveries_run ON notify_deliveries (run_id);

CREATE TRIGGER notify_on_state AFTER UPDATE OF state ON runs
WHEN new.state IN ('finished', 'failed', 'crashed') AND new.state IS NOT old.state
BEGIN
  INSERT INTO notify_deliveries (webhook_id, run_id, event, created_at, next_at)
  SELECT w.id, new.id, new.state, (julianday('now') - 2440587.5) * 86400.0,
         (julianday('now') - 2440587.5) * 86400.0
  FROM notify_webhooks w
  WHERE w.deleted_at IS NULL
    AND (w.project_id = new.project_id OR (w.project_id IS NULL AND w.user_id = new.user_id))
    AND (w.events & (CASE new.state WHEN 'finished' THEN 1 WHEN 'failed' THEN 2 ELSE 4 END)) <> 0;
END;

CREATE TRIGGER notify_on_alert AFTER INSERT ON notify_alerts
BEGIN
  INSERT INTO notify_deliveries (webhook_id, run_id, event, ref_id, created_at, next_at)
  SELECT w.id, new.run_id, 'alert', new.id, (julianday('now') - 2440587.5) * 86400.0,
         (julianday('now') - 2440587.5) * 86400.0
  FROM notify_webhooks w JOIN runs x ON x.id = new.run_id
  WHERE w.deleted_at IS NULL
    AND (w.project_id = x.project_id OR (w.project_id IS NULL AND w.user_id = x.user_id))
    AND (w.events & 8) <> 0;
END;

CREATE TRIGGER notify_on_rule_fire AFTER INSERT ON notify_rule_fires
BEGIN
  INSERT INTO notify_deliveries (webhook_id, run_id, event, ref_id, created_at, next_at)
  SELECT w.id, new.run_id, 'rule', new.id, (julianday('now') - 2440587.5) * 86400.0,
         (julianday('now') - 2440587.5) * 86400.0
  FROM notify_webhooks w JOIN runs x ON x.id = new.run_id
  WHERE w.deleted_at IS NULL
    AND (w.project_id = x.project_id OR (w.project_id IS NULL AND w.user_id = x.user_id))
    AND (w.events & 16) <> 0;
END;

-- Summary rules are evaluated where the summary is written (on ingest).
-- Only numbers compare: a "NaN" string or a missing key never fires.
CREATE TRIGGER notify_summary_rules AFTER UPDATE OF summary ON runs
BEGIN
  INSERT OR IGNORE INTO notify_rule_fires (rule_id, run_id, value, fired_at)
  SELECT r.id, new.id, json_extract(new.summary, r.path), (julianday('now') - 2440587.5) * 86400.0
  FROM notify_rules r
  WHERE r.project_id = new.project_id AND r.kind = 'summary' AND r.deleted_at IS NULL
    AND json_type(new.summary, r.path) IN ('integer', 'real')
    AND CASE r.op
          WHEN '>'  THEN json_extract(new.summary, r.path) >  r.threshold
          WHEN '>=' THEN json_extract(new.summary, r.path) >= r.threshold
          WHEN '<'  THEN json_extract(new.summary, r.path) <  r.threshold
          WHEN '<=' THEN json_extract(new.summary, r.path) <= r.threshold
          WHEN '==' THEN json_extract(new.summary, r.path) =  r.threshold
          WHEN '!=' THEN json_extract(new.summary, r.path) <> r.threshold
          ELSE 0 END;
END;

CREATE TRIGGER notify_step_moved AFTER UPDATE OF last_step ON runs
WHEN new.last_step IS NOT old.last_step
BEGIN
  INSERT OR REPLACE INTO notify_run_steps (run_id, step_at)
  VALUES (new.id, (julianday('now') - 2440587.5) * 86400.0);
END;
