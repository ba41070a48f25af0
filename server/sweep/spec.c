/*
 * spec.c — the sweep spec: read (JSON or YAML), validated field by field
 * into a wbs__sweep_spec, and written back normalised.
 *
 * The shape is W&B's sweep configuration, so existing sweep files work;
 * wb adds `condition` on a parameter, `lease_seconds` and `reissue`. Both
 * text forms become one cJSON tree first (JSON through the server's strict
 * reader, YAML through yaml.c) and everything after that is shared, so a
 * YAML spec and its JSON twin give the same normalised text.
 *
 * Validation refuses rather than guesses: every member is known, every
 * bound is checked, and every message names the field by its JSON path
 * ("$.parameters.lr.min: must be below max"), because the spec is written
 * by hand and a typo that is silently dropped costs a night of GPU time.
 *
 * The normalised spec has every default filled in and every distribution
 * explicit, so a spec read back from the store never depends on inference
 * again; parameter names are sorted so the text is canonical.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "sweep/spec_int.h"

#define TEXT_MAX WBS__SPEC_TEXT_MAX
#define COMMAND_MAX 256u  /* words of command */
#define INT_EXACT 9007199254740992.0 /* 2^53: beyond it a double skips integers */

int wbs__spec_fail(wbs__spec_ctx *c, const char *jpath, const char *fmt, const char *arg)
{
	char reason[256];

	snprintf(reason, sizeof(reason), fmt, arg ? arg : "");
	snprintf(c->err, c->errlen, "%s: %s", jpath, reason);
	/* names and values from the spec are echoed: keep the message one printable line */
	for (char *q = c->err; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return -1;
}

int wbs__spec_is_real(const cJSON *v)
{
	return cJSON_IsNumber(v) && (v->type & WBS__JSON_REAL);
}

int wbs__spec_is_integer(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) <= INT_EXACT;
}

void wbs__sweep_real_text(double v, char *buf, size_t len)
{
	int prec;

	/* the shortest text that reads back as v */
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".eEnN") && strlen(buf) + 3 <= len)
		strcat(buf, ".0");
}

cJSON *wbs__spec_real_node(double v)
{
	char buf[40];

	wbs__sweep_real_text(v, buf, sizeof(buf));
	return cJSON_CreateRaw(buf);
}

cJSON *wbs__sweep_json_copy(const cJSON *v)
{
	cJSON *out = NULL, *kid;
	const cJSON *e;

	/* an integer past 2^53 is a real in all but spelling: print it as one, so it reads back alike */
	if (wbs__spec_is_real(v) || (cJSON_IsNumber(v) && !wbs__spec_is_integer(v)))
		return wbs__spec_real_node(v->valuedouble);
	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return cJSON_Duplicate(v, 0);
	out = cJSON_IsArray(v) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (!out)
		return NULL;
	cJSON_ArrayForEach(e, v)
	{
		kid = wbs__sweep_json_copy(e);
		if (!kid) {
			cJSON_Delete(out);
			return NULL;
		}
		if (cJSON_IsArray(v))
			cJSON_AddItemToArray(out, kid);
		else
			cJSON_AddItemToObject(out, e->string, kid);
	}
	return out;
}

/* ---- reading JSON with the int/real distinction kept ---- */

/* Advance *i past the next number token of text[0..len) (outside strings);
 * return 1 if it was written as a real. The text passed the strict reader. */
static int next_number(const char *text, size_t len, size_t *i)
{
	int real = 0;

	while (*i < len) {
		char ch = text[*i];
		if (ch == '"') {
			for ((*i)++; *i < len && text[*i] != '"'; (*i)++)
				if (text[*i] == '\\')
					(*i)++;
			(*i)++;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			for (; *i < len && strchr("+-0123456789.eE", text[*i]) && text[*i]; (*i)++)
				if (text[*i] == '.' || text[*i] == 'e' || text[*i] == 'E')
					real = 1;
			return real;
		} else {
			(*i)++;
		}
	}
	return 0;
}

/* cJSON keeps members in document order, so a depth-first walk meets the
 * numbers in the order the text has them. The server's reader keeps an
 * integer of 16 digits or more as a raw node (its exact text, for stored
 * configs); a spec wants numbers alike, so those become numbers again. */
static void mark_reals(cJSON *n, const char *text, size_t len, size_t *i)
{
	cJSON *e;

	if (cJSON_IsRaw(n)) {
		double v = strtod(n->valuestring, NULL);
		next_number(text, len, i);
		cJSON_free(n->valuestring);
		n->valuestring = NULL;
		n->type = cJSON_Number;
		cJSON_SetNumberValue(n, v);
		return;
	}
	if (cJSON_IsNumber(n)) {
		if (next_number(text, len, i))
			n->type |= WBS__JSON_REAL;
		return;
	}
	cJSON_ArrayForEach(e, n) mark_reals(e, text, len, i);
}

static cJSON *json_tree(const char *text, size_t len, char *err, size_t errlen)
{
	cJSON *j = wbs__json_parse(text, len, "spec", err, errlen);
	size_t i = 0;

	if (!j)
		return NULL;
	if (!wbs__json_depth_ok(j, WBS__SWEEP_DEPTH_MAX)) {
		snprintf(err, errlen, "$: nested deeper than %d", WBS__SWEEP_DEPTH_MAX);
		cJSON_Delete(j);
		return NULL;
	}
	mark_reals(j, text, len, &i);
	return j;
}

/* ---- fields ---- */

static int take_string(wbs__spec_ctx *c, const cJSON *v, const char *jpath, int allow_empty)
{
	size_t n;

	if (!cJSON_IsString(v))
		return wbs__spec_fail(c, jpath, "must be a string", NULL);
	n = strlen(v->valuestring);
	if ((!allow_empty && n == 0) || n > TEXT_MAX)
		return wbs__spec_fail(c, jpath, n ? "over 4096 bytes" : "must not be empty", NULL);
	return 0;
}

/* An integer member in [lo, hi], or the default when absent. */
static int take_int(wbs__spec_ctx *c, const cJSON *obj, const char *key, double lo, double hi, double dflt, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char jpath[64], range[96];

	snprintf(jpath, sizeof(jpath), "$.%s", key);
	*out = dflt;
	if (!v)
		return 0;
	if (!wbs__spec_is_integer(v))
		return wbs__spec_fail(c, jpath, "must be an integer", NULL);
	if (v->valuedouble < lo || v->valuedouble > hi) {
		snprintf(range, sizeof(range), "must be %.0f..%.0f", lo, hi);
		return wbs__spec_fail(c, jpath, "%s", range);
	}
	*out = v->valuedouble;
	return 0;
}

int wbs__spec_oom(wbs__spec_ctx *c)
{
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

static const char *const TOP_MEMBERS[] = {"method",	 "metric",  "parameters",    "name",	"description",
					  "program",	 "command", "run_cap",	     "seed",	"lease_seconds",
					  "reissue",	 "early_terminate"};

/* Validate tree j into c->s (norm built as it goes). */
static int parse_tree(wbs__spec_ctx *c, const cJSON *j)
{
	wbs__sweep_spec *s = c->s;
	const cJSON *e, *method = cJSON_GetObjectItemCaseSensitive(j, "method");
	const cJSON *metric = cJSON_GetObjectItemCaseSensitive(j, "metric");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
	cJSON *norm, *pn;
	double run_cap, seed, lease, reissue;
	size_t i, k;

	if (!cJSON_IsObject(j))
		return wbs__spec_fail(c, "$", "a sweep spec must be an object", NULL);
	cJSON_ArrayForEach(e, j)
	{
		for (i = 0; i < sizeof(TOP_MEMBERS) / sizeof(TOP_MEMBERS[0]); i++)
			if (!strcmp(e->string, TOP_MEMBERS[i]))
				break;
		if (i == sizeof(TOP_MEMBERS) / sizeof(TOP_MEMBERS[0])) {
			char jpath[200];
			snprintf(jpath, sizeof(jpath), "$.%.150s", e->string);
			return wbs__spec_fail(c, jpath, "unknown member", NULL);
		}
	}
	norm = s->norm = cJSON_CreateObject();
	if (!norm)
		return wbs__spec_oom(c);
	for (i = 0; i < 3; i++) { /* name, description, program */
		static const char *const K[] = {"name", "description", "program"};
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, K[i]);
		char jpath[32];
		if (!v)
			continue;
		snprintf(jpath, sizeof(jpath), "$.%s", K[i]);
		if (take_string(c, v, jpath, i == 1))
			return -1;
		if (!cJSON_AddStringToObject(norm, K[i], v->valuestring))
			return wbs__spec_oom(c);
	}
	if (!method)
		return wbs__spec_fail(c, "$.method", "required (grid, random or bayes)", NULL);
	if (!cJSON_IsString(method))
		return wbs__spec_fail(c, "$.method", "must be grid, random or bayes", NULL);
	if (!strcmp(method->valuestring, "grid"))
		s->method = WBS__M_GRID;
	else if (!strcmp(method->valuestring, "random"))
		s->method = WBS__M_RANDOM;
	else if (!strcmp(method->valuestring, "bayes"))
		s->method = WBS__M_BAYES;
	else
		return wbs__spec_fail(c, "$.method", "must be grid, random or bayes, not \"%.64s\"", method->valuestring);
	if (!cJSON_AddStringToObject(norm, "method", method->valuestring))
		return wbs__spec_oom(c);
	if (metric) {
		const cJSON *mname = cJSON_GetObjectItemCaseSensitive(metric, "name");
		const cJSON *goal = cJSON_GetObjectItemCaseSensitive(metric, "goal");
		const cJSON *target = cJSON_GetObjectItemCaseSensitive(metric, "target");
		cJSON *mn;
		if (!cJSON_IsObject(metric))
			return wbs__spec_fail(c, "$.metric", "must be an object {\"name\": ..., \"goal\": ...}", NULL);
		cJSON_ArrayForEach(e, metric)
		{
			if (strcmp(e->string, "name") && strcmp(e->string, "goal") && strcmp(e->string, "target")) {
				char jpath[200];
				snprintf(jpath, sizeof(jpath), "$.metric.%.150s", e->string);
				return wbs__spec_fail(c, jpath, "unknown member (a metric takes name, goal, target)", NULL);
			}
		}
		if (!mname)
			return wbs__spec_fail(c, "$.metric.name", "required", NULL);
		if (take_string(c, mname, "$.metric.name", 0))
			return -1;
		if (goal && (!cJSON_IsString(goal) ||
			     (strcmp(goal->valuestring, "minimize") && strcmp(goal->valuestring, "maximize"))))
			return wbs__spec_fail(c, "$.metric.goal", "must be minimize or maximize", NULL);
		if (target && !cJSON_IsNumber(target))
			return wbs__spec_fail(c, "$.metric.target", "must be a number", NULL);
		s->maximize = goal && !strcmp(goal->valuestring, "maximize");
		mn = cJSON_AddObjectToObject(norm, "metric");
		if (!mn || !cJSON_AddStringToObject(mn, "name", mname->valuestring) ||
		    !cJSON_AddStringToObject(mn, "goal", s->maximize ? "maximize" : "minimize"))
			return wbs__spec_oom(c);
		if (target) {
			cJSON *t = wbs__sweep_json_copy(target);
			if (!t)
				return wbs__spec_oom(c);
			cJSON_AddItemToObject(mn, "target", t);
		}
		s->metric = cJSON_GetObjectItemCaseSensitive(mn, "name")->valuestring;
	} else if (s->method == WBS__M_BAYES) {
		return wbs__spec_fail(c, "$.metric", "required by method bayes", NULL);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(j, "command"))) {
		cJSON *cn;
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) > (int)COMMAND_MAX)
			return wbs__spec_fail(c, "$.command", "must be an array of at most 256 strings", NULL);
		cn = cJSON_AddArrayToObject(norm, "command");
		if (!cn)
			return wbs__spec_oom(c);
		k = 0;
		for (const cJSON *w = e->child; w; w = w->next, k++) {
			char jpath[48];
			cJSON *ws;
			snprintf(jpath, sizeof(jpath), "$.command[%zu]", k);
			if (take_string(c, w, jpath, 1))
				return -1;
			ws = cJSON_CreateString(w->valuestring);
			if (!ws)
				return wbs__spec_oom(c);
			cJSON_AddItemToArray(cn, ws);
		}
	}
	if (!params)
		return wbs__spec_fail(c, "$.parameters", "required", NULL);
	pn = cJSON_AddObjectToObject(norm, "parameters");
	if (!pn)
		return wbs__spec_oom(c);
	if (wbs__spec_params(c, params, pn))
		return -1;
	if (take_int(c, j, "run_cap", 1, 1e9, 0, &run_cap) || take_int(c, j, "seed", 0, 4294967295.0, 0, &seed) ||
	    take_int(c, j, "lease_seconds", 2, 3600, 60, &lease) || take_int(c, j, "reissue", 0, 10, 1, &reissue))
		return -1;
	s->cap = (uint64_t)run_cap;
	s->seed = (uint64_t)seed;
	s->lease_seconds = (int)lease;
	s->reissue = (int)reissue;
	if (s->method == WBS__M_GRID) {
		if (wbs__spec_grid(c))
			return -1;
		if (!s->cap || s->grid_n < s->cap)
			s->cap = s->grid_n;
	}
	if ((run_cap > 0 && !cJSON_AddNumberToObject(norm, "run_cap", run_cap)) ||
	    !cJSON_AddNumberToObject(norm, "seed", seed) || !cJSON_AddNumberToObject(norm, "lease_seconds", lease) ||
	    !cJSON_AddNumberToObject(norm, "reissue", reissue))
		return wbs__spec_oom(c);
	if ((e = cJSON_GetObjectItemCaseSensitive(j, "early_terminate"))) {
		cJSON *et = wbs__stop_spec_norm(e, s->metric != NULL, c->err, c->errlen); /* stop.c */
		if (!et)
			return -1;
		cJSON_AddItemToObject(norm, "early_terminate", et);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(norm, "name")))
		s->name = e->valuestring;
	return 0;
}

int wbs__sweep_spec_parse(const char *text, size_t len, wbs__sweep_spec **out, char *err, size_t errlen)
{
	wbs__spec_ctx c = {0};
	cJSON *j = NULL;
	size_t i, k;
	int rc = -1;

	*out = NULL;
	if (len > WBS__SWEEP_SPEC_MAX) {
		snprintf(err, errlen, "$: spec over %u bytes", WBS__SWEEP_SPEC_MAX);
		return -1;
	}
	for (i = 0; i < len && isspace((unsigned char)text[i]); i++)
		;
	j = i < len && text[i] == '{' ? json_tree(text, len, err, errlen) : wbs__sweep_yaml_tree(text, len, err, errlen);
	if (!j)
		return -1;
	c.s = calloc(1, sizeof(*c.s));
	c.err = err;
	c.errlen = errlen;
	if (!c.s) {
		wbs__spec_oom(&c);
		goto done;
	}
	if (parse_tree(&c, j))
		goto done;
	*out = c.s;
	c.s = NULL;
	rc = 0;
done:
	if (c.conds) {
		size_t n = c.s ? c.s->np : (*out)->np;
		for (i = 0; i < n; i++) {
			for (k = 0; k < c.nconds[i]; k++)
				free(c.conds[i][k].jpath);
			free(c.conds[i]);
		}
	}
	free(c.conds);
	free(c.nconds);
	wbs__sweep_spec_free(c.s);
	cJSON_Delete(j);
	return rc;
}

void wbs__sweep_spec_free(wbs__sweep_spec *s)
{
	size_t i, k;

	if (!s)
		return;
	for (i = 0; i < s->np; i++) {
		wbs__sweep_param *p = &s->p[i];
		free(p->path);
		if (p->keys)
			free(p->keys[0]);
		free(p->keys);
		for (k = 0; p->vtext && k < p->nvalues; k++)
			free(p->vtext[k]);
		free(p->vtext);
		cJSON_Delete(p->values);
		free(p->probs);
		for (k = 0; k < p->nconds; k++)
			free(p->conds[k].ok);
		free(p->conds);
	}
	free(s->p);
	cJSON_Delete(s->norm);
	free(s);
}

char *wbs__sweep_spec_json(const wbs__sweep_spec *s)
{
	return cJSON_PrintUnformatted(s->norm);
}

const char *wbs__sweep_spec_method(const wbs__sweep_spec *s)
{
	return s->method == WBS__M_GRID ? "grid" : s->method == WBS__M_RANDOM ? "random" : "bayes";
}

const char *wbs__sweep_spec_name(const wbs__sweep_spec *s)
{
	return s->name;
}

const char *wbs__sweep_spec_metric(const wbs__sweep_spec *s)
{
	return s->metric;
}

int wbs__sweep_spec_maximize(const wbs__sweep_spec *s)
{
	return s->maximize;
}

uint64_t wbs__sweep_spec_cap(const wbs__sweep_spec *s)
{
	return s->cap;
}

int wbs__sweep_spec_lease_seconds(const wbs__sweep_spec *s)
{
	return s->lease_seconds;
}

int wbs__sweep_spec_reissue(const wbs__sweep_spec *s)
{
	return s->reissue;
}
