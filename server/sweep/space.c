/*
 * space.c — points of a sweep's parameter space: drawing a parameter as
 * W&B defines its distribution, checking conditions, and turning a point
 * into the params JSON a trial gets (and a trial's params back into a
 * point, for the bayes sampler).
 *
 * A point holds, per parameter in sampling order, whether it is present
 * (its conditions held) and its value: an index into values for
 * categorical and constant parameters, else the number itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/sweep_int.h"

int wbs__sweep_cond_holds(const wbs__sweep_spec *s, size_t i, const wbs__sweep_point *pt)
{
	const wbs__sweep_param *p = &s->p[i];

	for (size_t k = 0; k < p->nconds; k++) {
		size_t r = p->conds[k].ref;
		if (!pt->present[r] || !p->conds[k].ok[(size_t)pt->x[r]])
			return 0;
	}
	return 1;
}

static double quantize(double v, double q)
{
	/* W&B rounds with numpy's round: halves to even, which nearbyint does */
	return nearbyint(v / q) * q;
}

double wbs__sweep_draw(const wbs__sweep_param *p, wbs__rng *r)
{
	double u;

	switch (p->dist) {
	case WBS__D_CONSTANT:
		return 0;
	case WBS__D_CATEGORICAL:
		if (p->probs) {
			double acc = 0;
			u = wbs__rng_uniform(r);
			for (size_t k = 0; k + 1 < p->nvalues; k++) {
				acc += p->probs[k];
				if (u < acc)
					return (double)k;
			}
			return (double)(p->nvalues - 1);
		}
		return (double)wbs__rng_below(r, p->nvalues);
	case WBS__D_INT_UNIFORM:
		return p->min + (double)wbs__rng_below(r, (uint64_t)(p->max - p->min) + 1);
	case WBS__D_UNIFORM:
		return p->min + wbs__rng_uniform(r) * (p->max - p->min);
	case WBS__D_Q_UNIFORM:
		return quantize(p->min + wbs__rng_uniform(r) * (p->max - p->min), p->q);
	case WBS__D_LOG_UNIFORM: /* min, max: exponents */
		return exp(p->min + wbs__rng_uniform(r) * (p->max - p->min));
	case WBS__D_LOG_UNIFORM_VALUES:
	case WBS__D_INV_LOG_UNIFORM_VALUES: /* 1/X log-uniform is X log-uniform */
		return exp(log(p->min) + wbs__rng_uniform(r) * (log(p->max) - log(p->min)));
	case WBS__D_Q_LOG_UNIFORM:
		return quantize(exp(p->min + wbs__rng_uniform(r) * (p->max - p->min)), p->q);
	case WBS__D_Q_LOG_UNIFORM_VALUES:
		return quantize(exp(log(p->min) + wbs__rng_uniform(r) * (log(p->max) - log(p->min))), p->q);
	case WBS__D_INV_LOG_UNIFORM: /* X = e^-U, U uniform in min..max */
		return exp(-(p->min + wbs__rng_uniform(r) * (p->max - p->min)));
	case WBS__D_NORMAL:
		return p->mu + p->sigma * wbs__rng_normal(r);
	case WBS__D_Q_NORMAL:
		return quantize(p->mu + p->sigma * wbs__rng_normal(r), p->q);
	case WBS__D_LOG_NORMAL:
		return exp(p->mu + p->sigma * wbs__rng_normal(r));
	default: /* WBS__D_Q_LOG_NORMAL */
		return quantize(exp(p->mu + p->sigma * wbs__rng_normal(r)), p->q);
	}
}

/* The object at keys[0..n) of root, created as needed. */
static cJSON *object_at(cJSON *root, char *const *keys, size_t n)
{
	for (size_t k = 0; k < n && root; k++) {
		cJSON *o = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
		root = o ? o : cJSON_AddObjectToObject(root, keys[k]);
	}
	return root;
}

char *wbs__sweep_point_json(const wbs__sweep_spec *s, const wbs__sweep_point *pt)
{
	cJSON *root = cJSON_CreateObject();
	char *text = NULL;

	if (!root)
		return NULL;
	for (size_t i = 0; i < s->np; i++) {
		const wbs__sweep_param *p = &s->p[i];
		cJSON *parent, *v;
		char buf[40];
		if (!pt->present[i])
			continue;
		parent = object_at(root, p->keys, p->nkeys - 1);
		if (!parent)
			goto done;
		if (p->dist == WBS__D_CATEGORICAL || p->dist == WBS__D_CONSTANT) {
			v = wbs__sweep_json_copy(cJSON_GetArrayItem(p->values, (int)pt->x[i]));
		} else if (p->ints) {
			v = cJSON_CreateNumber(pt->x[i]);
		} else {
			wbs__sweep_real_text(pt->x[i], buf, sizeof(buf));
			v = cJSON_CreateRaw(buf);
		}
		if (!v)
			goto done;
		cJSON_AddItemToObject(parent, p->keys[p->nkeys - 1], v);
	}
	text = cJSON_PrintUnformatted(root);
done:
	cJSON_Delete(root);
	return text;
}

/* The reference reader: cJSON, values compared as JSON. */
static int read_slow(const wbs__sweep_spec *s, const char *params, wbs__sweep_point *pt)
{
	const char *end = NULL;
	cJSON *root = params ? cJSON_ParseWithLengthOpts(params, strlen(params), &end, 0) : NULL;
	int rc = -1;

	memset(pt->present, 0, s->np);
	if (!cJSON_IsObject(root))
		goto done;
	for (size_t i = 0; i < s->np; i++) {
		const wbs__sweep_param *p = &s->p[i];
		const cJSON *v = root, *e;
		for (size_t k = 0; k < p->nkeys && v; k++)
			v = cJSON_GetObjectItemCaseSensitive(v, p->keys[k]);
		if (!v)
			continue;
		if (p->dist == WBS__D_CATEGORICAL || p->dist == WBS__D_CONSTANT) {
			size_t k = 0;
			cJSON_ArrayForEach(e, p->values)
			{
				if (cJSON_Compare(e, v, 1)) {
					pt->present[i] = 1;
					pt->x[i] = (double)k;
					break;
				}
				k++;
			}
		} else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
			pt->present[i] = 1;
			pt->x[i] = v->valuedouble;
		}
	}
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

/*
 * The fast reader. The bayes sampler reads every trial's params on every
 * suggestion (a thousand trials: a thousand documents), and cJSON spends
 * most of that in strtod and malloc. Params are text this module wrote, so
 * a scanner that walks the object, builds each member's dotted name and
 * matches it to a parameter does the job without building a tree; numbers
 * are read as digits times a power of ten. Anything unexpected (an escape
 * in a key, a value text that matches no value) returns 1: use read_slow.
 */
typedef struct scan {
	const char *p, *end;
	size_t next; /* the parameter after the one last matched */
	char path[1024];
} scan;

static void skip_ws(scan *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Past a string at c->p (on its quote); 0, or 1 if malformed; *esc set if it holds a backslash. */
static int skip_string(scan *c, int *esc)
{
	*esc = 0;
	for (c->p++; c->p < c->end && *c->p != '"'; c->p++)
		if (*c->p == '\\') {
			*esc = 1;
			c->p++;
		}
	if (c->p >= c->end)
		return 1;
	c->p++;
	return 0;
}

/* Past any value that is not an object: a scalar up to the next ',' or
 * '}', a string or an array to its end. 0, or 1 if malformed. */
static int skip_value(scan *c)
{
	int depth = 0, esc;

	while (c->p < c->end) {
		char ch = *c->p;
		if (ch == '"') {
			if (skip_string(c, &esc))
				return 1;
			if (!depth)
				return 0;
			continue;
		}
		if (ch == '[' || ch == '{') {
			depth++;
		} else if (ch == ']' || ch == '}') {
			if (!depth)
				return 0;
			c->p++;
			if (!--depth)
				return 0;
			continue;
		} else if (!depth && ch == ',') {
			return 0;
		}
		c->p++;
	}
	return depth ? 1 : 0;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
			       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A JSON number in s[0..n) to within a couple of ulps; 0, or 1 if not a number. */
static int fast_number(const char *s, size_t n, double *out)
{
	const char *q = s, *e = s + n;
	uint64_t mant = 0;
	int exp10 = 0, digits = 0, neg = 0, any = 0;

	if (q < e && *q == '-') {
		neg = 1;
		q++;
	}
	for (; q < e && *q >= '0' && *q <= '9'; q++, any = 1) {
		if (digits < 19) {
			mant = mant * 10 + (uint64_t)(*q - '0');
			digits += mant != 0;
		} else {
			exp10++;
		}
	}
	if (q < e && *q == '.')
		for (q++; q < e && *q >= '0' && *q <= '9'; q++, any = 1) {
			if (digits < 19) {
				mant = mant * 10 + (uint64_t)(*q - '0');
				digits += mant != 0;
				exp10--;
			}
		}
	if (!any)
		return 1;
	if (q < e && (*q == 'e' || *q == 'E')) {
		int eneg = 0, ev = 0;
		q++;
		if (q < e && (*q == '-' || *q == '+'))
			eneg = *q++ == '-';
		if (q == e)
			return 1;
		for (; q < e && *q >= '0' && *q <= '9'; q++)
			if (ev < 10000)
				ev = ev * 10 + (*q - '0');
		exp10 += eneg ? -ev : ev;
	}
	if (q != e)
		return 1;
	if (exp10 >= -22 && exp10 <= 22) {
		double v = (double)mant;
		v = exp10 < 0 ? v / POW10[-exp10] : v * POW10[exp10];
		*out = neg ? -v : v;
	} else {
		char buf[64];
		if (n >= sizeof(buf))
			return 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		*out = strtod(buf, NULL);
	}
	return isfinite(*out) ? 0 : 1;
}

/* The object at c->p, its members named below c->path (of length plen). */
static int scan_object(const wbs__sweep_spec *s, scan *c, size_t plen, wbs__sweep_point *pt, int depth)
{
	int esc;

	if (depth > WBS__SWEEP_DEPTH_MAX)
		return 1;
	skip_ws(c);
	if (c->p >= c->end || *c->p != '{')
		return 1;
	c->p++;
	skip_ws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		const char *k0, *v0;
		size_t kl, nl, i;
		skip_ws(c);
		if (c->p >= c->end || *c->p != '"')
			return 1;
		k0 = c->p + 1;
		if (skip_string(c, &esc) || esc)
			return 1;
		kl = (size_t)(c->p - 1 - k0);
		nl = plen + (plen ? 1 : 0) + kl;
		if (nl >= sizeof(c->path))
			return 1;
		if (plen)
			c->path[plen] = '.';
		memcpy(c->path + plen + (plen ? 1 : 0), k0, kl);
		c->path[nl] = '\0';
		skip_ws(c);
		if (c->p >= c->end || *c->p != ':')
			return 1;
		c->p++;
		skip_ws(c);
		if (c->p < c->end && *c->p == '{') {
			for (i = 0; i < s->np; i++) /* an object-valued parameter (a categorical value) */
				if (!strcmp(s->p[i].path, c->path))
					return 1;
			if (scan_object(s, c, nl, pt, depth + 1))
				return 1;
		} else {
			v0 = c->p;
			if (skip_value(c))
				return 1;
			/* members come in the order wbs__sweep_point_json wrote them: try the next parameter first */
			for (size_t t = 0; t < s->np; t++) {
				const wbs__sweep_param *p = &s->p[i = (c->next + t) % s->np];
				size_t vl = (size_t)(c->p - v0), k;
				if (p->pathlen != nl || memcmp(p->path, c->path, nl))
					continue;
				c->next = i + 1;
				while (vl && (v0[vl - 1] == ' ' || v0[vl - 1] == '\n' || v0[vl - 1] == '\t' ||
					      v0[vl - 1] == '\r'))
					vl--;
				if (p->dist == WBS__D_CATEGORICAL || p->dist == WBS__D_CONSTANT) {
					for (k = 0; k < p->nvalues; k++)
						if (strlen(p->vtext[k]) == vl && !memcmp(p->vtext[k], v0, vl))
							break;
					if (k == p->nvalues)
						return 1; /* written otherwise: compare as JSON */
					pt->present[i] = 1;
					pt->x[i] = (double)k;
				} else if (!fast_number(v0, vl, &pt->x[i])) {
					pt->present[i] = 1;
				}
				break;
			}
		}
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			c->path[plen] = '\0';
			return 0;
		}
		return 1;
	}
}

int wbs__sweep_point_read(const wbs__sweep_spec *s, const char *params, wbs__sweep_point *pt)
{
	scan c;

	memset(pt->present, 0, s->np);
	if (!params)
		return -1;
	c.p = params;
	c.end = params + strlen(params);
	c.path[0] = '\0';
	c.next = 0;
	if (scan_object(s, &c, 0, pt, 0) == 0) {
		skip_ws(&c);
		if (c.p == c.end)
			return 0;
	}
	return read_slow(s, params, pt);
}
