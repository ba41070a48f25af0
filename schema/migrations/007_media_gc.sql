-- 007_media_gc: deleting a run or project unlinks the image files no row
-- names any more (server/store/store_media.c, wbs__media_gc); that check is
-- one lookup per hash, so it needs an index on the hash.
CREATE INDEX media_sha256 ON media (sha256) WHERE sha256 IS NOT NULL;
