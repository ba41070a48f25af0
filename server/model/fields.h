/*
 * fields.h — validation of the run fields a client may set, shared by
 * `PUT .../runs/{id}` (a JSON body) and the RUN record of the run log, so
 * both paths accept exactly the same thing (limits in schema/api.md).
 *
 * Validation happens on an HTTP worker thread before anything reaches the
 * store; the store only ever sees fields that passed. Strings are copied:
 * a wbs__run_fields owns its strings and outlives the cJSON it came from.
 *
 * Threads: no shared state.
 */
#ifndef WB_SERVER_FIELDS_H
#define WB_SERVER_FIELDS_H

#include <stddef.h>

#include <cJSON.h>

#define WBS__TEXT_MAX 128u              /* name, job_type */
#define WBS__NOTES_MAX (64u * 1024u)
#define WBS__TAGS_MAX 64u
#define WBS__TAG_MAX 64u
#define WBS__JSON_FIELD_MAX (1024u * 1024u) /* config, metadata: whole, as JSON */
#define WBS__JSON_DEPTH_MAX 32

enum wbs__field_bit {
	WBS__F_NAME = 1u << 0,
	WBS__F_GROUP = 1u << 1,
	WBS__F_JOB_TYPE = 1u << 2,
	WBS__F_NOTES = 1u << 3,
	WBS__F_TAGS = 1u << 4,
	WBS__F_METADATA = 1u << 5,
	WBS__F_CREATED_AT = 1u << 6
};

typedef struct wbs__run_fields {
	unsigned set;     /* wbs__field_bit of the fields present */
	char *name;       /* 1..128 bytes of UTF-8, no control characters */
	char *group;      /* a name (wb__name_valid), or NULL: clear */
	char *job_type;   /* like name, or NULL: clear */
	char *notes;      /* 0..64 KiB of UTF-8 (newlines and tabs allowed) */
	char *tags;       /* JSON array text of up to 64 distinct tags */
	cJSON *metadata;  /* object, deep-merged into the run's metadata */
	double created_at; /* unix seconds, finite, >= 0 */
} wbs__run_fields;

/*
 * Validate obj (a JSON object; NULL means no fields) into *out, which the
 * caller frees with wbs__run_fields_free (also on failure). Unknown members
 * are ignored (forward compatibility). Returns 0, or -1 with a one-line
 * message naming the field in err.
 */
int wbs__run_fields_parse(wbs__run_fields *out, const cJSON *obj, char *err, size_t errlen);
void wbs__run_fields_free(wbs__run_fields *f);

/* 1 if s[0..n) is UTF-8 with no control characters (allow_ws: \t \n \r are allowed). */
int wbs__text_valid(const char *s, size_t n, int allow_ws);

/* 1 if the nesting depth of item is at most max. */
int wbs__json_depth_ok(const cJSON *item, int max);

/*
 * Deep-merge object src into object dst: members that are objects on both
 * sides merge recursively, anything else replaces. src is left unchanged.
 * Returns 0, or -1 on out of memory (dst may then be partly merged).
 */
int wbs__json_merge(cJSON *dst, const cJSON *src);

/*
 * Parse exactly text[0..len) of JSON that came from the network (a request
 * body, a record payload): the one way such text is read, so every route
 * and frame refuses alike. Besides syntax, it refuses what cJSON would
 * silently change (wbs__json_check: a NUL in a string, invalid UTF-8,
 * duplicate keys, numbers past a double). Returns the tree, or NULL with a
 * one-line message in why: "<what> is not valid json at byte N" (what names
 * the text: "body", "payload"), "$.path: reason", or "out of memory".
 * Thread-safe (never touches cJSON's global error pointer).
 */
cJSON *wbs__json_parse(const char *text, size_t len, const char *what, char *why, size_t whylen);

/*
 * Parse JSON text the server itself wrote to the store (config, metadata,
 * summary columns). Not checked: it passed wbs__json_parse on the way in,
 * and a row written before that check must still be readable. NULL if it
 * is not JSON.
 */
cJSON *wbs__json_parse_stored(const char *text, size_t len);

#endif /* WB_SERVER_FIELDS_H */
