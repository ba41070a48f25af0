-- 003_media: rich data of a run (schema/wire.md,
-- HISTOGRAM, IMAGE and TABLE records). One row per run, kind, key and step;
-- a record at the same step replaces the row.
--   histogram: data = the record's histogram body (nan, pinf, ninf, nbins,
--              edges, counts; schema/wire.md)
--   table:     data = the table's JSON text
--   image:     sha256 names the file <data dir>/media/<sha256[0:2]>/<sha256>
--              holding the bytes (content-addressed, shared by every row
--              with the same bytes); mime, width, height, bytes, caption
CREATE TABLE media (
  id       INTEGER PRIMARY KEY,
  run_id   INTEGER NOT NULL REFERENCES runs(id),
  kind     TEXT NOT NULL CHECK (kind IN ('histogram', 'image', 'table')),
  key      TEXT NOT NULL,
  step     INTEGER NOT NULL,
  time     REAL,
  data     BLOB,
  sha256   TEXT,
  mime     TEXT,
  width    INTEGER,
  height   INTEGER,
  bytes    INTEGER,
  caption  TEXT,
  UNIQUE (run_id, kind, key, step)
);
