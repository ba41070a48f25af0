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

int wbs__sweep_point_read(const wbs__sweep_spec *s, const char *params, wbs__sweep_point *pt)
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
