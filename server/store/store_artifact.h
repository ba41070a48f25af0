/*
 * store_artifact.h — artifacts: the content-addressed blob store under the
 * data directory and the SQLite rows of artifacts, versions, files,
 * aliases and lineage (schema/migrations/006_artifacts.sql).
 *
 * Blobs. A blob is a file's bytes named by their SHA-256 (64 lowercase hex
 * digits) at <data>/blobs/ab/cdef... An upload goes to the uploading
 * user's own <data>/blobs/tmp/<sha>.u<user>.part, chunk by chunk at
 * increasing offsets (each chunk's own checksum checked before it is kept),
 * while a running SHA-256 of the whole is kept; when the last byte arrives
 * the whole hash is compared, the file fsync'd and renamed into place (or
 * dropped, when the store had the blob already), and the directory
 * fsync'd. So a blob under blobs/ab/ is always whole and verified; a
 * half-uploaded one is only ever a .part, which the same user's next
 * upload of the same hash resumes at its size (after a server restart the
 * running hash is rebuilt by reading the part back).
 *
 * Possession. A complete upload records its user in blob_owners. A caller
 * may name an existing blob (see it present, commit it) only if it
 * uploaded it or may read a version holding it (wbs__blob_usable): the
 * hash alone grants nothing.
 *
 * Versions. Committing a version is one writer job: it checks that every
 * uploaded file's blob is present (else WBS__ART_MISSING and nothing is
 * written), then inserts the version, its files and aliases in the group
 * transaction. A version is visible only once all of its files are in. A
 * manifest equal to an existing version's (the same digest) returns that
 * version. Deleting a version removes its rows in one job and then, in a
 * second job, unlinks each of its blobs that no file row names any more
 * (GC); a commit that raced the GC finds the blob missing and the client
 * uploads it again.
 *
 * The read functions return rows (structs); the HTTP side
 * (handlers_artifact.c) writes the API's JSON (schema/api.md), as for
 * every other store read.
 *
 * Threads: any thread, like store.h.
 */
#ifndef WB_SERVER_STORE_ARTIFACT_H
#define WB_SERVER_STORE_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"
#include "wire.h"

#define WBS__ART_PATH_MAX WB__ART_PATH_MAX /* bytes of a file path inside a version */
#define WBS__ART_FILES_MAX 100000u  /* files of one version */
#define WBS__ART_ALIASES_MAX 32u
#define WBS__ART_TYPE_MAX 64u
#define WBS__ART_URI_MAX 2048u
#define WBS__ART_CHUNK_MAX (64u * 1024u * 1024u) /* bytes of one uploaded chunk (after inflating) */
#define WBS__ART_MANIFEST_MAX (64u * 1024u * 1024u)

typedef struct wbs__art_file {
	char *path;       /* validated by wbs__art_path_valid */
	char sha256[65];  /* lowercase hex */
	uint64_t size;
	char *ref;        /* NULL: an uploaded blob; else the URI of a reference */
} wbs__art_file;

typedef struct wbs__art_manifest {
	const char *entity, *project, *name; /* valid names */
	int64_t user_id;                     /* who commits: every uploaded blob must be usable by them */
	char *type;                          /* valid name */
	char *run_id;                        /* producing run, or NULL */
	char *metadata;                      /* JSON object text */
	wbs__art_file *files;                /* sorted by path, paths unique */
	size_t nfiles;
	char **aliases; /* valid names, not "latest" */
	size_t naliases;
	char digest[65]; /* wbs__art_digest */
	double created_at; /* the version's time (unix s; 0 or later than now: now) */
} wbs__art_manifest;

/* Free what a manifest owns (not entity/project/name). Accepts NULL. */
void wbs__art_manifest_free(wbs__art_manifest *m);

/*
 * A path inside a version: wb__art_path_valid (sdk/src/wire.h: relative,
 * no empty, ".", ".." or ".git" segment, no control character or '\\')
 * and valid UTF-8.
 */
int wbs__art_path_valid(const char *p, size_t len);

/*
 * Sort the files by path, refuse duplicates (-1 with why), and compute the
 * digest: SHA-256 over "path\0sha256\0size\0ref\n" per file in path order.
 */
int wbs__art_digest(wbs__art_manifest *m, char *why, size_t whylen);

/* ---- blobs ---- */

/*
 * Where blob sha stands: 1 if it is in the store (*size = its size), 0 if
 * not (*size = 0). *received (when not NULL): the bytes of user_id's own
 * partial upload of it (0 if none, or user_id is 0). Says nothing of
 * whether the caller may name the blob: ask wbs__blob_usable before
 * telling a client it is there.
 */
int wbs__blob_status(wbs__store *s, const char *sha, int64_t user_id, uint64_t *size, uint64_t *received);

/* Who asks about blobs, with the projects already judged (one request's cache). */
typedef struct wbs__blob_caller {
	int64_t user_id; /* 0: anonymous */
	size_t nseen;
	struct {
		int64_t project_id;
		int readable;
	} seen[32];
} wbs__blob_caller;

/*
 * *usable = 1 if c may name blob sha as if it had it: it uploaded those
 * bytes itself (blob_owners), or it may read (wbs__store_access) a project
 * holding a version with an uploaded file of that hash. References (files
 * with a ref) hold no bytes and count for nothing. Does not look at the
 * blob files (a usable blob may have been collected since).
 */
int wbs__blob_usable(wbs__store *s, wbs__blob_caller *c, const char *sha, int *usable, wbs__err *err);

enum wbs__blob_result {
	WBS__BLOB_OK = 0,       /* written; *received and *complete are set */
	WBS__BLOB_OFFSET = 1,   /* offset is not the bytes received so far (*received) */
	WBS__BLOB_CHUNK = 2,    /* the chunk does not match its checksum */
	WBS__BLOB_MISMATCH = 3, /* the whole does not hash to sha (the partial upload is discarded) */
	WBS__BLOB_BUSY = 4,     /* another request of the same user is writing this blob */
	WBS__BLOB_FULL = 5,     /* no space left (nothing of the chunk is kept) */
	WBS__BLOB_IO = 6,       /* another I/O error */
	WBS__BLOB_TOOBIG = 7,   /* offset + len passes size */
	WBS__BLOB_SHORT = 8     /* the body ended before len bytes (nothing of the chunk is kept) */
};

/* Reads the next bytes of a chunk body into buf (at most cap): the count, or <= 0 when it ended early. */
typedef long (*wbs__chunk_read_fn)(void *arg, uint8_t *buf, size_t cap);

/*
 * Write one chunk of user_id's upload of blob sha (total size bytes): len
 * bytes at offset of that user's own partial upload, read through
 * read(arg, ...) in 1 MiB slices, each hashed on the calling thread and
 * written by a short-lived writer thread (the two overlap). chunk_sha
 * (hex, may be NULL) is the chunk's own SHA-256 and chunk_crc (may be
 * NULL) its zlib CRC-32: when one does not match, or the body ends early,
 * or the disk is full, the chunk is cut off the partial blob again
 * (nothing of it is kept). When the chunk ends the blob its whole hash is
 * checked; the blob is moved into place (or the part dropped when the
 * store has it already) and user_id recorded as its owner (a writer job).
 * The caller decides beforehand whether a blob the store has needs
 * uploading at all (wbs__blob_usable). Returns a wbs__blob_result with
 * msg. Counts the bytes in wbs__blob_bytes_received.
 */
int wbs__blob_write(wbs__store *s, int64_t user_id, const char *sha, uint64_t size, uint64_t offset, uint64_t len,
		    wbs__chunk_read_fn read, void *arg, const char *chunk_sha, const uint32_t *chunk_crc,
		    uint64_t *received, int *complete, char *msg, size_t msglen);

/* Open a blob for reading; fd or -1. */
int wbs__blob_open(wbs__store *s, const char *sha);

/* Bytes of blob chunks written since the process started (for /metrics). */
uint64_t wbs__blob_bytes_received(void);
/* Blobs deleted by GC since the process started. */
uint64_t wbs__blob_gc_deleted(void);

/* ---- versions ---- */

enum { WBS__ART_MISSING = 100 }; /* commit: a blob is not uploaded (err.msg names it) */

/* Commit m (see above). *version and *created (1 new, 0 the same content existed). A blob that
 * m->user_id may not use (wbs__blob_usable) is WBS__ART_MISSING, like one that is not there. */
int wbs__art_commit(wbs__store *s, const wbs__art_manifest *m, int64_t *version, int *created, wbs__err *err);

/*
 * A version selector: "v<N>" or an alias name. Resolve name:sel of a
 * project; NOTFOUND when absent.
 */

/* An artifact: its name and type (may be NULL), times, number of versions,
 * the version "latest" names (-1: none) and that version's size (0: none). */
typedef struct wbs__art_row {
	char *name, *type;
	double created_at, updated_at;
	int64_t versions, latest, size;
} wbs__art_row;
/* A version: number, digest, size, files, creation time, the run that
 * produced it (NULL: none) and its aliases (a JSON array of names, as the
 * database writes it; NULL: none). */
typedef struct wbs__art_version_row {
	int64_t version;
	char *digest, *producer, *aliases;
	int64_t size, file_count;
	double created_at;
} wbs__art_version_row;
/* A run that produced or used a version, and when. */
typedef struct wbs__art_run_row {
	char *run_id, *name, *state;
	double at;
} wbs__art_run_row;
/* A file of a version; ref is NULL for an uploaded file. */
typedef struct wbs__art_file_row {
	char *path, *sha256, *ref;
	int64_t size;
} wbs__art_file_row;
/* One version in full: its artifact's type (NULL: none), its metadata
 * (JSON text, as stored), its row, the run that produced it, the runs that
 * used it (by time of use, at most 10,000) and its files (by path). */
typedef struct wbs__art_detail {
	char *type, *metadata;
	wbs__art_version_row info;
	wbs__art_run_row *produced_by, *used_by;
	size_t nproduced, nused;
	wbs__art_file_row *files;
	size_t nfiles;
} wbs__art_detail;

/*
 * The reads return rows; server/http/handlers_artifact.c writes the API's
 * JSON (schema/api.md). Each read is one snapshot. The caller frees what
 * it got with the matching _free, also after a failure (partial rows).
 * wbs__art_list: a project's artifacts, latest change first, at most
 * 10,000. wbs__art_get: one artifact and its versions, newest first;
 * NOTFOUND when absent. wbs__art_version_get: name:sel in full; NOTFOUND
 * when either is absent.
 */
int wbs__art_list(wbs__store *s, const char *entity, const char *project, wbs__art_row **rows, size_t *n,
		  wbs__err *err);
void wbs__art_rows_free(wbs__art_row *rows, size_t n);
int wbs__art_get(wbs__store *s, const char *entity, const char *project, const char *name, wbs__art_row *art,
		 wbs__art_version_row **versions, size_t *n, wbs__err *err);
void wbs__art_version_rows_free(wbs__art_version_row *rows, size_t n);
int wbs__art_version_get(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
			 wbs__art_detail *d, wbs__err *err);
void wbs__art_detail_free(wbs__art_detail *d);
/* A file of a version: *sha, *size; *ref (malloc'd, caller frees) is NULL for an uploaded file. */
int wbs__art_file_get(wbs__store *s, const char *entity, const char *project, const char *name, const char *sel,
		      const char *path, char sha[65], uint64_t *size, char **ref, wbs__err *err);
/* A version a run produced or used: its artifact's name and type (may be NULL), the version number, when. */
typedef struct wbs__art_use_row {
	char *artifact, *type;
	int64_t version;
	double at;
} wbs__art_use_row;
/*
 * The versions a run produced (*made, by creation time) and used (*used, by
 * time of use), at most 10,000 each, in one snapshot. NOTFOUND when the run
 * does not exist. The caller frees both with wbs__art_use_rows_free (also
 * after a failure: they are NULL/0 then).
 */
int wbs__art_run_get(wbs__store *s, const wbs__run_ref *ref, wbs__art_use_row **made, size_t *nmade,
		     wbs__art_use_row **used, size_t *nused, wbs__err *err);
void wbs__art_use_rows_free(wbs__art_use_row *rows, size_t n);

/* Point alias (not "latest") at version sel of an artifact. */
int wbs__art_alias_set(wbs__store *s, const char *entity, const char *project, const char *name, const char *alias,
		       const char *sel, wbs__err *err);
int wbs__art_alias_delete(wbs__store *s, const char *entity, const char *project, const char *name,
			  const char *alias, wbs__err *err);
/* Delete a version and then the blobs nothing else names; *gc receives how many. */
int wbs__art_version_delete(wbs__store *s, const char *entity, const char *project, const char *name,
			    const char *sel, uint64_t *gc, wbs__err *err);


/*
 * Ingest (store_write.c, in the writer's transaction): the run run_rowid
 * of project project_id used the version in the ARTIFACT_USE record json
 * ({"artifact": name, "version": N}). A version that is not (or no more)
 * there is skipped. Returns a wbs__st.
 */
struct cJSON;
int wbs__art_apply_use(wbs__store *s, int64_t project_id, int64_t run_rowid, const struct cJSON *json, double now,
		       wbs__err *err);

#endif /* WB_SERVER_STORE_ARTIFACT_H */
