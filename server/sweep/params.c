/*
 * params.c — the parameters of a sweep spec: each one validated against
 * its distribution (W&B's, inferred as W&B does when not named), groups
 * nested by name, conditions resolved to the parameter they read, the
 * sampling order (a condition's parameter first) and the grid's size.
 * spec.c drives it and owns the rest of the spec.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/fields.h"
#include "sweep/spec_int.h"

#define KEY_MAX 128u /* bytes of one parameter name */

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

static int add_param(wbs__spec_ctx *c, wbs__sweep_param **out)
{
	wbs__sweep_spec *s = c->s;

	if (s->np == WBS__SWEEP_PARAMS_MAX)
		return -1;
	if (s->np == c->cap_params) {
		size_t cap = c->cap_params ? c->cap_params * 2 : 16;
		wbs__sweep_param *p = realloc(s->p, cap * sizeof(*p));
		wbs__spec_cond **pc;
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

/* A number member of a leaf into *out and, normalised, into norm. */
static int leaf_number(wbs__spec_ctx *c, const cJSON *obj, const char *key, const char *jpath, double dflt, int as_int,
		       cJSON *norm, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char mpath[1100];
	cJSON *n;

	snprintf(mpath, sizeof(mpath), "%s.%s", jpath, key);
	*out = dflt;
	if (v) {
		if (!cJSON_IsNumber(v))
			return wbs__spec_fail(c, mpath, "must be a number", NULL);
		if (as_int && !wbs__spec_is_integer(v))
			return wbs__spec_fail(c, mpath, "must be an integer", NULL);
		*out = v->valuedouble;
	}
	n = as_int ? cJSON_CreateNumber(*out) : wbs__spec_real_node(*out);
	if (!n)
		return wbs__spec_oom(c);
	cJSON_AddItemToObject(norm, key, n);
	return 0;
}

/* One leaf parameter obj at jpath, named path (dotted), into a new
 * wbs__sweep_param and into norm (its normalised object). conds[0..nc)
 * are its groups' conditions. */
static int parse_leaf(wbs__spec_ctx *c, const cJSON *obj, const char *jpath, const char *path, wbs__spec_cond *gconds,
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
			return wbs__spec_fail(c, mpath, "unknown member (a parameter takes distribution, value, values, "
					      "probabilities, min, max, q, mu, sigma, condition)",
				    NULL);
		}
	}
	if (dist) {
		snprintf(mpath, sizeof(mpath), "%s.distribution", jpath);
		if (!cJSON_IsString(dist))
			return wbs__spec_fail(c, mpath, "must be a string", NULL);
		for (i = 0; i < WBS__D_COUNT; i++)
			if (!strcmp(dist->valuestring, DIST_NAMES[i]))
				d = (int)i;
		if (d < 0)
			return wbs__spec_fail(c, mpath, "unknown distribution \"%.64s\"", dist->valuestring);
	} else if (have & F_VALUES) { /* W&B's inference */
		d = WBS__D_CATEGORICAL;
	} else if (have & F_VALUE) {
		d = WBS__D_CONSTANT;
	} else if ((have & F_MIN) && (have & F_MAX)) {
		d = (wbs__spec_is_integer(mn) && !wbs__spec_is_real(mn) && wbs__spec_is_integer(mx) && !wbs__spec_is_real(mx)) ? WBS__D_INT_UNIFORM
											  : WBS__D_UNIFORM;
	} else {
		return wbs__spec_fail(c, jpath, "needs values, value, min and max, or a distribution", NULL);
	}
	for (i = 0; i < sizeof(LEAF_MEMBERS) / sizeof(LEAF_MEMBERS[0]); i++) {
		unsigned bit = LEAF_MEMBERS[i].bit;
		snprintf(mpath, sizeof(mpath), "%s.%s", jpath, LEAF_MEMBERS[i].name);
		if ((have & bit) && !(DIST_FIELDS[d].take & bit))
			return wbs__spec_fail(c, mpath, "not used by distribution %s", DIST_NAMES[d]);
		if (!(have & bit) && (DIST_FIELDS[d].need & bit))
			return wbs__spec_fail(c, mpath, "required by distribution %s", DIST_NAMES[d]);
	}
	rc = add_param(c, &p);
	if (rc == -1)
		return wbs__spec_fail(c, jpath, "more than 256 parameters", NULL);
	if (rc)
		return wbs__spec_oom(c);
	p->dist = d;
	p->path = strdup(path);
	p->pathlen = strlen(path);
	if (!p->path || !cJSON_AddStringToObject(norm, "distribution", DIST_NAMES[d]))
		return wbs__spec_oom(c);

	if (d == WBS__D_CONSTANT || d == WBS__D_CATEGORICAL) {
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(obj, d == WBS__D_CONSTANT ? "value" : "values");
		cJSON *copy;
		snprintf(mpath, sizeof(mpath), "%s.%s", jpath, d == WBS__D_CONSTANT ? "value" : "values");
		if (d == WBS__D_CATEGORICAL) {
			if (!cJSON_IsArray(vals) || cJSON_GetArraySize(vals) == 0)
				return wbs__spec_fail(c, mpath, "must be a non-empty array", NULL);
			if (cJSON_GetArraySize(vals) > (int)WBS__SWEEP_VALUES_MAX)
				return wbs__spec_fail(c, mpath, "more than 10000 values", NULL);
			p->values = wbs__sweep_json_copy(vals);
		} else {
			p->values = cJSON_CreateArray();
			copy = wbs__sweep_json_copy(vals);
			if (!p->values || !copy) {
				cJSON_Delete(copy);
				return wbs__spec_oom(c);
			}
			cJSON_AddItemToArray(p->values, copy);
		}
		if (!p->values)
			return wbs__spec_oom(c);
		p->nvalues = (size_t)cJSON_GetArraySize(p->values);
		p->vtext = calloc(p->nvalues, sizeof(char *));
		if (!p->vtext)
			return wbs__spec_oom(c);
		k = 0;
		cJSON_ArrayForEach(e, p->values)
		{
			if (!(p->vtext[k++] = cJSON_PrintUnformatted(e)))
				return wbs__spec_oom(c);
		}
		copy = d == WBS__D_CONSTANT ? wbs__sweep_json_copy(cJSON_GetArrayItem(p->values, 0))
					    : wbs__sweep_json_copy(p->values);
		if (!copy)
			return wbs__spec_oom(c);
		cJSON_AddItemToObject(norm, d == WBS__D_CONSTANT ? "value" : "values", copy);
		if (have & F_PROBS) {
			const cJSON *pr = cJSON_GetObjectItemCaseSensitive(obj, "probabilities");
			double sum = 0;
			cJSON *np;
			snprintf(mpath, sizeof(mpath), "%s.probabilities", jpath);
			if (!cJSON_IsArray(pr) || (size_t)cJSON_GetArraySize(pr) != p->nvalues)
				return wbs__spec_fail(c, mpath, "must be an array as long as values", NULL);
			p->probs = malloc(p->nvalues * sizeof(double));
			np = cJSON_CreateArray();
			if (!p->probs || !np) {
				cJSON_Delete(np);
				return wbs__spec_oom(c);
			}
			cJSON_AddItemToObject(norm, "probabilities", np);
			k = 0;
			cJSON_ArrayForEach(e, pr)
			{
				cJSON *r;
				if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1)
					return wbs__spec_fail(c, mpath, "must hold numbers in 0..1", NULL);
				p->probs[k++] = e->valuedouble;
				sum += e->valuedouble;
				r = wbs__spec_real_node(e->valuedouble);
				if (!r)
					return wbs__spec_oom(c);
				cJSON_AddItemToArray(np, r);
			}
			if (fabs(sum - 1.0) > 1e-6)
				return wbs__spec_fail(c, mpath, "must sum to 1", NULL);
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
			return wbs__spec_fail(c, mpath, "must be below max", NULL);
		if ((d == WBS__D_LOG_UNIFORM_VALUES || d == WBS__D_Q_LOG_UNIFORM_VALUES ||
		     d == WBS__D_INV_LOG_UNIFORM_VALUES) &&
		    !(p->min > 0))
			return wbs__spec_fail(c, mpath, "must be above 0 (the values of a log distribution)", NULL);
		snprintf(mpath, sizeof(mpath), "%s.max", jpath);
		if ((d == WBS__D_LOG_UNIFORM || d == WBS__D_Q_LOG_UNIFORM || d == WBS__D_INV_LOG_UNIFORM) &&
		    (p->max > 700 || p->min < -700))
			return wbs__spec_fail(c, mpath, "min and max are exponents (e^min..e^max) and must be within -700..700",
				    NULL);
		p->ints = as_int;
	} else {
		if (leaf_number(c, obj, "mu", jpath, 0, 0, norm, &p->mu) ||
		    leaf_number(c, obj, "sigma", jpath, 1, 0, norm, &p->sigma))
			return -1;
		snprintf(mpath, sizeof(mpath), "%s.sigma", jpath);
		if (!(p->sigma > 0))
			return wbs__spec_fail(c, mpath, "must be above 0", NULL);
		snprintf(mpath, sizeof(mpath), "%s.mu", jpath);
		if ((d == WBS__D_LOG_NORMAL || d == WBS__D_Q_LOG_NORMAL) && fabs(p->mu) + 10 * p->sigma > 700)
			return wbs__spec_fail(c, mpath, "e^(mu +- 10 sigma) must stay finite", NULL);
	}
	if (DIST_FIELDS[d].take & F_Q) {
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, "q");
		int qint = !q || (wbs__spec_is_integer(q) && !wbs__spec_is_real(q));
		if (leaf_number(c, obj, "q", jpath, 1, qint, norm, &p->q))
			return -1;
		snprintf(mpath, sizeof(mpath), "%s.q", jpath);
		if (!(p->q > 0))
			return wbs__spec_fail(c, mpath, "must be above 0", NULL);
		p->ints = qint; /* as W&B: an integer q gives integers */
	}

	/* conditions: the groups' and its own, resolved later */
	k = ngconds + (cond ? 1 : 0);
	if (k) {
		wbs__spec_cond *pc = calloc(k, sizeof(*pc));
		if (!pc)
			return wbs__spec_oom(c);
		c->conds[c->s->np - 1] = pc;
		c->nconds[c->s->np - 1] = k;
		i = 0;
		if (cond) {
			snprintf(mpath, sizeof(mpath), "%s.condition", jpath);
			pc[i].node = cond;
			pc[i].jpath = strdup(mpath);
			if (!pc[i++].jpath)
				return wbs__spec_oom(c);
		}
		for (size_t g = 0; g < ngconds; g++, i++) {
			pc[i].node = gconds[g].node;
			pc[i].jpath = strdup(gconds[g].jpath);
			if (!pc[i].jpath)
				return wbs__spec_oom(c);
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
static int parse_params(wbs__spec_ctx *c, const cJSON *obj, const char *jpath, const char *prefix, wbs__spec_cond *gconds,
			size_t ngconds, cJSON *norm, int depth)
{
	const char **keys = NULL;
	const cJSON *e;
	size_t n = 0, i;
	int rc = -1;

	if (!cJSON_IsObject(obj) || !obj->child)
		return wbs__spec_fail(c, jpath, "must be a non-empty object", NULL);
	if (depth > 8)
		return wbs__spec_fail(c, jpath, "parameter groups nested deeper than 8", NULL);
	keys = calloc((size_t)cJSON_GetArraySize(obj), sizeof(*keys));
	if (!keys)
		return wbs__spec_oom(c);
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
			wbs__spec_fail(c, kpath, "a parameter name is 1..128 bytes without a dot (nest with parameters)", NULL);
			goto done;
		}
		if (!wbs__text_valid(keys[i], kl, 0)) {
			wbs__spec_fail(c, kpath, "a parameter name must not hold control characters", NULL);
			goto done;
		}
		if (strlen(prefix) + kl + 2 > sizeof(name) || strlen(kpath) + 40 > sizeof(kpath)) {
			wbs__spec_fail(c, jpath, "parameter names too long", NULL);
			goto done;
		}
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", keys[i]);
		if (!cJSON_IsObject(v)) {
			wbs__spec_fail(c, kpath, "a parameter must be an object", NULL);
			goto done;
		}
		kn = cJSON_AddObjectToObject(norm, keys[i]);
		if (!kn) {
			wbs__spec_oom(c);
			goto done;
		}
		if (sub) {
			const cJSON *m, *cond = cJSON_GetObjectItemCaseSensitive(v, "condition");
			wbs__spec_cond *all = NULL;
			size_t na = ngconds + (cond ? 1 : 0);
			char spath[1200]; /* kpath and a member name or ".condition" */
			cJSON_ArrayForEach(m, v)
			{
				if (strcmp(m->string, "parameters") && strcmp(m->string, "condition")) {
					snprintf(spath, sizeof(spath), "%s.%s", kpath, m->string);
					wbs__spec_fail(c, spath, "unknown member (a group takes parameters and condition)", NULL);
					goto done;
				}
			}
			snprintf(spath, sizeof(spath), "%s.condition", kpath);
			if (na) {
				all = calloc(na, sizeof(*all));
				if (!all) {
					wbs__spec_oom(c);
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
				char ppath[1200]; /* kpath and ".parameters" */
				cJSON *pn = cJSON_AddObjectToObject(kn, "parameters");
				snprintf(ppath, sizeof(ppath), "%s.parameters", kpath);
				rc = pn ? parse_params(c, sub, ppath, name, all, na, pn, depth + 1) : wbs__spec_oom(c);
			}
			if (rc == 0 && cond) {
				cJSON *cc = wbs__sweep_json_copy(cond);
				if (!cc)
					rc = wbs__spec_oom(c);
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
				wbs__spec_oom(c);
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
static int resolve_cond(wbs__spec_ctx *c, size_t i, const wbs__spec_cond *pc, wbs__sweep_cond *out)
{
	const wbs__sweep_spec *s = c->s;
	const cJSON *node = pc->node, *e;
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(node, "parameter");
	const cJSON *eq = cJSON_GetObjectItemCaseSensitive(node, "equals");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(node, "in");
	char mpath[1200];
	size_t r, k;

	if (!cJSON_IsObject(node))
		return wbs__spec_fail(c, pc->jpath, "must be an object {\"parameter\": name, \"equals\": value} or "
					  "{\"parameter\": name, \"in\": [values]}",
			    NULL);
	cJSON_ArrayForEach(e, node)
	{
		if (strcmp(e->string, "parameter") && strcmp(e->string, "equals") && strcmp(e->string, "in")) {
			snprintf(mpath, sizeof(mpath), "%s.%s", pc->jpath, e->string);
			return wbs__spec_fail(c, mpath, "unknown member (a condition takes parameter, and equals or in)", NULL);
		}
	}
	snprintf(mpath, sizeof(mpath), "%s.parameter", pc->jpath);
	if (!cJSON_IsString(ref))
		return wbs__spec_fail(c, mpath, "must be a parameter's dotted name", NULL);
	for (r = 0; r < s->np; r++)
		if (!strcmp(s->p[r].path, ref->valuestring))
			break;
	if (r == s->np)
		return wbs__spec_fail(c, mpath, "no parameter \"%.128s\"", ref->valuestring);
	if (r == i)
		return wbs__spec_fail(c, mpath, "a parameter cannot depend on itself", NULL);
	if (s->p[r].dist != WBS__D_CATEGORICAL && s->p[r].dist != WBS__D_CONSTANT)
		return wbs__spec_fail(c, mpath, "must name a parameter with values or value", NULL);
	if (!!eq == !!in)
		return wbs__spec_fail(c, pc->jpath, "needs one of equals and in", NULL);
	if (in && (!cJSON_IsArray(in) || !in->child)) {
		snprintf(mpath, sizeof(mpath), "%s.in", pc->jpath);
		return wbs__spec_fail(c, mpath, "must be a non-empty array", NULL);
	}
	out->ref = r;
	out->ok = calloc(s->p[r].nvalues, 1);
	if (!out->ok)
		return wbs__spec_oom(c);
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
			return wbs__spec_fail(c, mpath, "not one of the values of %.128s", ref->valuestring);
		}
	}
	return 0;
}

/* Order the parameters so that each comes after those its conditions name
 * (sorted by name otherwise); refuse a cycle. */
static int order_params(wbs__spec_ctx *c)
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
		wbs__spec_oom(c);
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
			wbs__spec_fail(c, "$.parameters", "the conditions of %.128s form a cycle", s->p[i].path);
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

static int check_grid(wbs__spec_ctx *c)
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
			return wbs__spec_fail(c, out, "grid needs values, value or int_uniform (a continuous distribution has no grid)",
				    NULL);
		}
	}
	/* the product bounds the count; walk the choices only when it might fit */
	if (product > 1e12) {
		snprintf(msg, sizeof(msg), "grid of %.0f points is over the limit of %u", product, WBS__SWEEP_GRID_MAX);
		return wbs__spec_fail(c, "$.parameters", "%s", msg);
	}
	pt.present = calloc(s->np ? s->np : 1, 1);
	pt.x = calloc(s->np ? s->np : 1, sizeof(double));
	if (!pt.present || !pt.x) {
		wbs__spec_oom(c);
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
		wbs__spec_fail(c, "$.parameters", "%s", msg);
		goto done;
	}
	rc = 0;
done:
	free(pt.present);
	free(pt.x);
	return rc;
}

int wbs__spec_params(wbs__spec_ctx *c, const cJSON *params, cJSON *norm)
{
	wbs__sweep_spec *s = c->s;
	size_t i, k;

	if (parse_params(c, params, "$.parameters", "", NULL, 0, norm, 0))
		return -1;
	for (i = 0; i < s->np; i++) {
		if (split_keys(&s->p[i]))
			return wbs__spec_oom(c);
		if (!c->nconds[i])
			continue;
		s->p[i].conds = calloc(c->nconds[i], sizeof(wbs__sweep_cond));
		if (!s->p[i].conds)
			return wbs__spec_oom(c);
		for (k = 0; k < c->nconds[i]; k++) {
			s->p[i].nconds++; /* counted first: a refused condition's flags are freed with the spec */
			if (resolve_cond(c, i, &c->conds[i][k], &s->p[i].conds[k]))
				return -1;
		}
	}
	return order_params(c);
}

int wbs__spec_grid(wbs__spec_ctx *c)
{
	return check_grid(c);
}
