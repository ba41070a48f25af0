-- 002_code: the patches of a run's code capture (schema/wire.md, CODE and
-- PATCH records). The capture's JSON lives in runs.metadata under "code";
-- the patch bytes live here, as the chunks the SDK sent, in log order
-- (id order): a patch is the concatenation of its rows. A new CODE record
-- replaces the run's patches.
CREATE TABLE code_patches (
  id     INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name   TEXT NOT NULL,
  data   BLOB NOT NULL
);
CREATE INDEX code_patches_run_name ON code_patches (run_id, name, id);
