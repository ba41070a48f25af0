/*
 * import.h — the parts of `wb import` (cmd_import.c says what it does and
 * why in that order) and what they share: the archive's entries read in
 * the first pass (import_archive.c), the runs turned into records
 * (import_runs.c), the artifacts' versions, aliases and uses
 * (import_artifacts.c) and the blobs streamed in the second pass
 * (import_blobs.c). Private to those files.
 *
 * Threads: a single-threaded command.
 */
#ifndef WB_SERVER_CLI_IMPORT_H
#define WB_SERVER_CLI_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include <archive.h>
#include <cJSON.h>

#include "progress.h"
#include "xfer.h"

/* A small entry (JSON, CSV, patch), in memory. */
typedef struct entry {
	char *name;
	char *data; /* NUL-terminated */
	size_t len;
} entry;

/* An image or a blob met in the first pass: hashed, and its size. */
typedef struct bytes_ent {
	char sha[65];
	uint64_t size;
	int blob;                /* 0 images/, 1 blobs/ */
	const char *ent, *proj;  /* blob: a project of an artifact naming it (its routes upload it) */
} bytes_ent;

typedef struct files {
	entry *e;
	size_t n, cap;
	bytes_ent *b;
	size_t nb, capb;
	char spool[4096]; /* the images' temporary directory, "" until the first */
	int version;      /* the manifest's */
	wbs__progress *pg;
} files;

/* A run of the manifest: where its records stand after the import. */
typedef struct run_st {
	const char *ent, *proj, *id;
	uint64_t seq; /* records sent */
	int crashed;
	char seen[40]; /* crashed: its heartbeat_at on the source, as the source wrote it ("" if none) */
} run_st;

/* A version to commit: its number, its time on the source (the order of commits), its commit body. */
typedef struct aver {
	int64_t index;
	double created;
	char *commit;
} aver;

typedef struct aplan {
	const char *ent, *proj, *name, *type; /* into the artifact's JSON (doc) */
	cJSON *doc;
	aver *v;
	size_t n, next;  /* versions; the next to commit */
	int64_t target;  /* the number the target gives the next commit */
} aplan;

/* An alias to put, or a use to replay (run set), once every version is in. */
typedef struct alink {
	aplan *p;
	const char *alias; /* an alias, or NULL: a use */
	run_st *run;
	int64_t index;
	double at;
	size_t order;
} alink;

typedef struct plan {
	aplan *a;
	size_t na;
	alink *l;
	size_t nl, capl;
} plan;

/* import_archive.c */
/* The small entry named name, or NULL. */
const entry *wbs__import_find(const files *f, const char *name);
/* The image (blob 0) or blob (1) of that SHA-256 met in the first pass, or NULL (also for a bad sha). */
bytes_ent *wbs__import_find_bytes(const files *f, const char *sha, int blob);
/* Where the image sha waits in the spool directory, into out. */
void wbs__import_spool_path(const files *f, const char *sha, char *out, size_t cap);
/* A JSON number that is an integer in [0, 2^53], or -1. */
int64_t wbs__import_json_count(const cJSON *v);
/* Free f's entries and remove its spooled images. */
void wbs__import_files_free(files *f);
/* The archive at path opened for reading (tar, gzip'ed or not), or NULL with why. */
struct archive *wbs__import_open_archive(const char *path, char *err, size_t errlen);
/* The first pass: every entry checked, the small ones kept, images and blobs hashed. 0 or -1 with why. */
int wbs__import_read_archive(const char *path, files *f, char *err, size_t errlen);

/* import_runs.c */
/* Turn one run into records and send them (dry: only build and check them). 0 or -1 with why. */
int wbs__import_run(const wbs__api *a, const files *f, run_st *rs, int dry, char *err, size_t errlen);
/* One more record to a run that was imported (seq goes on from its last). 0 or -1 with why. */
int wbs__import_send_record(const wbs__api *a, run_st *rs, uint8_t type, const cJSON *j, char *err, size_t errlen);

/* import_artifacts.c */
void wbs__import_plan_free(plan *p);
/* The run E/P/ID among runs, or NULL (also when id is NULL). */
run_st *wbs__import_run_find(run_st *runs, size_t n, const char *ent, const char *proj, const char *id);
/* Check artifacts/E/P/NAME.json and plan its commits, aliases and uses. 0 or -1 with why. */
int wbs__import_plan_artifact(files *f, plan *p, run_st *runs, size_t nruns, const char *ent, const char *proj,
			      const char *name, char *err, size_t errlen);
/* Every version of every artifact, oldest first across artifacts, each with its original number. */
int wbs__import_commit_all(const wbs__api *a, plan *p, char *err, size_t errlen);
/* The aliases where they were, then the uses in their order, then the crashed runs marked. */
int wbs__import_links_all(const wbs__api *a, plan *p, run_st *runs, size_t nruns, char *err, size_t errlen);

/* import_blobs.c */
/* The second pass over the archive: each blob an artifact names, streamed to the target. 0 or -1 with why. */
int wbs__import_upload_blobs(const wbs__api *a, const char *in, const files *f, char *err, size_t errlen);

/* cmd_import.c */
/* 0 if GET path is 404 on the target; else -1 with why (what exists). */
int wbs__import_absent(const wbs__api *a, const char *path, const char *what, char *err, size_t errlen);

#endif /* WB_SERVER_CLI_IMPORT_H */
