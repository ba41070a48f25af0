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
#include "sweep/sweep_int.h"

#define KEY_MAX 128u      /* bytes of one parameter name */
#define TEXT_MAX 4096u    /* name, description, program, each command word */
#define COMMAND_MAX 256u  /* words of command */
#define INT_EXACT 9007199254740992.0 /* 2^53: beyond it a double skips integers */

static const char *const DIST_NAMES[WBS__D_COUNT] = {
	"constant",	    "categorical",	     "int_uniform",	"uniform",
	"q_uniform",	    "log_uniform",	     "log_uniform_values", "q_log_uniform",
	"q_log_uniform_values", "inv_log_uniform",  "inv_log_uniform_values", "normal",
	"q_normal",	    "log_normal",	     "q_log_normal",
};

/* Members a leaf parameter may hold, and which each distribution needs / takes. */
enum { F_VALUE = 1, F_VALUES = 2, F_PROBS = 4, F_MIN = 8, F_MAX = 16, F_Q = 32, F_MU = 64, F_SIGMA = 128 };
static const struct {
	unsigned need, take;
} DIST_FIELDS[WBS__D_COUNT] = {
	[WBS__D_CONSTANT] = {F_VALUE, F_VALUE},
	[WBS__D_CATEGORICAL] = {F_VALUES, F_VALUES | F_PROBS},
	[WBS__D_INT_UNIFORM] = {F_MIN | F_MAX, F_MIN | F_MAX},
	[WBS__D_UNIFORM] = {F_MIN | F_MAX, F_MIN | F_MAX},
	[WBS__D_Q_UNIFORM] = {F_MIN | F_MAX, F_MIN | F_MAX | F_Q},
	[WBS__D_LOG_UNIFORM] = {F_MIN | F_MAX, F_MIN | F_MAX},
	[WBS__D_LOG_UNIFORM_VALUES] = {F_MIN | F_MAX, F_MIN | F_MAX},
	[WBS__D_Q_LOG_UNIFORM] = {F_MIN | F_MAX, F_MIN | F_MAX | F_Q},
	[WBS__D_Q_LOG_UNIFORM_VALUES] = {F_MIN | F_MAX, F_MIN | F_MAX | F_Q},
	[WBS__D_INV_LOG_UNIFORM] = {F_MIN | F_MAX, F_MIN | F_MAX},
	[WBS__D_INV_LOG_UNIFORM_VALUES] = {F_MIN | F_MAX, F_MIN | F_MAX},
	[WBS__D_NORMAL] = {0, F_MU | F_SIGMA},
	[WBS__D_Q_NORMAL] = {0, F_MU | F_SIGMA | F_Q},
	[WBS__D_LOG_NORMAL] = {0, F_MU | F_SIGMA},
	[WBS__D_Q_LOG_NORMAL] = {0, F_MU | F_SIGMA | F_Q},
};
static const struct {
	const char *name;
	unsigned bit;
} LEAF_MEMBERS[] = {
	{"value", F_VALUE}, {"values", F_VALUES}, {"probabilities", F_PROBS}, {"min", F_MIN},
	{"max", F_MAX},	    {"q", F_Q},		  {"mu", F_MU},		      {"sigma", F_SIGMA},
};

/* A condition as written, resolved once every parameter is known. */
typedef struct pending_cond {
	const cJSON *node; /* the "condition" object in the input tree */
	char *jpath;       /* its JSON path, for messages */
} pending_cond;

typedef struct parse_ctx {
	wbs__sweep_spec *s;
	size_t cap_params;
	pending_cond **conds; /* per parameter: its conditions (own first) */
	size_t *nconds;
	char *err;
	size_t errlen;
} parse_ctx;

static int fail(parse_ctx *c, const char *jpath, const char *fmt, const char *arg)
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

static int is_real(const cJSON *v)
{
	return cJSON_IsNumber(v) && (v->type & WBS__JSON_REAL);
}

static int is_integer(const cJSON *v)
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

static cJSON *real_node(double v)
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
	if (is_real(v) || (cJSON_IsNumber(v) && !is_integer(v)))
		return real_node(v->valuedouble);
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

static int take_string(parse_ctx *c, const cJSON *v, const char *jpath, int allow_empty)
{
	size_t n;

	if (!cJSON_IsString(v))
		return fail(c, jpath, "must be a string", NULL);
	n = strlen(v->valuestring);
	if ((!allow_empty && n == 0) || n > TEXT_MAX)
		return fail(c, jpath, n ? "over 4096 bytes" : "must not be empty", NULL);
	return 0;
}

/* An integer member in [lo, hi], or the default when absent. */
static int take_int(parse_ctx *c, const cJSON *obj, const char *key, double lo, double hi, double dflt, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char jpath[64], range[96];

	snprintf(jpath, sizeof(jpath), "$.%s", key);
	*out = dflt;
	if (!v)
		return 0;
	if (!is_integer(v))
		return fail(c, jpath, "must be an integer", NULL);
	if (v->valuedouble < lo || v->valuedouble > hi) {
		snprintf(range, sizeof(range), "must be %.0f..%.0f", lo, hi);
		return fail(c, jpath, "%s", range);
	}
	*out = v->valuedouble;
	return 0;
}

static int add_param(parse_ctx *c, wbs__sweep_param **out)
{
	wbs__sweep_spec *s = c->s;

	if (s->np == WBS__SWEEP_PARAMS_MAX)
		return -1;
	if (s->np == c->cap_params) {
		size_t cap = c->cap_params ? c->cap_params * 2 : 16;
		wbs__sweep_param *p = realloc(s->p, cap * sizeof(*p));
		pending_cond **pc;
		size_t *pn;
		if (!p)
			return -2;
		s->p = p;
		pc = realloc(c->conds, cap * sizeof(*pc));
		if (!pc)
			return -2;
		c->conds = pc;
		pn = realloc(c->nconds, cap * sizeof(*pn));
		if (!pn)
			return -2;
		c->nconds = pn;
		c->cap_params = cap;
	}
	*out = &s->p[s->np];
	memset(*out, 0, sizeof(**out));
	c->conds[s->np] = NULL;
	c->nconds[s->np] = 0;
	s->np++;
	return 0;
}

static int oom(parse_ctx *c)
{
	snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

/* A number member of a leaf into *out and, normalised, into norm. */
static int leaf_number(parse_ctx *c, const cJSON *obj, const char *key, const char *jpath, double dflt, int as_int,
		       cJSON *norm, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char mpath[1100];
	cJSON *n;

	snprintf(mpath, sizeof(mpath), "%s.%s", jpath, key);
	*out = dflt;
	if (v) {
		if (!cJSON_IsNumber(v))
			return fail(c, mpath, "must be a number", NULL);
		if (as_int && !is_integer(v))
			return fail(c, mpath, "must be an integer", NULL);
		*out = v->valuedouble;
	}
	n = as_int ? cJSON_CreateNumber(*out) : real_node(*out);
	if (!n)
		return oom(c);
	cJSON_AddItemToObject(norm, key, n);
	return 0;
}

/* One leaf parameter obj at jpath, named path (dotted), into a new
 * wbs__sweep_param and into norm (its normalised object). conds[0..nc)
 * are its groups' conditions. */
static int parse_leaf(parse_ctx *c, const cJSON *obj, const char *jpath, const char *path, pending_cond *gconds,
		      size_t ngconds, cJSON *norm)
{
	wbs__sweep_param *p = NULL;
	const cJSON *e, *dist = cJSON_GetObjectItemCaseSensitive(obj, "distribution");
	const cJSON *mn = cJSON_GetObjectItemCaseSensitive(obj, "min"), *mx = cJSON_GetObjectItemCaseSensitive(obj, "max");
	const cJSON *cond = cJSON_GetObjectItemCaseSensitive(obj, "condition");
	unsigned have = 0;
	char mpath[1100];
	int d = -1, rc;
	size_t i, k;

	cJSON_ArrayForEach(e, obj)
	{
		int known = !strcmp(e->string, "distribution") || !strcmp(e->string, "condition");
		for (i = 0; i < sizeof(LEAF_MEMBERS) / sizeof(LEAF_MEMBERS[0]); i++)
			if (!strcmp(e->string, LEAF_MEMBERS[i].name)) {
				have |= LEAF_MEMBERS[i].bit;
				known = 1;
			}
		if (!known) {
			snprintf(mpath, sizeof(mpath), "%s.%s", jpath, e->string);
			return fail(c, mpath, "unknown member (a parameter takes distribution, value, values, "
					      "probabilities, min, max, q, mu, sigma, condition)",
				    NULL);
		}
	}
	if (dist) {
		snprintf(mpath, sizeof(mpath), "%s.distribution", jpath);
		if (!cJSON_IsString(dist))
			return fail(c, mpath, "must be a string", NULL);
		for (i = 0; i < WBS__D_COUNT; i++)
			if (!strcmp(dist->valuestring, DIST_NAMES[i]))
				d = (int)i;
		if (d < 0)
			return fail(c, mpath, "unknown distribution \"%.64s\"", dist->valuestring);
	} else if (have & F_VALUES) { /* W&B's inference */
		d = WBS__D_CATEGORICAL;
	} else if (have & F_VALUE) {
		d = WBS__D_CONSTANT;
	} else if ((have & F_MIN) && (have & F_MAX)) {
		d = (is_integer(mn) && !is_real(mn) && is_integer(mx) && !is_real(mx)) ? WBS__D_INT_UNIFORM
											  : WBS__D_UNIFORM;
	} else {
		return fail(c, jpath, "needs values, value, min and max, or a distribution", NULL);
	}
	for (i = 0; i < sizeof(LEAF_MEMBERS) / sizeof(LEAF_MEMBERS[0]); i++) {
		unsigned bit = LEAF_MEMBERS[i].bit;
		snprintf(mpath, sizeof(mpath), "%s.%s", jpath, LEAF_MEMBERS[i].name);
		if ((have & bit) && !(DIST_FIELDS[d].take & bit))
			return fail(c, mpath, "not used by distribution %s", DIST_NAMES[d]);
		if (!(have & bit) && (DIST_FIELDS[d].need & bit))
			return fail(c, mpath, "required by distribution %s", DIST_NAMES[d]);
	}
	rc = add_param(c, &p);
	if (rc == -1)
		return fail(c, jpath, "more than 256 parameters", NULL);
	if (rc)
		return oom(c);
	p->dist = d;
	p->path = strdup(path);
	p->pathlen = strlen(path);
	if (!p->path || !cJSON_AddStringToObject(norm, "distribution", DIST_NAMES[d]))
		return oom(c);

	if (d == WBS__D_CONSTANT || d == WBS__D_CATEGORICAL) {
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(obj, d == WBS__D_CONSTANT ? "value" : "values");
		cJSON *copy;
		snprintf(mpath, sizeof(mpath), "%s.%s", jpath, d == WBS__D_CONSTANT ? "value" : "values");
		if (d == WBS__D_CATEGORICAL) {
			if (!cJSON_IsArray(vals) || cJSON_GetArraySize(vals) == 0)
				return fail(c, mpath, "must be a non-empty array", NULL);
			if (cJSON_GetArraySize(vals) > (int)WBS__SWEEP_VALUES_MAX)
				return fail(c, mpath, "more than 10000 values", NULL);
			p->values = wbs__sweep_json_copy(vals);
		} else {
			p->values = cJSON_CreateArray();
			copy = wbs__sweep_json_copy(vals);
			if (!p->values || !copy) {
				cJSON_Delete(copy);
				return oom(c);
			}
			cJSON_AddItemToArray(p->values, copy);
		}
		if (!p->values)
			return oom(c);
		p->nvalues = (size_t)cJSON_GetArraySize(p->values);
		p->vtext = calloc(p->nvalues, sizeof(char *));
		if (!p->vtext)
			return oom(c);
		k = 0;
		cJSON_ArrayForEach(e, p->values)
		{
			if (!(p->vtext[k++] = cJSON_PrintUnformatted(e)))
				return oom(c);
		}
		copy = d == WBS__D_CONSTANT ? wbs__sweep_json_copy(cJSON_GetArrayItem(p->values, 0))
					    : wbs__sweep_json_copy(p->values);
		if (!copy)
			return oom(c);
		cJSON_AddItemToObject(norm, d == WBS__D_CONSTANT ? "value" : "values", copy);
		if (have & F_PROBS) {
			const cJSON *pr = cJSON_GetObjectItemCaseSensitive(obj, "probabilities");
			double sum = 0;
			cJSON *np;
			snprintf(mpath, sizeof(mpath), "%s.probabilities", jpath);
			if (!cJSON_IsArray(pr) || (size_t)cJSON_GetArraySize(pr) != p->nvalues)
				return fail(c, mpath, "must be an array as long as values", NULL);
			p->probs = malloc(p->nvalues * sizeof(double));
			np = cJSON_CreateArray();
			if (!p->probs || !np) {
				cJSON_Delete(np);
				return oom(c);
			}
			cJSON_AddItemToObject(norm, "probabilities", np);
			k = 0;
			cJSON_ArrayForEach(e, pr)
			{
				cJSON *r;
				if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1)
					return fail(c, mpath, "must hold numbers in 0..1", NULL);
				p->probs[k++] = e->valuedouble;
				sum += e->valuedouble;
				r = real_node(e->valuedouble);
				if (!r)
					return oom(c);
				cJSON_AddItemToArray(np, r);
			}
			if (fabs(sum - 1.0) > 1e-6)
				return fail(c, mpath, "must sum to 1", NULL);
			for (k = 0; k < p->nvalues; k++)
				p->probs[k] /= sum;
		}
	} else if (DIST_FIELDS[d].need & F_MIN) {
		int as_int = d == WBS__D_INT_UNIFORM;
		if (leaf_number(c, obj, "min", jpath, 0, as_int, norm, &p->min) ||
		    leaf_number(c, obj, "max", jpath, 0, as_int, norm, &p->max))
			return -1;
		snprintf(mpath, sizeof(mpath), "%s.min", jpath);
		if (!(p->min < p->max))
			return fail(c, mpath, "must be below max", NULL);
		if ((d == WBS__D_LOG_UNIFORM_VALUES || d == WBS__D_Q_LOG_UNIFORM_VALUES ||
		     d == WBS__D_INV_LOG_UNIFORM_VALUES) &&
		    !(p->min > 0))
			return fail(c, mpath, "must be above 0 (the values of a log distribution)", NULL);
		snprintf(mpath, sizeof(mpath), "%s.max", jpath);
		if ((d == WBS__D_LOG_UNIFORM || d == WBS__D_Q_LOG_UNIFORM || d == WBS__D_INV_LOG_UNIFORM) &&
		    (p->max > 700 || p->min < -700))
			return fail(c, mpath, "min and max are exponents (e^min..e^max) and must be within -700..700",
				    NULL);
		p->ints = as_int;
	} else {
		if (leaf_number(c, obj, "mu", jpath, 0, 0, norm, &p->mu) ||
		    leaf_number(c, obj, "sigma", jpath, 1, 0, norm, &p->sigma))
			return -1;
		snprintf(mpath, sizeof(mpath), "%s.sigma", jpath);
		if (!(p->sigma > 0))
			return fail(c, mpath, "must be above 0", NULL);
		snprintf(mpath, sizeof(mpath), "%s.mu", jpath);
		if ((d == WBS__D_LOG_NORMAL || d == WBS__D_Q_LOG_NORMAL) && fabs(p->mu) + 10 * p->sigma > 700)
			return fail(c, mpath, "e^(mu +- 10 sigma) must stay finite", NULL);
	}
	if (DIST_FIELDS[d].take & F_Q) {
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, "q");
		int qint = !q || (is_integer(q) && !is_real(q));
		if (leaf_number(c, obj, "q", jpath, 1, qint, norm, &p->q))
			return -1;
		snprintf(mpath, sizeof(mpath), "%s.q", jpath);
		if (!(p->q > 0))
			return fail(c, mpath, "must be above 0", NULL);
		p->ints = qint; /* as W&B: an integer q gives integers */
	}

	/* conditions: the groups' and its own, resolved later */
	k = ngconds + (cond ? 1 : 0);
	if (k) {
		pending_cond *pc = calloc(k, sizeof(*pc));
		if (!pc)
			return oom(c);
		c->conds[c->s->np - 1] = pc;
		c->nconds[c->s->np - 1] = k;
		i = 0;
		if (cond) {
			snprintf(mpath, sizeof(mpath), "%s.condition", jpath);
			pc[i].node = cond;
			pc[i].jpath = strdup(mpath);
			if (!pc[i++].jpath)
				return oom(c);
		}
		for (size_t g = 0; g < ngconds; g++, i++) {
			pc[i].node = gconds[g].node;
			pc[i].jpath = strdup(gconds[g].jpath);
			if (!pc[i].jpath)
				return oom(c);
		}
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The parameters object obj at jpath (prefix: the dotted name of its group,
 * "" at the top), into norm (an object). */
static int parse_params(parse_ctx *c, const cJSON *obj, const char *jpath, const char *prefix, pending_cond *gconds,
			size_t ngconds, cJSON *norm, int depth)
{
	const char **keys = NULL;
	const cJSON *e;
	size_t n = 0, i;
	int rc = -1;

	if (!cJSON_IsObject(obj) || !obj->child)
		return fail(c, jpath, "must be a non-empty object", NULL);
	if (depth > 8)
		return fail(c, jpath, "parameter groups nested deeper than 8", NULL);
	keys = calloc((size_t)cJSON_GetArraySize(obj), sizeof(*keys));
	if (!keys)
		return oom(c);
	cJSON_ArrayForEach(e, obj) keys[n++] = e->string;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
		const cJSON *sub = cJSON_GetObjectItemCaseSensitive(v, "parameters");
		char kpath[1100], name[1100];
		cJSON *kn;
		size_t kl = strlen(keys[i]);

		snprintf(kpath, sizeof(kpath), "%s.%s", jpath, keys[i]);
		if (kl == 0 || kl > KEY_MAX || strchr(keys[i], '.')) {
			fail(c, kpath, "a parameter name is 1..128 bytes without a dot (nest with parameters)", NULL);
			goto done;
		}
		if (!wbs__text_valid(keys[i], kl, 0)) {
			fail(c, kpath, "a parameter name must not hold control characters", NULL);
			goto done;
		}
		if (strlen(prefix) + kl + 2 > sizeof(name) || strlen(kpath) + 40 > sizeof(kpath)) {
			fail(c, jpath, "parameter names too long", NULL);
			goto done;
		}
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", keys[i]);
		if (!cJSON_IsObject(v)) {
			fail(c, kpath, "a parameter must be an object", NULL);
			goto done;
		}
		kn = cJSON_AddObjectToObject(norm, keys[i]);
		if (!kn) {
			oom(c);
			goto done;
		}
		if (sub) {
			const cJSON *m, *cond = cJSON_GetObjectItemCaseSensitive(v, "condition");
			pending_cond *all = NULL;
			size_t na = ngconds + (cond ? 1 : 0);
			char spath[1100];
			cJSON_ArrayForEach(m, v)
			{
				if (strcmp(m->string, "parameters") && strcmp(m->string, "condition")) {
					snprintf(spath, sizeof(spath), "%s.%s", kpath, m->string);
					fail(c, spath, "unknown member (a group takes parameters and condition)", NULL);
					goto done;
				}
			}
			snprintf(spath, sizeof(spath), "%s.condition", kpath);
			if (na) {
				all = calloc(na, sizeof(*all));
				if (!all) {
					oom(c);
					goto done;
				}
				if (ngconds)
					memcpy(all, gconds, ngconds * sizeof(*all));
				if (cond) {
					all[ngconds].node = cond;
					all[ngconds].jpath = spath;
				}
			}
			{
				char ppath[1100];
				cJSON *pn = cJSON_AddObjectToObject(kn, "parameters");
				snprintf(ppath, sizeof(ppath), "%s.parameters", kpath);
				rc = pn ? parse_params(c, sub, ppath, name, all, na, pn, depth + 1) : oom(c);
			}
			if (rc == 0 && cond) {
				cJSON *cc = wbs__sweep_json_copy(cond);
				if (!cc)
					rc = oom(c);
				else
					cJSON_AddItemToObject(kn, "condition", cc);
			}
			free(all);
			if (rc)
				goto done;
			rc = -1;
		} else if (parse_leaf(c, v, kpath, name, gconds, ngconds, kn)) {
			goto done;
		} else if (cJSON_GetObjectItemCaseSensitive(v, "condition")) {
			cJSON *cc = wbs__sweep_json_copy(cJSON_GetObjectItemCaseSensitive(v, "condition"));
			if (!cc) {
				oom(c);
				goto done;
			}
			cJSON_AddItemToObject(kn, "condition", cc);
		}
	}
	rc = 0;
done:
	free(keys);
	return rc;
}

/* Resolve condition pc of parameter i into a wbs__sweep_cond. */
static int resolve_cond(parse_ctx *c, size_t i, const pending_cond *pc, wbs__sweep_cond *out)
{
	const wbs__sweep_spec *s = c->s;
	const cJSON *node = pc->node, *e;
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(node, "parameter");
	const cJSON *eq = cJSON_GetObjectItemCaseSensitive(node, "equals");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(node, "in");
	char mpath[1200];
	size_t r, k;

	if (!cJSON_IsObject(node))
		return fail(c, pc->jpath, "must be an object {\"parameter\": name, \"equals\": value} or "
					  "{\"parameter\": name, \"in\": [values]}",
			    NULL);
	cJSON_ArrayForEach(e, node)
	{
		if (strcmp(e->string, "parameter") && strcmp(e->string, "equals") && strcmp(e->string, "in")) {
			snprintf(mpath, sizeof(mpath), "%s.%s", pc->jpath, e->string);
			return fail(c, mpath, "unknown member (a condition takes parameter, and equals or in)", NULL);
		}
	}
	snprintf(mpath, sizeof(mpath), "%s.parameter", pc->jpath);
	if (!cJSON_IsString(ref))
		return fail(c, mpath, "must be a parameter's dotted name", NULL);
	for (r = 0; r < s->np; r++)
		if (!strcmp(s->p[r].path, ref->valuestring))
			break;
	if (r == s->np)
		return fail(c, mpath, "no parameter \"%.128s\"", ref->valuestring);
	if (r == i)
		return fail(c, mpath, "a parameter cannot depend on itself", NULL);
	if (s->p[r].dist != WBS__D_CATEGORICAL && s->p[r].dist != WBS__D_CONSTANT)
		return fail(c, mpath, "must name a parameter with values or value", NULL);
	if (!!eq == !!in)
		return fail(c, pc->jpath, "needs one of equals and in", NULL);
	if (in && (!cJSON_IsArray(in) || !in->child)) {
		snprintf(mpath, sizeof(mpath), "%s.in", pc->jpath);
		return fail(c, mpath, "must be a non-empty array", NULL);
	}
	out->ref = r;
	out->ok = calloc(s->p[r].nvalues, 1);
	if (!out->ok)
		return oom(c);
	for (e = eq ? eq : in->child; e; e = eq ? NULL : e->next) {
		const cJSON *v;
		int found = 0;
		k = 0;
		cJSON_ArrayForEach(v, s->p[r].values)
		{
			if (cJSON_Compare(v, e, 1)) {
				out->ok[k] = 1;
				found = 1;
			}
			k++;
		}
		if (!found) {
			snprintf(mpath, sizeof(mpath), "%s.%s", pc->jpath, eq ? "equals" : "in");
			return fail(c, mpath, "not one of the values of %.128s", ref->valuestring);
		}
	}
	return 0;
}

/* Order the parameters so that each comes after those its conditions name
 * (sorted by name otherwise); refuse a cycle. */
static int order_params(parse_ctx *c)
{
	wbs__sweep_spec *s = c->s;
	size_t n = s->np, placed = 0, i, k;
	size_t *newidx = NULL, *order = NULL;
	unsigned char *done = NULL;
	wbs__sweep_param *np = NULL;
	int rc = -1;

	newidx = malloc(n * sizeof(*newidx));
	order = malloc(n * sizeof(*order));
	done = calloc(n, 1);
	np = malloc(n * sizeof(*np));
	if (!newidx || !order || !done || !np) {
		oom(c);
		goto done;
	}
	while (placed < n) {
		int progress = 0;
		for (i = 0; i < n; i++) {
			int ready = !done[i];
			for (k = 0; ready && k < s->p[i].nconds; k++)
				ready = done[s->p[i].conds[k].ref];
			if (!ready)
				continue;
			done[i] = 1;
			newidx[i] = placed;
			order[placed++] = i;
			progress = 1;
			break; /* restart: keeps name order among the ready ones */
		}
		if (!progress) {
			for (i = 0; i < n && done[i]; i++)
				;
			fail(c, "$.parameters", "the conditions of %.128s form a cycle", s->p[i].path);
			goto done;
		}
	}
	for (i = 0; i < n; i++) {
		np[i] = s->p[order[i]];
		for (k = 0; k < np[i].nconds; k++)
			np[i].conds[k].ref = newidx[np[i].conds[k].ref];
	}
	free(s->p);
	s->p = np;
	np = NULL;
	rc = 0;
done:
	free(newidx);
	free(order);
	free(done);
	free(np);
	return rc;
}

static int split_keys(wbs__sweep_param *p)
{
	size_t n = 1, i = 0;
	char *q, *copy;

	for (q = p->path; *q; q++)
		n += *q == '.';
	p->keys = calloc(n + 1, sizeof(char *)); /* keys[0] owns the copy */
	copy = strdup(p->path);
	if (!p->keys || !copy) {
		free(copy);
		return -1;
	}
	p->keys[i++] = copy;
	for (q = copy; *q; q++)
		if (*q == '.') {
			*q = '\0';
			p->keys[i++] = q + 1;
		}
	p->nkeys = n;
	return 0;
}

/* Grid points, counted by walking the tree of choices (a parameter whose
 * condition fails is one choice: absent); stops past limit. */
static uint64_t grid_count(const wbs__sweep_spec *s, size_t i, wbs__sweep_point *pt, uint64_t limit)
{
	uint64_t total = 0;
	size_t k, nv;

	if (i == s->np)
		return 1;
	if (!wbs__sweep_cond_holds(s, i, pt)) {
		pt->present[i] = 0;
		return grid_count(s, i + 1, pt, limit);
	}
	pt->present[i] = 1;
	nv = s->p[i].dist == WBS__D_INT_UNIFORM ? (size_t)(s->p[i].max - s->p[i].min + 1) : s->p[i].nvalues;
	/* without conditions downstream, every choice gives the same count */
	for (k = 0; k < nv && total <= limit; k++) {
		pt->x[i] = (double)k;
		total += grid_count(s, i + 1, pt, limit);
	}
	return total;
}

static int check_grid(parse_ctx *c)
{
	wbs__sweep_spec *s = c->s;
	wbs__sweep_point pt = {0};
	double product = 1;
	size_t i;
	char msg[160];
	int rc = -1;

	for (i = 0; i < s->np; i++) {
		const wbs__sweep_param *p = &s->p[i];
		char jpath[1100];
		if (p->dist == WBS__D_CONSTANT || p->dist == WBS__D_CATEGORICAL) {
			product *= (double)p->nvalues;
			continue;
		}
		if (p->dist == WBS__D_INT_UNIFORM) {
			product *= p->max - p->min + 1;
			continue;
		}
		snprintf(jpath, sizeof(jpath), "$.parameters.%s", p->path);
		/* dotted name -> JSON path of the group members */
		{
			char out[1400];
			size_t o = 0;
			for (const char *q = jpath; *q && o + 13 < sizeof(out); q++) {
				if (*q == '.' && q > jpath + strlen("$.parameters")) {
					memcpy(out + o, ".parameters.", 12);
					o += 12;
				} else {
					out[o++] = *q;
				}
			}
			out[o] = '\0';
			return fail(c, out, "grid needs values, value or int_uniform (a continuous distribution has no grid)",
				    NULL);
		}
	}
	/* the product bounds the count; walk the choices only when it might fit */
	if (product > 1e12) {
		snprintf(msg, sizeof(msg), "grid of %.0f points is over the limit of %u", product, WBS__SWEEP_GRID_MAX);
		return fail(c, "$.parameters", "%s", msg);
	}
	pt.present = calloc(s->np ? s->np : 1, 1);
	pt.x = calloc(s->np ? s->np : 1, sizeof(double));
	if (!pt.present || !pt.x) {
		oom(c);
		goto done;
	}
	s->grid_n = grid_count(s, 0, &pt, WBS__SWEEP_GRID_MAX);
	if (s->grid_n > WBS__SWEEP_GRID_MAX) {
		int conds = 0;
		for (i = 0; i < s->np; i++)
			conds |= s->p[i].nconds > 0;
		if (!conds)
			snprintf(msg, sizeof(msg), "grid of %.0f points is over the limit of %u", product,
				 WBS__SWEEP_GRID_MAX);
		else /* conditions make some choices absent: the walk stopped past the limit */
			snprintf(msg, sizeof(msg), "grid of over %u points (%.0f without the conditions)",
				 WBS__SWEEP_GRID_MAX, product);
		fail(c, "$.parameters", "%s", msg);
		goto done;
	}
	rc = 0;
done:
	free(pt.present);
	free(pt.x);
	return rc;
}

static const char *const TOP_MEMBERS[] = {"method",	 "metric",  "parameters",    "name",	"description",
					  "program",	 "command", "run_cap",	     "seed",	"lease_seconds",
					  "reissue",	 "early_terminate"};

/* Validate tree j into c->s (norm built as it goes). */
static int parse_tree(parse_ctx *c, const cJSON *j)
{
	wbs__sweep_spec *s = c->s;
	const cJSON *e, *method = cJSON_GetObjectItemCaseSensitive(j, "method");
	const cJSON *metric = cJSON_GetObjectItemCaseSensitive(j, "metric");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
	cJSON *norm, *pn;
	double run_cap, seed, lease, reissue;
	size_t i, k;

	if (!cJSON_IsObject(j))
		return fail(c, "$", "a sweep spec must be an object", NULL);
	cJSON_ArrayForEach(e, j)
	{
		for (i = 0; i < sizeof(TOP_MEMBERS) / sizeof(TOP_MEMBERS[0]); i++)
			if (!strcmp(e->string, TOP_MEMBERS[i]))
				break;
		if (i == sizeof(TOP_MEMBERS) / sizeof(TOP_MEMBERS[0])) {
			char jpath[200];
			snprintf(jpath, sizeof(jpath), "$.%.150s", e->string);
			return fail(c, jpath, "unknown member", NULL);
		}
	}
	norm = s->norm = cJSON_CreateObject();
	if (!norm)
		return oom(c);
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
			return oom(c);
	}
	if (!method)
		return fail(c, "$.method", "required (grid, random or bayes)", NULL);
	if (!cJSON_IsString(method))
		return fail(c, "$.method", "must be grid, random or bayes", NULL);
	if (!strcmp(method->valuestring, "grid"))
		s->method = WBS__M_GRID;
	else if (!strcmp(method->valuestring, "random"))
		s->method = WBS__M_RANDOM;
	else if (!strcmp(method->valuestring, "bayes"))
		s->method = WBS__M_BAYES;
	else
		return fail(c, "$.method", "must be grid, random or bayes, not \"%.64s\"", method->valuestring);
	if (!cJSON_AddStringToObject(norm, "method", method->valuestring))
		return oom(c);
	if (metric) {
		const cJSON *mname = cJSON_GetObjectItemCaseSensitive(metric, "name");
		const cJSON *goal = cJSON_GetObjectItemCaseSensitive(metric, "goal");
		const cJSON *target = cJSON_GetObjectItemCaseSensitive(metric, "target");
		cJSON *mn;
		if (!cJSON_IsObject(metric))
			return fail(c, "$.metric", "must be an object {\"name\": ..., \"goal\": ...}", NULL);
		cJSON_ArrayForEach(e, metric)
		{
			if (strcmp(e->string, "name") && strcmp(e->string, "goal") && strcmp(e->string, "target")) {
				char jpath[200];
				snprintf(jpath, sizeof(jpath), "$.metric.%.150s", e->string);
				return fail(c, jpath, "unknown member (a metric takes name, goal, target)", NULL);
			}
		}
		if (!mname)
			return fail(c, "$.metric.name", "required", NULL);
		if (take_string(c, mname, "$.metric.name", 0))
			return -1;
		if (goal && (!cJSON_IsString(goal) ||
			     (strcmp(goal->valuestring, "minimize") && strcmp(goal->valuestring, "maximize"))))
			return fail(c, "$.metric.goal", "must be minimize or maximize", NULL);
		if (target && !cJSON_IsNumber(target))
			return fail(c, "$.metric.target", "must be a number", NULL);
		s->maximize = goal && !strcmp(goal->valuestring, "maximize");
		mn = cJSON_AddObjectToObject(norm, "metric");
		if (!mn || !cJSON_AddStringToObject(mn, "name", mname->valuestring) ||
		    !cJSON_AddStringToObject(mn, "goal", s->maximize ? "maximize" : "minimize"))
			return oom(c);
		if (target) {
			cJSON *t = wbs__sweep_json_copy(target);
			if (!t)
				return oom(c);
			cJSON_AddItemToObject(mn, "target", t);
		}
		s->metric = cJSON_GetObjectItemCaseSensitive(mn, "name")->valuestring;
	} else if (s->method == WBS__M_BAYES) {
		return fail(c, "$.metric", "required by method bayes", NULL);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(j, "command"))) {
		cJSON *cn;
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) > (int)COMMAND_MAX)
			return fail(c, "$.command", "must be an array of at most 256 strings", NULL);
		cn = cJSON_AddArrayToObject(norm, "command");
		if (!cn)
			return oom(c);
		k = 0;
		for (const cJSON *w = e->child; w; w = w->next, k++) {
			char jpath[48];
			cJSON *ws;
			snprintf(jpath, sizeof(jpath), "$.command[%zu]", k);
			if (take_string(c, w, jpath, 1))
				return -1;
			ws = cJSON_CreateString(w->valuestring);
			if (!ws)
				return oom(c);
			cJSON_AddItemToArray(cn, ws);
		}
	}
	if (!params)
		return fail(c, "$.parameters", "required", NULL);
	pn = cJSON_AddObjectToObject(norm, "parameters");
	if (!pn)
		return oom(c);
	if (parse_params(c, params, "$.parameters", "", NULL, 0, pn, 0))
		return -1;
	for (i = 0; i < s->np; i++) {
		if (split_keys(&s->p[i]))
			return oom(c);
		if (!c->nconds[i])
			continue;
		s->p[i].conds = calloc(c->nconds[i], sizeof(wbs__sweep_cond));
		if (!s->p[i].conds)
			return oom(c);
		for (k = 0; k < c->nconds[i]; k++) {
			s->p[i].nconds++; /* counted first: a refused condition's flags are freed with the spec */
			if (resolve_cond(c, i, &c->conds[i][k], &s->p[i].conds[k]))
				return -1;
		}
	}
	if (order_params(c))
		return -1;
	if (take_int(c, j, "run_cap", 1, 1e9, 0, &run_cap) || take_int(c, j, "seed", 0, 4294967295.0, 0, &seed) ||
	    take_int(c, j, "lease_seconds", 2, 3600, 60, &lease) || take_int(c, j, "reissue", 0, 10, 1, &reissue))
		return -1;
	s->cap = (uint64_t)run_cap;
	s->seed = (uint64_t)seed;
	s->lease_seconds = (int)lease;
	s->reissue = (int)reissue;
	if (s->method == WBS__M_GRID) {
		if (check_grid(c))
			return -1;
		if (!s->cap || s->grid_n < s->cap)
			s->cap = s->grid_n;
	}
	if ((run_cap > 0 && !cJSON_AddNumberToObject(norm, "run_cap", run_cap)) ||
	    !cJSON_AddNumberToObject(norm, "seed", seed) || !cJSON_AddNumberToObject(norm, "lease_seconds", lease) ||
	    !cJSON_AddNumberToObject(norm, "reissue", reissue))
		return oom(c);
	if ((e = cJSON_GetObjectItemCaseSensitive(j, "early_terminate"))) {
		cJSON *et;
		if (!cJSON_IsObject(e))
			return fail(c, "$.early_terminate", "must be an object", NULL);
		et = wbs__sweep_json_copy(e);
		if (!et)
			return oom(c);
		cJSON_AddItemToObject(norm, "early_terminate", et);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(norm, "name")))
		s->name = e->valuestring;
	return 0;
}

int wbs__sweep_spec_parse(const char *text, size_t len, wbs__sweep_spec **out, char *err, size_t errlen)
{
	parse_ctx c = {0};
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
		oom(&c);
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
