-- 009_blob_owners: who has proved they hold a blob's bytes. Deduplication
-- must not turn knowing a SHA-256 into reading the bytes it names: a user
-- may name a blob they did not send only when they may read a version
-- holding it, or when a row here says they uploaded those bytes themselves
-- (the server verified the whole hash). The row is written when that
-- user's upload completes, also when the blob was already in the store
-- (its bytes are then verified and not kept twice). A proof belongs to the
-- user, not to a project or a key: whoever sent the bytes knows them, in
-- every project they may write (docs/design.md, "Artifacts").
-- No foreign key: the row is a fact about bytes someone sent, and outlives
-- the blob (GC) and anything else the user does.
CREATE TABLE blob_owners (
  sha256     TEXT NOT NULL,
  user_id    INTEGER NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (sha256, user_id)
) WITHOUT ROWID;
