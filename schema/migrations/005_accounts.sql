-- 005_accounts: users with passwords, teams, browser sessions, one-time
-- setup links, per-project members, and reports with their history.
-- Secrets are never stored in the clear: passwords as scrypt hashes
-- ("scrypt$N$r$p$salt$hash", base64), session and setup tokens as SHA-256.
-- Does not depend on 003/004.

ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
-- The first user of an existing database is the one the first start made.
UPDATE users SET is_admin = 1 WHERE id = (SELECT min(id) FROM users);

ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- A team is an entity like a user; the two share one namespace (checked
-- by the server when either is created).
CREATE TABLE teams (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL
);

CREATE TABLE team_members (
  team_id INTEGER NOT NULL REFERENCES teams(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  role    TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  PRIMARY KEY (team_id, user_id)
);

-- csrf is the per-session token the browser sends back in X-CSRF-Token.
CREATE TABLE sessions (
  id         INTEGER PRIMARY KEY,
  hash       BLOB NOT NULL UNIQUE,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  csrf       TEXT NOT NULL,
  created_at REAL NOT NULL,
  expires_at REAL NOT NULL
);

CREATE TABLE setup_tokens (
  hash       BLOB PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  created_at REAL NOT NULL,
  expires_at REAL NOT NULL
);

CREATE TABLE project_members (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  user_id    INTEGER NOT NULL REFERENCES users(id),
  role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  PRIMARY KEY (project_id, user_id)
);

-- A report's current text is its highest version; every version is kept.
CREATE TABLE reports (
  id         INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  created_by INTEGER REFERENCES users(id),
  created_at REAL NOT NULL
);

CREATE TABLE report_versions (
  report_id  INTEGER NOT NULL REFERENCES reports(id),
  version    INTEGER NOT NULL,
  title      TEXT NOT NULL,
  body       TEXT NOT NULL,
  author_id  INTEGER REFERENCES users(id),
  created_at REAL NOT NULL,
  PRIMARY KEY (report_id, version)
);
CREATE INDEX reports_project ON reports (project_id, id);
