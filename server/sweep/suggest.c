/*
 * suggest.c — wbs__sweep_suggest: the next trial's parameters by the
 * spec's method. grid and random need no history; bayes (tpe.c) learns
 * from the trials so far.
 *
 * Grid order is fixed: parameters in sampling order (by name, a
 * condition's parameter before those it gates), the last varying fastest,
 * like itertools.product; a parameter whose condition fails is absent, so
 * a point appears once and not once per value of an absent parameter.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep/sweep_int.h"

/* The number of grid choices of parameter i. */
static uint64_t choices(const wbs__sweep_param *p)
{
	return p->dist == WBS__D_INT_UNIFORM ? (uint64_t)(p->max - p->min) + 1 : p->nvalues;
}

/* Set pt to the grid point *num of the subtree from parameter i on (in
 * enumeration order); 1 if found, 0 (and *num reduced by the subtree's
 * size) if the subtree has fewer points. */
static int grid_find(const wbs__sweep_spec *s, size_t i, wbs__sweep_point *pt, uint64_t *num)
{
	if (i == s->np) {
		if (*num == 0)
			return 1;
		(*num)--;
		return 0;
	}
	if (!wbs__sweep_cond_holds(s, i, pt)) {
		pt->present[i] = 0;
		return grid_find(s, i + 1, pt, num);
	}
	pt->present[i] = 1;
	for (uint64_t k = 0; k < choices(&s->p[i]); k++) {
		pt->x[i] = (double)k;
		if (grid_find(s, i + 1, pt, num))
			return 1;
	}
	return 0;
}

/* A grid point's indexes as values: int_uniform's index k is min + k. */
static void grid_values(const wbs__sweep_spec *s, wbs__sweep_point *pt)
{
	for (size_t i = 0; i < s->np; i++)
		if (pt->present[i] && s->p[i].dist == WBS__D_INT_UNIFORM)
			pt->x[i] += s->p[i].min;
}

static void random_point(const wbs__sweep_spec *s, uint64_t num, wbs__sweep_point *pt)
{
	wbs__rng r;

	/* one stream per parameter: adding a parameter leaves the others' draws as they were */
	for (size_t i = 0; i < s->np; i++) {
		pt->present[i] = (unsigned char)wbs__sweep_cond_holds(s, i, pt);
		if (!pt->present[i])
			continue;
		wbs__rng_seed(&r, s->seed, num, 0x5eed0000u + i);
		pt->x[i] = wbs__sweep_draw(&s->p[i], &r);
	}
}

int wbs__sweep_suggest(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num, char **params,
		       char *err, size_t errlen)
{
	wbs__sweep_point pt = {0};
	int rc = -1;

	*params = NULL;
	pt.present = calloc(s->np, 1);
	pt.x = calloc(s->np, sizeof(double));
	if (!pt.present || !pt.x) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (s->method == WBS__M_GRID) {
		uint64_t k = num;
		if (num >= s->grid_n || !grid_find(s, 0, &pt, &k)) {
			rc = 1;
			goto done;
		}
		grid_values(s, &pt);
	} else if (s->method == WBS__M_RANDOM) {
		random_point(s, num, &pt);
	} else if (wbs__sweep_tpe(s, t, n, num, &pt, err, errlen)) {
		goto done;
	}
	*params = wbs__sweep_point_json(s, &pt);
	if (!*params) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(pt.present);
	free(pt.x);
	return rc;
}

/* The random sampler for others in server/sweep/ (bayes' startup). */
void wbs__sweep_random_point(const wbs__sweep_spec *s, uint64_t num, wbs__sweep_point *pt)
{
	random_point(s, num, pt);
}
