/*
 * artifact_int.h — what the four artifact files share, and nothing else
 * includes:
 *
 *   artifact_build.c  the wb_artifact being built, its manifest, hashing
 *   artifact_push.c   the transport, the chunked upload and commit,
 *                     wb_artifact_upload, wb_run_log_artifact, wb sync's part
 *   artifact_fetch.c  wb_artifact_download, wb_run_use_artifact
 *   artifact_save.c   wb_run_save and its live-save thread
 *
 * The design (why hash first, why the intent goes into the run log before a
 * byte is sent, how downloads are checked) is told at the top of
 * artifact_push.c and artifact_fetch.c.
 *
 * Threads: a wb_artifact belongs to one thread at a time; everything here
 * works on what the caller hands it.
 */
#ifndef WB_ARTIFACT_INT_H
#define WB_ARTIFACT_INT_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "upload.h"
#include "wb.h"
#include "wire.h"

#define WB__ART_CHUNK (8u * 1024u * 1024u) /* upload chunk, read and copy buffer */
#define WB__ART_RESP_MAX (64u * 1024u * 1024u)
#define WB__ART_FILES_MAX 100000u /* files of one version: the server's limit too */
#define WB__ART_RECORDS_MAX (1u << 20) /* ARTIFACT records of one run log that wb sync replays */

/* ---- the artifact being built (artifact_build.c) ---- */

typedef struct wb__art_entry {
	char *path;      /* inside the artifact */
	char *local;     /* the file, or NULL for a reference */
	char *ref;       /* the URI of a reference */
	char sha[65];    /* "" until hashed */
	uint64_t size;
	int64_t mtime_ns; /* when hashed; -1: do not check (a replay from the run log) */
} wb__art_entry;

struct wb_artifact {
	char *name, *type;
	cJSON *metadata; /* object or NULL */
	wb__art_entry *e;
	size_t n, cap;
};

/* ---- progress: the run-less calls' callback (wb_artifact_options version 2) ---- */

/* A phase as the callback sees it; every function is a no-op on NULL or without a callback. */
typedef struct wb__art_pg {
	wb_progress_fn fn;
	void *arg;
	wb_progress p;
} wb__art_pg;

static inline void wb__art_pg_init(wb__art_pg *g, const wb_artifact_options *o)
{
	memset(g, 0, sizeof(*g));
	if (o && o->version >= 2) {
		g->fn = o->progress;
		g->arg = o->progress_arg;
	}
}

static inline void wb__art_pg_begin(wb__art_pg *g, const char *what, uint64_t total)
{
	if (!g || !g->fn)
		return;
	g->p = (wb_progress){what, 0, total};
	g->fn(&g->p, g->arg);
}

/* done += n, or done = at when n is 0 and at is not UINT64_MAX (a retried file starts over). */
static inline void wb__art_pg_move(wb__art_pg *g, uint64_t n, uint64_t at)
{
	if (!g || !g->fn)
		return;
	g->p.done = n ? g->p.done + n : at != UINT64_MAX ? at : g->p.done;
	g->fn(&g->p, g->arg);
}

static inline int64_t wb__mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Append an entry to a, taking path, local and ref (freed on an error,
 * NULL path or NULL local and ref meaning out of memory); sha (may be
 * NULL) is copied. WB_EINVAL for a bad or repeated path. */
WB__HIDDEN int wb__art_add_entry(wb_artifact *a, char *path, char *local, char *ref, const char *sha,
				 uint64_t size);

/* 1 if s is 64 hex digits (either case). */
WB__HIDDEN int wb__sha_hex_valid(const char *s);

/* d[0..n) as lowercase hex into out (2n + 1 bytes). */
WB__HIDDEN void wb__hexify(const unsigned char *d, size_t n, char *out);

/* Hash e->local into e->sha, e->size, e->mtime_ns, with buf (WB__ART_CHUNK
 * bytes); pg (may be NULL) counts the bytes. WB_ECORRUPT if the file
 * changed while read. */
WB__HIDDEN int wb__art_hash_file(wb__art_entry *e, uint8_t *buf, wb__art_pg *pg);

/* Hash every file entry of a not hashed yet, as wb__art_hash_file. */
WB__HIDDEN int wb__art_hash_all(wb_artifact *a, uint8_t *buf, wb__art_pg *pg);

/* The manifest as the server's commit body (and, with_local, the ARTIFACT
 * record with id). The caller deletes it; NULL when out of memory. */
WB__HIDDEN cJSON *wb__art_manifest(const wb_artifact *a, const char *const *aliases, size_t naliases,
				   const char *run_id, int with_local, const char *id);

/* ---- transport and upload (artifact_push.c) ---- */

/* What an upload works with: one connection, the chunk buffers. */
typedef struct wb__art_upctx {
	wb__http *h;
	uint8_t *buf;  /* WB__ART_CHUNK */
	uint8_t *zbuf; /* wb__gzip_bound(WB__ART_CHUNK) */
	size_t zcap;
	void *z;       /* wb__gzip's state, reused between chunks */
	size_t chunk;  /* chunk size (WB_ARTIFACT_CHUNK_BYTES for tests) */
	int64_t deadline;
	uint64_t sent;  /* blob bytes the server accepted */
	wb__art_pg *pg; /* NULL, or the caller's progress */
} wb__art_upctx;

/* Resolve base_url, api_key, entity, project for the run-less calls. */
typedef struct wb__art_where {
	char *base_url, *api_key, *entity, *project;
} wb__art_where;

/* A connection for the artifacts of entity/project on base_url, verifying
 * an https server with ca_file (NULL: WB_CA_FILE, if set). */
WB__HIDDEN int wb__art_http(wb__http **out, const char *base_url, const char *api_key, const char *entity,
			    const char *project, const char *ca_file);

/* After a failed request: wait a backoff step (or the server's
 * Retry-After) and return 1 if worth retrying before deadline. */
WB__HIDDEN int wb__art_retry(const wb__http *h, int rc, int64_t *delay, int64_t deadline);

/* method on suffix with json (may be NULL) as the body, retried until it
 * succeeds or it is not worth trying again. *out: the JSON answer (the
 * caller frees), NULL on an error. */
WB__HIDDEN int wb__art_call(wb__http *h, const char *method, const char *suffix, const char *json,
			    int64_t deadline, cJSON **out);

/* Buffers for an upload until deadline (mono ms); WB_ENOMEM. Free with wb__art_upctx_free. */
WB__HIDDEN int wb__art_upctx_init(wb__art_upctx *u, int64_t deadline);
WB__HIDDEN void wb__art_upctx_free(wb__art_upctx *u);

/* The deadline (mono ms) of an artifact call: timeout_ms, else
 * WB_ARTIFACT_TIMEOUT_MS, else ten minutes from now. */
WB__HIDDEN int64_t wb__art_deadline(unsigned int timeout_ms);

/* Fill w from o (may be NULL) and the settings, asking the server for the
 * key owner's entity when none is set. Free with wb__art_where_free
 * (after an error too: w is zeroed first). */
WB__HIDDEN int wb__art_where_load(wb__art_where *w, const wb_artifact_options *o);
WB__HIDDEN void wb__art_where_free(wb__art_where *w);

/* The run's entity for an artifact request: the one it has, else the key
 * owner's, asked of the server until deadline. */
WB__HIDDEN int wb__art_run_entity(wb_run *run, int64_t deadline);

/* Log a (its files hashed) from run: ARTIFACT record, upload with u until
 * deadline, ARTIFACT_DONE. *out_version (may be NULL): the version, -1 if
 * not committed. */
WB__HIDDEN int wb__art_log_hashed(wb_run *run, wb_artifact *a, const char *const *aliases, size_t n,
				  int64_t deadline, wb__art_upctx *u, int64_t *out_version);

#endif /* WB_ARTIFACT_INT_H */
