/*
 * sweep.c — a trial of a sweep joins it inside wb_run_init, with no new
 * call in the training code.
 *
 * The agent (`wb agent`, server/cli/cmd_agent.c) hands the trial's
 * parameters over in WB_SWEEP_PARAMS as a JSON object, nested by the dots
 * of the keys ({"optimizer":{"lr":0.01}}). Each leaf becomes a config key
 * under its dotted path, typed as the JSON wrote it: a number without a
 * fraction or exponent is an int (read exactly: 2^53 + 1 stays itself), any
 * other number a double, then booleans and strings. Arrays and nulls are
 * refused: no config setter holds them, and a trial that silently lost a
 * parameter would be a wrong point of the search.
 *
 * The keys are locked (config.c): the training code then sets its defaults
 * as it always does, and the sweep's values stay, as in W&B, where the
 * sweep's config overrides the code's. Everything is checked before the run
 * starts, so a malformed variable fails wb_run_init with WB_EINVAL and
 * nothing reaches the server.
 */
#include "sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "settings.h"
#include "wire_media.h"

/* Called for each leaf with its dotted key. 0 to go on, else a WB_* code. */
typedef int (*leaf_fn)(const char *key, const cJSON *leaf, void *arg);

/* Walk obj's members depth-first, building the dotted key in path[0..cap)
 * from at; leaves go to fn. */
static int walk(const cJSON *obj, char *path, size_t cap, size_t at, leaf_fn fn, void *arg)
{
	const cJSON *it;
	int rc;

	cJSON_ArrayForEach(it, obj)
	{
		size_t n = strlen(it->string ? it->string : "");
		if (at + (at ? 1 : 0) + n + 1 > cap)
			return wb__error(WB_EINVAL, "WB_SWEEP_PARAMS: a key is longer than %u bytes", WB__CONFIG_KEY_MAX);
		if (at)
			path[at] = '.';
		memcpy(path + at + (at ? 1 : 0), it->string ? it->string : "", n + 1);
		if (cJSON_IsObject(it))
			rc = walk(it, path, cap, at + (at ? 1 : 0) + n, fn, arg);
		else
			rc = fn(path, it, arg);
		path[at] = '\0';
		if (rc)
			return rc;
	}
	return WB_OK;
}

/* A leaf as a config value: a string is a copy the caller owns when copy,
 * else only checked (v->v.s NULL). WB_OK, WB_EINVAL for a type no config
 * key holds, WB_ENOMEM. */
static int leaf_value(const char *key, const cJSON *leaf, wb__config_value *v, int copy)
{
	memset(v, 0, sizeof *v);
	if (cJSON_IsNumber(leaf)) {
		/* the number's own text, kept by the exact parser */
		const char *t = leaf->valuestring;
		char *end;
		if (t && t[strspn(t, "-0123456789")] == '\0') {
			errno = 0;
			v->v.i = strtoll(t, &end, 10);
			if (!errno && !*end) {
				v->type = WB__CFG_INT;
				return WB_OK;
			}
		}
		v->type = WB__CFG_DOUBLE;
		v->v.d = leaf->valuedouble;
		return WB_OK;
	}
	if (cJSON_IsBool(leaf)) {
		v->type = WB__CFG_BOOL;
		v->v.b = cJSON_IsTrue(leaf);
		return WB_OK;
	}
	if (cJSON_IsString(leaf)) {
		if (!wb__utf8_valid(leaf->valuestring, strlen(leaf->valuestring)))
			return wb__error(WB_EINVAL, "WB_SWEEP_PARAMS: %s is not valid utf-8", key);
		v->type = WB__CFG_STRING;
		if (copy && !(v->v.s = wb__config_str_new(leaf->valuestring)))
			return wb__error(WB_ENOMEM, "out of memory");
		return WB_OK;
	}
	return wb__error(WB_EINVAL, "WB_SWEEP_PARAMS: %s is %s; a parameter is a number, a boolean or a string", key,
			 cJSON_IsArray(leaf) ? "an array" : cJSON_IsNull(leaf) ? "null" : "not a value");
}

static int leaf_check(const char *key, const cJSON *leaf, void *arg)
{
	wb__config_value v;
	int rc;

	(void)arg;
	if ((rc = wb__config_key_check(key)))
		return wb__error(rc, "WB_SWEEP_PARAMS: %s", wb_errmsg());
	return leaf_value(key, leaf, &v, 0);
}

static int leaf_set(const char *key, const cJSON *leaf, void *arg)
{
	wb__config_value v;
	int rc;

	if ((rc = leaf_value(key, leaf, &v, 1)))
		return rc;
	return wb__config_set_locked(arg, key, &v);
}

void wb__sweep_free(wb__sweep_join *j)
{
	if (!j)
		return;
	cJSON_Delete(j->params);
	memset(j, 0, sizeof *j);
	j->trial = -1;
}

int wb__sweep_read(wb__sweep_join *j)
{
	char path[WB__CONFIG_KEY_MAX + 1] = "";
	const char *text = wb__setting_str(NULL, "WB_SWEEP_PARAMS");
	const char *sweep = wb__setting_str(NULL, "WB_SWEEP");
	const char *trial = wb__setting_str(NULL, "WB_SWEEP_TRIAL");
	int rc = WB_OK;

	memset(j, 0, sizeof *j);
	j->trial = -1;
	if (!text)
		return WB_OK;
	if (!(j->params = wb__json_parse_exact(text, strlen(text))) || !cJSON_IsObject(j->params)) {
		rc = wb__error(WB_EINVAL, "WB_SWEEP_PARAMS is not a JSON object: %.80s", text);
		goto done;
	}
	if ((rc = walk(j->params, path, sizeof path, 0, leaf_check, NULL)))
		goto done;
	if (sweep) {
		const char *id = strrchr(sweep, '/');
		id = id ? id + 1 : sweep;
		if (!wb__name_valid(id)) {
			rc = wb__error(WB_EINVAL, "WB_SWEEP must be ENTITY/PROJECT/SWEEP: %.200s", sweep);
			goto done;
		}
		snprintf(j->id, sizeof j->id, "%s", id);
	}
	if (trial) {
		char *end;
		errno = 0;
		j->trial = strtoll(trial, &end, 10);
		if (errno || *end || end == trial || j->trial < 0) {
			rc = wb__error(WB_EINVAL, "WB_SWEEP_TRIAL must be a trial number: %.40s", trial);
			goto done;
		}
	}
done:
	if (rc)
		wb__sweep_free(j);
	return rc;
}

int wb__sweep_apply(wb_run *run, const wb__sweep_join *j)
{
	char path[WB__CONFIG_KEY_MAX + 1] = "";

	if (!j->params)
		return WB_OK;
	return walk(j->params, path, sizeof path, 0, leaf_set, run);
}

int wb__sweep_meta(cJSON *meta, const wb__sweep_join *j)
{
	cJSON *o;

	if (!j->params)
		return 0;
	if (!(o = cJSON_AddObjectToObject(meta, "sweep")) || (j->id[0] && !cJSON_AddStringToObject(o, "id", j->id)) ||
	    (j->trial >= 0 && !cJSON_AddItemToObject(o, "trial", wb__json_int(j->trial))))
		return -1;
	return 0;
}
