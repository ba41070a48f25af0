/*
 * spec_int.h — what spec.c (the spec as a whole) and params.c (its
 * parameters) share while a spec is being read. Nothing else includes it.
 */
#ifndef WB_SERVER_SWEEP_SPEC_INT_H
#define WB_SERVER_SWEEP_SPEC_INT_H

#include <stddef.h>

#include <cJSON.h>

#include "sweep/sweep_int.h"

#define WBS__SPEC_TEXT_MAX 4096u /* name, description, program, each command word, metric name */

/* A condition as written, resolved once every parameter is known. */
typedef struct wbs__spec_cond {
	const cJSON *node; /* the "condition" object in the input tree */
	char *jpath;       /* its JSON path, for messages */
} wbs__spec_cond;

/* One spec being read: the spec built so far, the conditions still to
 * resolve, and where the message of a refusal goes. */
typedef struct wbs__spec_ctx {
	wbs__sweep_spec *s;
	size_t cap_params;
	wbs__spec_cond **conds; /* per parameter: its conditions (own first) */
	size_t *nconds;
	char *err;
	size_t errlen;
} wbs__spec_ctx;

/* "jpath: reason" into c->err (fmt with one %s for arg), control
 * characters replaced; returns -1. */
int wbs__spec_fail(wbs__spec_ctx *c, const char *jpath, const char *fmt, const char *arg);
int wbs__spec_oom(wbs__spec_ctx *c); /* "out of memory"; -1 */
int wbs__spec_is_real(const cJSON *v);    /* a number written as a real (1.0, 1e-4) */
int wbs__spec_is_integer(const cJSON *v); /* a number with an integral value within 2^53 */
cJSON *wbs__spec_real_node(double v);     /* a node that prints v as a real; NULL on out of memory */

/* params.c: the "parameters" object into c->s (its parameters, in sampling
 * order, conditions resolved) and into norm (normalised). 0, or -1 with
 * c->err set. */
int wbs__spec_params(wbs__spec_ctx *c, const cJSON *params, cJSON *norm);
/* params.c: check that c->s has a grid of at most WBS__SWEEP_GRID_MAX
 * points and set its grid_n. 0, or -1 with c->err set. */
int wbs__spec_grid(wbs__spec_ctx *c);

#endif /* WB_SERVER_SWEEP_SPEC_INT_H */
