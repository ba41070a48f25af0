/*
 * sweep_int.h — what the files of server/sweep/ share: the parsed spec's
 * layout, the random number generator, and the parameter space helpers.
 * Nothing outside server/sweep/ includes it (tests aside).
 */
#ifndef WB_SERVER_SWEEP_INT_H
#define WB_SERVER_SWEEP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "sweep/sweep.h"

/*
 * cJSON keeps one double per number, so 1 and 1.0 look alike; W&B's
 * inference (min/max ints -> int_uniform, floats -> uniform) needs the
 * difference. The JSON and YAML readers set this bit on a number's type
 * when it was written as a real. cJSON tests types with (type & 0xFF), so
 * the bit is invisible to it, and cJSON_Duplicate keeps it.
 */
#define WBS__JSON_REAL (1 << 14)

#define WBS__SWEEP_DEPTH_MAX 32      /* nesting of the spec document */
#define WBS__SWEEP_PARAMS_MAX 256    /* leaf parameters */
#define WBS__SWEEP_VALUES_MAX 10000  /* values of one categorical parameter */
#define WBS__SWEEP_YAML_EVENTS 200000 /* events of one YAML document */

enum wbs__sweep_method { WBS__M_GRID, WBS__M_RANDOM, WBS__M_BAYES };

enum wbs__sweep_dist {
	WBS__D_CONSTANT,
	WBS__D_CATEGORICAL,
	WBS__D_INT_UNIFORM,
	WBS__D_UNIFORM,
	WBS__D_Q_UNIFORM,
	WBS__D_LOG_UNIFORM,
	WBS__D_LOG_UNIFORM_VALUES,
	WBS__D_Q_LOG_UNIFORM,
	WBS__D_Q_LOG_UNIFORM_VALUES,
	WBS__D_INV_LOG_UNIFORM,
	WBS__D_INV_LOG_UNIFORM_VALUES,
	WBS__D_NORMAL,
	WBS__D_Q_NORMAL,
	WBS__D_LOG_NORMAL,
	WBS__D_Q_LOG_NORMAL,
	WBS__D_COUNT
};

/* A condition: the parameter is sampled only when parameter `ref` (a
 * categorical or constant one, earlier in sampling order) took a value
 * whose index i has ok[i] set. */
typedef struct wbs__sweep_cond {
	size_t ref;
	unsigned char *ok; /* ref's nvalues flags */
} wbs__sweep_cond;

typedef struct wbs__sweep_param {
	char *path;        /* dotted name: "optimizer.lr" */
	size_t pathlen;
	char **keys;       /* its components */
	size_t nkeys;
	int dist;          /* wbs__sweep_dist */
	cJSON *values;     /* categorical: the values; constant: an array of the one value */
	char **vtext;      /* each value as a trial's params hold it (wbs__sweep_point_json's text) */
	double *probs;     /* categorical with probabilities: normalised to sum 1; else NULL */
	size_t nvalues;
	double min, max, q, mu, sigma;
	int ints;          /* samples are integers (int_uniform, q_* with an integer q) */
	wbs__sweep_cond *conds; /* all must hold (its own, then its groups') */
	size_t nconds;
} wbs__sweep_param;

struct wbs__sweep_spec {
	cJSON *norm;          /* the normalised spec */
	int method;           /* wbs__sweep_method */
	const char *name;     /* in norm, or NULL */
	const char *metric;   /* in norm, or NULL */
	int maximize;
	uint64_t cap;
	uint64_t seed;
	int lease_seconds;
	int reissue;
	wbs__sweep_param *p;  /* in sampling order: a condition's parameter before the parameters it gates */
	size_t np;
	uint64_t grid_n;      /* grid: the number of points */
};

/* ---- rng.c: xoshiro256** seeded by splitmix64; no global state ---- */
typedef struct wbs__rng {
	uint64_t s[4];
} wbs__rng;
void wbs__rng_seed(wbs__rng *r, uint64_t a, uint64_t b, uint64_t c);
uint64_t wbs__rng_next(wbs__rng *r);
double wbs__rng_uniform(wbs__rng *r);              /* [0, 1) */
double wbs__rng_normal(wbs__rng *r);               /* standard normal */
uint64_t wbs__rng_below(wbs__rng *r, uint64_t n);  /* [0, n), n > 0, unbiased */

/* ---- space.c: points of the parameter space ---- */
/* One point: for each parameter (in sampling order) whether it is present,
 * and its value: the value index for categorical/constant, else the number
 * as the trial gets it (an integer for ints). */
typedef struct wbs__sweep_point {
	unsigned char *present;
	double *x;
} wbs__sweep_point;

/* 1 if every condition of parameter i holds at pt (earlier parameters set). */
int wbs__sweep_cond_holds(const wbs__sweep_spec *s, size_t i, const wbs__sweep_point *pt);
/* Draw parameter i from its distribution as W&B defines it. */
double wbs__sweep_draw(const wbs__sweep_param *p, wbs__rng *r);
/* The point as params JSON text (malloc'd), or NULL on out of memory. */
char *wbs__sweep_point_json(const wbs__sweep_spec *s, const wbs__sweep_point *pt);
/* Read trial params text into pt (absent if missing or not matching the
 * parameter). 0, or -1 if the text is not a JSON object. Numbers are read
 * to within a couple of ulps (what the bayes model needs), fast. */
int wbs__sweep_point_read(const wbs__sweep_spec *s, const char *params, wbs__sweep_point *pt);
/* A real as JSON text that reads back as the same double and as a real
 * ("1.0", "0.1", "1e-05"): buf of at least 32 bytes. */
void wbs__sweep_real_text(double v, char *buf, size_t len);
/* A deep copy of v in which numbers written as reals stay reals when printed. */
cJSON *wbs__sweep_json_copy(const cJSON *v);

/* ---- yaml.c ---- */
/* text[0..len) as YAML, into the tree a JSON reader would give (plain
 * scalars typed as YAML 1.2's core schema, reals marked WBS__JSON_REAL).
 * NULL and a one-line message on a syntax error, an unsupported feature
 * (anchor, alias, tag, several documents) or a cap. */
cJSON *wbs__sweep_yaml_tree(const char *text, size_t len, char *err, size_t errlen);

/* ---- suggest.c ---- */
/* The random method's point for trial num (bayes starts with these). */
void wbs__sweep_random_point(const wbs__sweep_spec *s, uint64_t num, wbs__sweep_point *pt);

/* ---- tpe.c ---- */
/* The bayes sampler's knobs; wbs__tpe_default is what sweeps use, the
 * benchmark compares others. */
typedef struct wbs__tpe_opts {
	int multivariate;    /* 1: one joint kernel per trial over the unconditional parameters */
	int n_startup;       /* random points until this many trials have a value */
	int n_ei;            /* candidates drawn from l(x) */
	double prior_weight; /* the prior kernel's weight against 1 per trial */
	double bw_factor;    /* multivariate bandwidth: bw_factor * n^(-1/(d+4)) * range */
} wbs__tpe_opts;
extern const wbs__tpe_opts wbs__tpe_default;
int wbs__sweep_tpe_opts(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num,
			const wbs__tpe_opts *o, wbs__sweep_point *pt, char *err, size_t errlen);
int wbs__sweep_tpe(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num,
		   wbs__sweep_point *pt, char *err, size_t errlen);

#endif /* WB_SERVER_SWEEP_INT_H */
