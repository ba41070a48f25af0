/*
 * sweep.h — hyperparameter sweeps: the spec (W&B's sweep configuration, as
 * JSON or YAML) and the samplers that choose each trial's parameters (grid,
 * random, bayes = a Tree-structured Parzen Estimator).
 *
 * Pure computation: no SQLite, no HTTP, no global state. The store keeps
 * the trials and hands them in; wbs__sweep_suggest turns (spec, trials so
 * far, trial number) into the next trial's parameters, deterministically.
 *
 * Threads: a parsed spec is immutable and may be read from many threads at
 * once; every function here is reentrant.
 */
#ifndef WB_SERVER_SWEEP_H
#define WB_SERVER_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#define WBS__SWEEP_SPEC_MAX (1024u * 1024u) /* bytes of spec text */
#define WBS__SWEEP_GRID_MAX 100000u         /* grid points */

typedef struct wbs__sweep_spec wbs__sweep_spec; /* immutable after parse; may be read from many threads */

/*
 * Parse and validate a sweep spec: text[0..len) is JSON if its first
 * non-space byte is '{', else YAML. Returns 0 and *out (free it with
 * wbs__sweep_spec_free), or -1 with a one-line message in err, of the form
 * "$.path: reason" for a bad field ("$.parameters.lr.min: must be below max").
 */
int wbs__sweep_spec_parse(const char *text, size_t len, wbs__sweep_spec **out, char *err, size_t errlen);
void wbs__sweep_spec_free(wbs__sweep_spec *s); /* NULL is fine */

/* The normalised spec as JSON text (malloc'd, caller frees; NULL on out of
 * memory): every default filled in, every distribution explicit, parameters
 * sorted by name. It parses back to the same spec and the same text. */
char *wbs__sweep_spec_json(const wbs__sweep_spec *s);
const char *wbs__sweep_spec_method(const wbs__sweep_spec *s); /* "grid" | "random" | "bayes" */
const char *wbs__sweep_spec_name(const wbs__sweep_spec *s);   /* NULL if none; lives as long as s */
const char *wbs__sweep_spec_metric(const wbs__sweep_spec *s); /* NULL if none; lives as long as s */
int wbs__sweep_spec_maximize(const wbs__sweep_spec *s);       /* 1 if the metric's goal is maximize */
/* Trials to issue at most (not counting re-issues): run_cap, or the grid
 * size (the smaller of the two for a grid), or 0 = unbounded. */
uint64_t wbs__sweep_spec_cap(const wbs__sweep_spec *s);
int wbs__sweep_spec_lease_seconds(const wbs__sweep_spec *s);
int wbs__sweep_spec_reissue(const wbs__sweep_spec *s);

enum { WBS__TRIAL_PENDING, WBS__TRIAL_RUNNING, WBS__TRIAL_DONE, WBS__TRIAL_FAILED };
typedef struct wbs__sweep_trial {
	const char *params; /* JSON object text as issued (nested objects for dotted keys) */
	int state;          /* RUNNING (leased or running: constant liar), DONE (value valid), FAILED (no value) */
	double value;       /* the metric as reported (not negated); NaN when none */
} wbs__sweep_trial;

/*
 * Params for the num-th issued trial given the trials so far t[0..n) (any
 * order, re-issues included; PENDING ones count as RUNNING). Deterministic
 * in (spec seed, num, trials). Returns 0 and *params (malloc'd JSON object
 * text, caller frees); 1 when there is nothing left (grid exhausted); -1 and
 * a message in err (out of memory).
 */
int wbs__sweep_suggest(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num, char **params,
		       char *err, size_t errlen);

#endif /* WB_SERVER_SWEEP_H */
