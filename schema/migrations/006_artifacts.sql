-- 006_artifacts: versioned artifacts (model files, datasets, any file) and
-- their lineage. File contents live in the content-addressed blob store
-- under the data directory (<data>/blobs/ab/cdef..., by SHA-256); these
-- tables hold what refers to them. A blob is deleted when the last file
-- row naming it goes (schema/api.md, "Artifacts").

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name       TEXT NOT NULL,
  type       TEXT NOT NULL,
  next_version INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  UNIQUE (project_id, name)
);

-- version is 0, 1, 2... per artifact (artifacts.next_version), never reused. digest is the SHA-256
-- of the canonical manifest (files sorted by path): the same content logged
-- again returns the existing version. producer_run is runs.id of the run
-- that logged it (no foreign key: deleting the run keeps the version).
CREATE TABLE artifact_versions (
  id           INTEGER PRIMARY KEY,
  artifact_id  INTEGER NOT NULL REFERENCES artifacts(id),
  version      INTEGER NOT NULL,
  digest       TEXT NOT NULL,
  size         INTEGER NOT NULL,
  file_count   INTEGER NOT NULL,
  metadata     TEXT NOT NULL DEFAULT '{}',
  producer_run INTEGER,
  created_at   REAL NOT NULL,
  UNIQUE (artifact_id, version),
  UNIQUE (artifact_id, digest)
);

-- One row per file of a version. ref is NULL for an uploaded file (its
-- bytes are the blob sha256) and the URI of a reference otherwise (recorded,
-- never uploaded).
CREATE TABLE artifact_files (
  version_id INTEGER NOT NULL REFERENCES artifact_versions(id),
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  size       INTEGER NOT NULL,
  ref        TEXT,
  PRIMARY KEY (version_id, path)
);
CREATE INDEX artifact_files_sha256 ON artifact_files (sha256);

-- "latest" is kept on the newest version by the server; other aliases are
-- set by clients and move between versions.
CREATE TABLE artifact_aliases (
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  alias       TEXT NOT NULL,
  version_id  INTEGER NOT NULL REFERENCES artifact_versions(id),
  PRIMARY KEY (artifact_id, alias)
);

-- Lineage: the runs that used (consumed) a version.
CREATE TABLE artifact_usage (
  version_id INTEGER NOT NULL REFERENCES artifact_versions(id),
  run_id     INTEGER NOT NULL REFERENCES runs(id),
  used_at    REAL NOT NULL,
  PRIMARY KEY (version_id, run_id)
);
CREATE INDEX artifact_usage_run ON artifact_usage (run_id);
CREATE INDEX artifact_versions_producer ON artifact_versions (producer_run);
