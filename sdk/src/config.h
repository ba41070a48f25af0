/*
 * config.h — the run's in-memory config store (what wb_config_get_* read).
 *
 * Threads: every function takes the store's mutex itself, except where it
 * says the caller holds it.
 */
#ifndef WB_CONFIG_H
#define WB_CONFIG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum wb__config_type { WB__CFG_INT = 1, WB__CFG_DOUBLE, WB__CFG_BOOL, WB__CFG_STRING };

/*
 * A string value lives in a block made by wb__config_str_new. When its key
 * is set again the block is not freed but kept on the store's retired list
 * until the run ends: wb_config_get_string handed out a pointer to it,
 * which another thread's setter must not pull from under its reader.
 * Keeping costs nothing that can fail (the link is in the block).
 */
typedef struct wb__config_str {
	struct wb__config_str *next;
	char s[];
} wb__config_str;

typedef struct wb__config_value {
	int type;
	union {
		int64_t i;
		double d;
		int b;
		char *s; /* the s of a wb__config_str, owned by the store once stored */
	} v;
} wb__config_value;

typedef struct wb__config_entry {
	char *key;
	wb__config_value val;
	int locked; /* set by the sweep (sweep.c): a setter of this key or a related one keeps it */
	int warned; /* the one warning about a locked key was given */
} wb__config_entry;

typedef struct wb__config {
	pthread_mutex_t mu;
	wb__config_entry *items;
	size_t n, cap;
	wb__config_str *retired; /* replaced string values, freed with the store */
} wb__config;

/* A copy of the string s in a block a string value can live in, or NULL. */
WB__HIDDEN char *wb__config_str_new(const char *s);

WB__HIDDEN int wb__config_init(wb__config *c);
WB__HIDDEN void wb__config_free(wb__config *c);

/* A config key: dotted parts of 1..WB__CONFIG_PART_MAX bytes without
 * control characters, at most WB__CONFIG_KEY_MAX bytes. WB_OK or WB_EINVAL
 * (with errmsg). */
WB__HIDDEN int wb__config_key_check(const char *key);

/*
 * The CONFIG record payload for key = val: a JSON object nested along the
 * dotted key ("optimizer.lr" = 0.1 gives {"optimizer":{"lr":0.1}}), ints
 * exact, non-finite doubles as "NaN"/"Infinity"/"-Infinity". *json is
 * malloc'd. WB_OK or WB_ENOMEM.
 */
WB__HIDDEN int wb__config_payload(const char *key, const wb__config_value *val, char **json, size_t *len);

/*
 * Store key = val, replacing the key and every key above or below it in
 * the tree (as the server's deep merge does: setting "a.b" replaces a
 * scalar "a" and drops "a.b.c"). Takes ownership of val->v.s. The caller
 * holds c->mu and has called wb__config_reserve() for this insertion, so
 * it cannot fail.
 */
WB__HIDDEN void wb__config_store_locked(wb__config *c, char *key, wb__config_value *val);

/*
 * Set key = *val on run as config_set does, and lock the key: a later
 * wb_config_set_* of it, or of a key above or below it in the tree, keeps
 * this value and returns WB_OK with one warning per key (the sweep's value
 * overrides the code's default, sweep.c). Takes ownership of val->v.s.
 */
WB__HIDDEN int wb__config_set_locked(wb_run *run, const char *key, wb__config_value *val);

/* Make room for one more entry (caller holds c->mu). WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__config_reserve(wb__config *c);

/*
 * Read key as type into *out (an int64_t, double, int or const char *, the
 * string valid until the store is freed). WB_OK, WB_ENOTFOUND, or WB_ETYPE
 * (an INT may be read as a DOUBLE).
 */
WB__HIDDEN int wb__config_lookup(wb__config *c, const char *key, int type, void *out);

/*
 * Copy key's string value into buf[cap] (NUL-terminated) under the store's
 * mutex; *len (if not NULL) gets its length without the NUL. WB_OK,
 * WB_ENOTFOUND, WB_ETYPE, or WB_ERANGE when cap is too small (buf holds
 * nothing then, *len still says what is needed).
 */
WB__HIDDEN int wb__config_copy_string(wb__config *c, const char *key, char *buf, size_t cap, size_t *len);

#endif /* WB_CONFIG_H */
