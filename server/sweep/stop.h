/*
 * stop.h — early stopping for sweeps: which running trial to stop, and
 * when, from the learning curves the trials have reported so far.
 *
 * Rules (the spec's `early_terminate`):
 *   asha       asynchronous successive halving: rungs at min_iter·eta^k
 *              (below max_iter); a trial reaching a rung goes on only when
 *              it is in the top 1/eta of the trials of its bracket that
 *              reached that rung so far (at least the best one goes on).
 *   hyperband  several ASHA brackets; bracket b starts its rungs at
 *              min_iter·eta^b, and a trial's bracket follows from its
 *              number, in the proportions of Hyperband's brackets.
 *   median     a trial past grace_iter whose best value so far is worse
 *              than the median of the other trials' running averages at
 *              the same iteration (with at least min_trials others) stops.
 *
 * Pure computation: no SQLite, no HTTP, no global state. The caller hands
 * in every trial's curve; the answer depends only on the rule and the set
 * of curves (not on their order in the array).
 *
 * Iterations count work done (1 = after the first epoch): a trial's cost
 * is its last reported iteration.
 *
 * Threads: every function here is reentrant; a wbs__stop_rule is plain data.
 */
#ifndef WB_SERVER_SWEEP_STOP_H
#define WB_SERVER_SWEEP_STOP_H

#include <stddef.h>
#include <stdint.h>

#include "sweep/sweep.h"

#define WBS__STOP_BRACKETS_MAX 64
#define WBS__STOP_ITER_MAX 1000000000000000LL /* 1e15: min_iter, max_iter, grace_iter */

enum { WBS__STOP_NONE, WBS__STOP_ASHA, WBS__STOP_HYPERBAND, WBS__STOP_MEDIAN };

typedef struct wbs__stop_rule {
	int type;           /* WBS__STOP_* */
	const char *iter;   /* the iteration key; NULL = the step of the sweep's metric */
	int maximize;       /* the metric's goal */
	uint64_t seed;      /* the sweep's seed: bracket assignment */
	int64_t min_iter;   /* asha, hyperband: the first rung of bracket 0 */
	int64_t max_iter;   /* asha, hyperband: rungs lie below it; 0 = no bound */
	int64_t eta;        /* asha, hyperband: >= 2 */
	int brackets;       /* asha, hyperband: 1..WBS__STOP_BRACKETS_MAX */
	int64_t grace_iter; /* median: no stop before this iteration */
	int min_trials;     /* median: other trials needed at the iteration */
} wbs__stop_rule;

/*
 * The spec's early-stopping rule into *r (strings live as long as s).
 * Returns the rule's type; WBS__STOP_NONE (and r zeroed) when the spec has
 * no early_terminate.
 */
int wbs__stop_rule_of(const wbs__sweep_spec *s, wbs__stop_rule *r);

typedef struct wbs__stop_point {
	int64_t iter;
	double value; /* the metric as reported (not negated); NaN counts as the worst */
} wbs__stop_point;

typedef struct wbs__stop_trial {
	uint64_t num;               /* the trial's number in the sweep (its bracket) */
	int state;                  /* WBS__TRIAL_*; the decisions count every trial's reported values
				       whatever its state: a value a crashed or stopped trial reached at a
				       rung was measured all the same */
	const wbs__stop_point *pts; /* strictly ascending iter; borrowed */
	size_t npts;
} wbs__stop_trial;

typedef struct wbs__stop_decision {
	int stop;         /* 1: stop the trial now */
	int bracket;      /* asha, hyperband: the trial's bracket; else -1 */
	int rung;         /* asha, hyperband: index in the bracket of the rung decided at (stop or
			     go on); -1 when this report reached no new rung, and for median */
	int64_t rung_iter; /* that rung's iteration; for median the iteration judged */
	double cutoff;    /* the value that had to be matched: NaN when none applied */
} wbs__stop_decision;

/*
 * Decide for trial t[which], which has just reported iteration it (its
 * points past it are ignored), against all trials t[0..n) as they stand
 * (t[which] among them; other trials' points are taken as reported so
 * far). ASHA judges each rung in (previous iteration, it]: the trial's value
 * at a rung is its value at the first iteration at or past the rung, and
 * ties go on. Returns 0 and *out; -1 and a message in err on bad input
 * (which >= n, points out of order, a rule with no type) or out of memory.
 */
int wbs__stop_decide(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, size_t which, int64_t it,
		     wbs__stop_decision *out, char *err, size_t errlen);

/* One rung of one bracket, for the sweep page. */
typedef struct wbs__stop_rung {
	int bracket;
	int rung;      /* index in the bracket */
	int64_t iter;
	size_t trials; /* trials of the bracket that reached the rung */
	double cutoff; /* the value a trial reaching the rung now must match; NaN when no trial reached it */
} wbs__stop_rung;

/*
 * The rungs of every bracket (bracket by bracket, ascending iteration) with
 * their statistics over t[0..n). Rungs of an unbounded rule stop at the
 * largest iteration reported. Returns 0 and *out (malloc'd, caller frees;
 * NULL when *nout is 0, as for median); -1 and a message on bad input or
 * out of memory.
 */
int wbs__stop_rungs(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, wbs__stop_rung **out,
		    size_t *nout, char *err, size_t errlen);

/* Compute saved: steps run against the steps of the same trials at full budget. */
typedef struct wbs__stop_saved {
	uint64_t steps_run;  /* sum of the trials' last iterations */
	uint64_t steps_full; /* trials × full budget (max_iter, else the largest iteration reported) */
	double saved;        /* 1 - run / full; 0 when full is 0 */
} wbs__stop_saved;
void wbs__stop_compute_saved(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, wbs__stop_saved *out);

#endif /* WB_SERVER_SWEEP_STOP_H */
