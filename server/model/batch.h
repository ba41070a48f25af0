/*
 * batch.h — an ingest body (a slice of a run log, schema/wire.md) decoded
 * and validated into the shape the store applies.
 *
 * An HTTP worker thread decodes the whole body before anything is queued
 * for the writer: frames are checked (checksum, consecutive seqs, known
 * types), JSON payloads parsed and validated, and METRICS points grouped by
 * key into one column pair (steps, values) per key. The writer thread then
 * does per key one read of the tail chunk and a few chunk writes, never one
 * SQL statement per point.
 *
 * What the worker cannot know is how far the server already got (runs.
 * last_seq): a retried body may start with frames that were applied. So
 * every point remembers the index of its frame, and the writer skips the
 * points and records of frames it already has (a binary search per key).
 *
 * Threads: a batch is built by one thread and then handed, read-only, to
 * the writer thread.
 */
#ifndef WB_SERVER_BATCH_H
#define WB_SERVER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "model/fields.h"

#define WBS__BATCH_KEYS_MAX 65536u /* distinct metric keys in one body */
#define WBS__DEFS_MAX 1024u        /* DEFINE entries kept per run */
#define WBS__PATCH_NAME_MAX 64u    /* PATCH record: name length */
#define WBS__CODE_JSON_MAX (512u * 1024u) /* CODE record payload */
#define WBS__ALERT_TITLE_MAX 200u  /* ALERT record: title bytes */
#define WBS__ALERT_TEXT_MAX 3000u  /* ALERT record: text bytes (Slack shows 3000 per block) */

typedef struct wbs__series {
	char *key; /* NUL-terminated copy, valid per wb__key_valid and UTF-8 */
	size_t klen;
	uint32_t n, cap;
	int64_t *steps;   /* non-decreasing */
	double *values;   /* bit-exact */
	uint32_t *frames; /* index (0-based, in the body) of each point's frame */
} wbs__series;

/* One METRICS record: its step and wall time (for the derived _timestamp series). */
typedef struct wbs__mrec {
	uint32_t frame;
	int64_t step;
	double time;
} wbs__mrec;

/* One non-METRICS record, validated. */
typedef struct wbs__jrec {
	uint32_t frame;
	uint8_t type;          /* WB__REC_RUN, _CONFIG, _SUMMARY, _DEFINE, _FINISH, _CODE, _PATCH */
	cJSON *json;           /* CONFIG, SUMMARY, CODE, ALERT: the object; DEFINE: normalised {"key","step_metric","summary"} */
	wbs__run_fields fields; /* RUN */
	int exit_code;         /* FINISH */
	double time;           /* FINISH: unix seconds, NaN if absent */
	char name[WBS__PATCH_NAME_MAX + 1]; /* PATCH: the patch's name */
	uint8_t *data;         /* PATCH: a copy of the bytes (the body is freed before the store applies) */
	size_t len;
	struct wbs__media *media; /* HISTOGRAM, IMAGE, TABLE (model/media.h) */
} wbs__jrec;

typedef struct wbs__batch {
	uint64_t first_seq; /* seq of frame 0; 0 when the body is empty */
	uint32_t nframes;
	wbs__series *series;
	size_t nseries, series_cap;
	uint32_t *slots; /* open-addressing index of series by key: series index + 1, 0 = empty */
	size_t nslots;   /* a power of two */
	wbs__mrec *mrecs;
	size_t nmrecs, mrecs_cap;
	wbs__jrec *jrecs;
	size_t njrecs, jrecs_cap;
	uint64_t npoints;
} wbs__batch;

enum wbs__batch_err { WBS__BATCH_OK = 0, WBS__BATCH_INVALID = -1, WBS__BATCH_NOMEM = -2 };

/*
 * Decode body[0..len) into *b (zeroed by this function; free it with
 * wbs__batch_free, also on failure). Returns WBS__BATCH_OK, WBS__BATCH_INVALID
 * with a one-line message in err (bad checksum, torn frame, seq gap inside
 * the body, unknown type, malformed payload, decreasing step), or
 * WBS__BATCH_NOMEM. body must stay alive as long as b (it is not referenced
 * after decoding, but callers should not rely on more).
 */
int wbs__batch_decode(wbs__batch *b, const uint8_t *body, size_t len, char *err, size_t errlen);
void wbs__batch_free(wbs__batch *b);

/* Index of the first point of s whose frame is >= frame (s->n if none). */
uint32_t wbs__series_from(const wbs__series *s, uint32_t frame);

/* Parse a DEFINE "summary" list into WB_SUMMARY_* flags; -1 if an entry is unknown. */
int wbs__define_flags(const cJSON *summary);

#endif /* WB_SERVER_BATCH_H */
