/*
 * config.c — hyperparameters: wb_config_set_* and wb_config_get_*.
 *
 * A setter does two things under the store's mutex: it pushes a CONFIG
 * record through the same ring as the metrics (so the log keeps the order
 * in which the trainer did things), and it updates a typed in-memory store
 * that the getters read. Holding the mutex across both keeps the store and
 * the log in the same order when threads race on one key. Everything that
 * can fail (key copy, string copy, room in the store, the JSON) is done
 * before the record is pushed, so a pushed record is always stored.
 *
 * A string a getter handed out stays valid until the run ends (config.h,
 * wb__config_str); wb_config_copy_string copies under the mutex instead.
 *
 * The store is flat, keyed by the dotted path, with the server's merge
 * rule applied locally: a key replaces its ancestors and descendants. It
 * is a linear array: configs have tens or hundreds of keys and are set at
 * start-up, not in the training loop.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "run.h"
#include "util.h"
#include "wire_media.h"

#define CONFIG_KEYS_MAX (1u << 20) /* a config is a few hundred keys; a million is a runaway loop */

int wb__config_init(wb__config *c)
{
	memset(c, 0, sizeof *c);
	if (pthread_mutex_init(&c->mu, NULL))
		return wb__error(WB_ENOMEM, "cannot initialise the config lock");
	return WB_OK;
}

static wb__config_str *str_block(char *s) { return (wb__config_str *)(void *)(s - offsetof(wb__config_str, s)); }

char *wb__config_str_new(const char *s)
{
	size_t n = strlen(s);
	wb__config_str *b;

	if (n > SIZE_MAX - sizeof(*b) - 1 || !(b = malloc(sizeof(*b) + n + 1)))
		return NULL;
	b->next = NULL;
	memcpy(b->s, s, n + 1);
	return b->s;
}

/* Free a value that was never handed out (not stored yet). */
static void value_free(wb__config_value *v)
{
	if (v->type == WB__CFG_STRING && v->v.s)
		free(str_block(v->v.s));
	v->type = 0;
}

/* A stored value leaves the store: a string goes to the retired list. */
static void value_retire(wb__config *c, wb__config_value *v)
{
	if (v->type == WB__CFG_STRING && v->v.s) {
		wb__config_str *b = str_block(v->v.s);
		b->next = c->retired;
		c->retired = b;
	}
	v->type = 0;
}

void wb__config_free(wb__config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].key);
		value_free(&c->items[i].val);
	}
	while (c->retired) {
		wb__config_str *next = c->retired->next;
		free(c->retired);
		c->retired = next;
	}
	free(c->items);
	pthread_mutex_destroy(&c->mu);
	memset(c, 0, sizeof *c);
}

int wb__config_key_check(const char *key)
{
	char why[128];

	if (!key)
		return wb__error(WB_EINVAL, "config key is NULL");
	if (!wb__config_key_valid(key, strnlen(key, WB__CONFIG_KEY_MAX + 1), why, sizeof why))
		return wb__error(WB_EINVAL, "%s", why);
	return WB_OK;
}

static cJSON *value_json(const wb__config_value *val)
{
	switch (val->type) {
	case WB__CFG_INT: return wb__json_int(val->v.i);
	case WB__CFG_DOUBLE: return wb__json_double(val->v.d);
	case WB__CFG_BOOL: return cJSON_CreateBool(val->v.b);
	default: return cJSON_CreateString(val->v.s);
	}
}

int wb__config_payload(const char *key, const wb__config_value *val, char **json, size_t *len)
{
	char path[WB__CONFIG_KEY_MAX + 1];
	cJSON *item;
	int rc;

	*json = NULL;
	snprintf(path, sizeof path, "%s", key);
	item = value_json(val);
	if (!item)
		return wb__error(WB_ENOMEM, "out of memory");
	/* Wrap from the innermost part outwards. */
	for (;;) {
		char *dot = strrchr(path, '.');
		const char *part = dot ? dot + 1 : path;
		cJSON *obj = cJSON_CreateObject();

		if (!obj || !cJSON_AddItemToObject(obj, part, item)) {
			cJSON_Delete(obj);
			cJSON_Delete(item);
			return wb__error(WB_ENOMEM, "out of memory");
		}
		item = obj;
		if (!dot)
			break;
		*dot = '\0';
	}
	rc = wb__json_print(item, json, len);
	cJSON_Delete(item);
	return rc;
}

/* 1 if a is b, or one is a dotted prefix of the other. */
static int related(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;

	if (memcmp(a, b, n) != 0)
		return 0;
	if (la == lb)
		return 1;
	return (la < lb ? b[la] : a[lb]) == '.';
}

int wb__config_reserve(wb__config *c)
{
	return wb__reserve(&c->items, &c->cap, c->n, 1, sizeof(*c->items), CONFIG_KEYS_MAX, "config keys");
}

void wb__config_store_locked(wb__config *c, char *key, wb__config_value *val)
{
	size_t w = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (related(c->items[i].key, key)) {
			free(c->items[i].key);
			value_retire(c, &c->items[i].val);
			continue;
		}
		c->items[w++] = c->items[i];
	}
	c->n = w;
	c->items[c->n].key = key;
	c->items[c->n].val = *val;
	c->items[c->n].locked = c->items[c->n].warned = 0;
	c->n++;
}

int wb__config_lookup(wb__config *c, const char *key, int type, void *out)
{
	int rc = WB_ENOTFOUND;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		const wb__config_value *v = &c->items[i].val;
		if (strcmp(c->items[i].key, key) != 0)
			continue;
		rc = WB_OK;
		if (type == WB__CFG_DOUBLE && v->type == WB__CFG_INT)
			*(double *)out = (double)v->v.i;
		else if (type != v->type)
			rc = WB_ETYPE;
		else if (type == WB__CFG_INT)
			*(int64_t *)out = v->v.i;
		else if (type == WB__CFG_DOUBLE)
			*(double *)out = v->v.d;
		else if (type == WB__CFG_BOOL)
			*(int *)out = v->v.b;
		else
			*(const char **)out = v->v.s;
		break;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc == WB_ENOTFOUND)
		return wb__error(rc, "config key %s is not set", key);
	if (rc == WB_ETYPE)
		return wb__error(rc, "config key %s holds another type", key);
	return rc;
}

int wb__config_copy_string(wb__config *c, const char *key, char *buf, size_t cap, size_t *len)
{
	int rc = WB_ENOTFOUND;
	size_t n = 0;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		const wb__config_value *v = &c->items[i].val;
		if (strcmp(c->items[i].key, key) != 0)
			continue;
		if (v->type != WB__CFG_STRING) {
			rc = WB_ETYPE;
			break;
		}
		n = strlen(v->v.s);
		rc = n < cap ? WB_OK : WB_ERANGE;
		if (rc == WB_OK)
			memcpy(buf, v->v.s, n + 1);
		break;
	}
	pthread_mutex_unlock(&c->mu);
	if (len)
		*len = n;
	if (rc == WB_ENOTFOUND)
		return wb__error(rc, "config key %s is not set", key);
	if (rc == WB_ETYPE)
		return wb__error(rc, "config key %s holds another type", key);
	if (rc == WB_ERANGE)
		return wb__error(rc, "config value of %s has %zu bytes; the buffer holds %zu with its NUL", key, n, cap);
	return rc;
}

/* The locked entry key is related to (a sweep's parameter, sweep.c), or
 * NULL. Caller holds c->mu. */
static wb__config_entry *locked_related(wb__config *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->items[i].locked && related(c->items[i].key, key))
			return &c->items[i];
	return NULL;
}

/* Set key = *val on run: the whole setter (see the top of the file). A key
 * a sweep locked keeps its value (WB_OK, one warning per locked key);
 * lock: this value becomes such a key. Takes ownership of val->v.s in
 * every case. */
static int config_set(wb_run *run, const char *key, wb__config_value *val, int lock)
{
	char *json = NULL, *k = NULL, kept[WB__CONFIG_KEY_MAX + 1] = "";
	wb__config_entry *e;
	size_t len = 0;
	int rc, locked = 0;

	if (!run) {
		rc = wb__error(WB_EINVAL, "run is NULL");
		goto done;
	}
	if ((rc = wb__config_key_check(key)))
		goto done;
	if (!(k = strdup(key))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	if (run->mode != WB_MODE_DISABLED && (rc = wb__config_payload(key, val, &json, &len)))
		goto done;
	pthread_mutex_lock(&run->config.mu);
	locked = 1;
	if (!lock && (e = locked_related(&run->config, key))) {
		if (!e->warned) {
			e->warned = 1;
			snprintf(kept, sizeof kept, "%s", e->key);
		}
		rc = WB_OK;
		goto done;
	}
	if ((rc = wb__config_reserve(&run->config)))
		goto done;
	if (run->mode != WB_MODE_DISABLED && (rc = wb__run_push(run, WB__REC_CONFIG, json, len)))
		goto done;
	wb__config_store_locked(&run->config, k, val);
	run->config.items[run->config.n - 1].locked = lock;
	k = NULL;
	val->type = 0;
done:
	if (locked)
		pthread_mutex_unlock(&run->config.mu);
	if (kept[0])
		wb__warn("config key %s was set by the sweep: keeping the sweep's value over the code's (set of %s "
			 "ignored; warned once per key)",
			 kept, key);
	value_free(val);
	free(k);
	free(json);
	return rc;
}

int wb__config_set_locked(wb_run *run, const char *key, wb__config_value *val)
{
	return config_set(run, key, val, 1);
}

int wb_config_set_int(wb_run *run, const char *key, int64_t value)
{
	wb__config_value v = {.type = WB__CFG_INT, .v.i = value};

	return config_set(run, key, &v, 0);
}

int wb_config_set_double(wb_run *run, const char *key, double value)
{
	wb__config_value v = {.type = WB__CFG_DOUBLE, .v.d = value};

	return config_set(run, key, &v, 0);
}

int wb_config_set_bool(wb_run *run, const char *key, int value)
{
	wb__config_value v = {.type = WB__CFG_BOOL, .v.b = value ? 1 : 0};

	return config_set(run, key, &v, 0);
}

int wb_config_set_string(wb_run *run, const char *key, const char *value)
{
	wb__config_value v = {.type = WB__CFG_STRING};

	if (!value)
		return wb__error(WB_EINVAL, "config value is NULL");
	if (!wb__utf8_valid(value, strlen(value)))
		return wb__error(WB_EINVAL, "config value of %s is not valid utf-8", key ? key : "(null)");
	v.v.s = wb__config_str_new(value);
	if (!v.v.s)
		return wb__error(WB_ENOMEM, "out of memory");
	return config_set(run, key, &v, 0);
}

static int config_get(wb_run *run, const char *key, int type, void *out)
{
	if (!run || !key || !out)
		return wb__error(WB_EINVAL, "run, key and out must not be NULL");
	return wb__config_lookup(&run->config, key, type, out);
}

int wb_config_get_int(wb_run *run, const char *key, int64_t *out)
{
	return config_get(run, key, WB__CFG_INT, out);
}

int wb_config_get_double(wb_run *run, const char *key, double *out)
{
	return config_get(run, key, WB__CFG_DOUBLE, out);
}

int wb_config_get_bool(wb_run *run, const char *key, int *out)
{
	return config_get(run, key, WB__CFG_BOOL, out);
}

int wb_config_get_string(wb_run *run, const char *key, const char **out)
{
	return config_get(run, key, WB__CFG_STRING, out);
}

int wb_config_copy_string(wb_run *run, const char *key, char *buf, size_t cap, size_t *len)
{
	if (!run || !key || (!buf && cap))
		return wb__error(WB_EINVAL, "run and key must not be NULL, nor buf when cap > 0");
	return wb__config_copy_string(&run->config, key, buf, cap, len);
}
