/*
 * stop.c — early stopping: the spec's `early_terminate` validated and
 * normalised, and the decisions of ASHA, Hyperband and median stopping.
 *
 * The decision is a pure function of the rule and the curves the trials
 * reported so far, recomputed on each report rather than kept as running
 * state (Ray Tune keeps each rung's recorded values in memory; Optuna keeps
 * them as trial attributes). The store already holds every curve, a server
 * restart then loses nothing, and a rung's cut-off is the same whichever
 * order the trials sit in. Recomputing costs one pass over the trials per
 * rung reached, which is nothing next to a training step.
 *
 * ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning")
 * is asynchronous: a trial is judged when it reaches a rung, against the
 * trials of its bracket that reached that rung before it; at least the best
 * one goes on, so the first trial at a rung always does (no trial waits for
 * others, as in Optuna's successive halving). A trial that reports sparsely
 * and passes several rungs at once is judged at each of them in turn, with
 * its value at the first iteration at or past the rung. There is no rung at
 * max_iter: a trial that got there has spent its budget and keeps its value.
 *
 * Hyperband runs brackets of ASHA side by side, bracket b with rungs from
 * min_iter·eta^b, so the last brackets stop late or never: a hedge against
 * curves that start slow and end well. A trial's bracket is drawn from its
 * number and the sweep's seed in the proportions Hyperband gives its
 * brackets (Optuna's HyperbandPruner does the same with a CRC of the trial
 * number; Ray draws at random): deterministic, so the decision recomputed
 * after a restart is the one made before.
 *
 * Median stopping (Google Vizier's rule, as Ray's MedianStoppingRule and
 * Optuna's MedianPruner have it) compares a trial's best value so far with
 * the median of the other trials' running averages at the same iteration.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/stop.h"
#include "sweep/sweep_int.h"

#define ET "$.early_terminate"
#define ITER_KEY_MAX 256u
#define MIN_TRIALS_MAX 1000000
#define ETA_MAX 1000
#define GRACE_SECONDS_MAX 86400

/* ---- the spec ---- */

static int et_fail(char *err, size_t errlen, const char *member, const char *reason)
{
	snprintf(err, errlen, ET "%s%.64s: %s", member ? "." : "", member ? member : "", reason);
	for (char *q = err; *q; q++) /* members and types are echoed: keep the message one printable line */
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return -1;
}

/* Member key of e as an integer in [lo, hi] into *out; *given says whether it is there. */
static int et_int(const cJSON *e, const char *key, int64_t lo, int64_t hi, int64_t *out, int *given, char *err,
		  size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	char reason[96];

	*given = v != NULL;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 9007199254740992.0)
		return et_fail(err, errlen, key, "must be an integer");
	if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
		snprintf(reason, sizeof(reason), "must be %lld..%lld", (long long)lo, (long long)hi);
		return et_fail(err, errlen, key, reason);
	}
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* min·eta^j, or -1 past WBS__STOP_ITER_MAX (so never an overflow). */
static int64_t scaled(int64_t min, int64_t eta, int j)
{
	int64_t v = min;

	for (; j > 0; j--) {
		if (v > WBS__STOP_ITER_MAX / eta)
			return -1;
		v *= eta;
	}
	return v;
}

/* Hyperband's s_max + 1: how many j >= 0 have min·eta^j <= max. */
static int levels(int64_t min, int64_t eta, int64_t max)
{
	int j = 0;
	int64_t v;

	while (j < WBS__STOP_BRACKETS_MAX && (v = scaled(min, eta, j)) >= 0 && v <= max)
		j++;
	return j;
}

cJSON *wbs__stop_spec_norm(const cJSON *e, int has_metric, char *err, size_t errlen)
{
	/* "s" last: hyperband only (W&B's form) */
	static const char *const RUNGS[] = {"type", "iter", "min_iter", "max_iter", "eta", "brackets", "grace_seconds", "s"};
	static const char *const MEDIAN[] = {"type", "iter", "grace_iter", "min_trials", "grace_seconds"};
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
	const cJSON *iter = cJSON_GetObjectItemCaseSensitive(e, "iter");
	const cJSON *m;
	const char *const *allowed;
	size_t nallowed, i;
	int kind, given_min, given_max, given_eta, given_b, given_s, given;
	int64_t min = 1, max = 0, eta = 3, brackets = 1, s = 0, grace = 1, min_trials = 3, grace_s = 30;
	cJSON *norm = NULL, *out = NULL;
	char reason[160];

	if (!cJSON_IsObject(e)) {
		et_fail(err, errlen, NULL, "must be an object {\"type\": \"asha\" | \"hyperband\" | \"median\", ...}");
		goto done;
	}
	if (!type) {
		et_fail(err, errlen, "type", "required (asha, hyperband or median)");
		goto done;
	}
	if (!cJSON_IsString(type)) {
		et_fail(err, errlen, "type", "must be asha, hyperband or median");
		goto done;
	}
	if (!strcmp(type->valuestring, "asha"))
		kind = WBS__STOP_ASHA;
	else if (!strcmp(type->valuestring, "hyperband"))
		kind = WBS__STOP_HYPERBAND;
	else if (!strcmp(type->valuestring, "median"))
		kind = WBS__STOP_MEDIAN;
	else {
		snprintf(reason, sizeof(reason), "must be asha, hyperband or median, not \"%.32s\"", type->valuestring);
		et_fail(err, errlen, "type", reason);
		goto done;
	}
	if (!has_metric) {
		et_fail(err, errlen, NULL, "needs the sweep's metric ($.metric) to compare trials by");
		goto done;
	}
	allowed = kind == WBS__STOP_MEDIAN ? MEDIAN : RUNGS;
	nallowed = kind == WBS__STOP_MEDIAN ? sizeof(MEDIAN) / sizeof(MEDIAN[0])
					    : sizeof(RUNGS) / sizeof(RUNGS[0]) - (kind == WBS__STOP_ASHA);
	cJSON_ArrayForEach(m, e)
	{
		for (i = 0; i < nallowed && strcmp(m->string, allowed[i]); i++)
			;
		if (i == nallowed) {
			size_t at = (size_t)snprintf(reason, sizeof(reason), "unknown member (%s takes",
						     type->valuestring);
			for (i = 0; i < nallowed && at < sizeof(reason); i++)
				at += (size_t)snprintf(reason + at, sizeof(reason) - at, "%s %s", i ? "," : "",
						       allowed[i]);
			if (at < sizeof(reason))
				snprintf(reason + at, sizeof(reason) - at, ")");
			et_fail(err, errlen, m->string, reason);
			goto done;
		}
	}
	if (iter && (!cJSON_IsString(iter) || !iter->valuestring[0] || strlen(iter->valuestring) > ITER_KEY_MAX)) {
		et_fail(err, errlen, "iter", "must be a metric key of 1..256 bytes");
		goto done;
	}
	/* how long a trainer told to stop has to end by itself before its agent signals it */
	if (et_int(e, "grace_seconds", 0, GRACE_SECONDS_MAX, &grace_s, &given, err, errlen))
		goto done;
	norm = cJSON_CreateObject();
	if (!norm || !cJSON_AddStringToObject(norm, "type", type->valuestring) ||
	    (iter && !cJSON_AddStringToObject(norm, "iter", iter->valuestring)) ||
	    (given && !cJSON_AddNumberToObject(norm, "grace_seconds", (double)grace_s)))
		goto oom;
	if (kind == WBS__STOP_MEDIAN) {
		if (et_int(e, "grace_iter", 0, WBS__STOP_ITER_MAX, &grace, &given, err, errlen) ||
		    et_int(e, "min_trials", 1, MIN_TRIALS_MAX, &min_trials, &given, err, errlen))
			goto done;
		if (!cJSON_AddNumberToObject(norm, "grace_iter", (double)grace) ||
		    !cJSON_AddNumberToObject(norm, "min_trials", (double)min_trials))
			goto oom;
		out = norm;
		norm = NULL;
		goto done;
	}
	if (et_int(e, "min_iter", 1, WBS__STOP_ITER_MAX, &min, &given_min, err, errlen) ||
	    et_int(e, "max_iter", 1, WBS__STOP_ITER_MAX, &max, &given_max, err, errlen) ||
	    et_int(e, "eta", 2, ETA_MAX, &eta, &given_eta, err, errlen) ||
	    et_int(e, "brackets", 1, WBS__STOP_BRACKETS_MAX, &brackets, &given_b, err, errlen) ||
	    et_int(e, "s", 1, WBS__STOP_BRACKETS_MAX - 1, &s, &given_s, err, errlen))
		goto done;
	if (given_s) { /* W&B's form: max_iter and s brackets below it */
		int64_t v;
		if (!given_max) {
			et_fail(err, errlen, "s", "needs max_iter (the first rung is max_iter / eta^s)");
			goto done;
		}
		if (given_min) {
			et_fail(err, errlen, "s", "give min_iter or s, not both");
			goto done;
		}
		v = scaled(1, eta, (int)s);
		if (v < 0 || v > max) {
			et_fail(err, errlen, "s", "max_iter / eta^s is below 1");
			goto done;
		}
		min = max / v;
	}
	if (given_max && max <= min) {
		et_fail(err, errlen, "max_iter", "must be above min_iter");
		goto done;
	}
	if (!given_b && kind == WBS__STOP_HYPERBAND && given_max)
		brackets = levels(min, eta, max);
	if (brackets > 1 && !given_max) {
		et_fail(err, errlen, "brackets", "more than one bracket needs max_iter");
		goto done;
	}
	if (given_max && brackets > levels(min, eta, max)) {
		snprintf(reason, sizeof(reason), "at most %d with min_iter %lld, max_iter %lld and eta %lld",
			 levels(min, eta, max), (long long)min, (long long)max, (long long)eta);
		et_fail(err, errlen, "brackets", reason);
		goto done;
	}
	if (!cJSON_AddNumberToObject(norm, "min_iter", (double)min) ||
	    (given_max && !cJSON_AddNumberToObject(norm, "max_iter", (double)max)) ||
	    !cJSON_AddNumberToObject(norm, "eta", (double)eta) ||
	    !cJSON_AddNumberToObject(norm, "brackets", (double)brackets))
		goto oom;
	out = norm;
	norm = NULL;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	cJSON_Delete(norm);
	return out;
}

static int64_t norm_int(const cJSON *et, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(et, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

int wbs__stop_rule_of(const wbs__sweep_spec *s, wbs__stop_rule *r)
{
	const cJSON *et = cJSON_GetObjectItemCaseSensitive(s->norm, "early_terminate");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(et, "type");
	const cJSON *iter = cJSON_GetObjectItemCaseSensitive(et, "iter");

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsString(type)) /* the spec was validated: absent, not wrong */
		return WBS__STOP_NONE;
	r->type = !strcmp(type->valuestring, "asha")	  ? WBS__STOP_ASHA
		  : !strcmp(type->valuestring, "hyperband") ? WBS__STOP_HYPERBAND
							    : WBS__STOP_MEDIAN;
	r->iter = cJSON_IsString(iter) ? iter->valuestring : NULL;
	r->maximize = s->maximize;
	r->seed = s->seed;
	r->min_iter = norm_int(et, "min_iter", 1);
	r->max_iter = norm_int(et, "max_iter", 0);
	r->eta = norm_int(et, "eta", 3);
	r->brackets = (int)norm_int(et, "brackets", 1);
	r->grace_iter = norm_int(et, "grace_iter", 1);
	r->min_trials = (int)norm_int(et, "min_trials", 3);
	return r->type;
}

/* ---- decisions ---- */

/* 1 if a is at least as good as b under the goal; NaN is worse than anything. */
static int as_good(double a, double b, int maximize)
{
	if (isnan(a))
		return isnan(b);
	if (isnan(b))
		return 1;
	return maximize ? a >= b : a <= b;
}

static int cmp_min(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b); /* NaN last */
	return (a > b) - (a < b);
}

static int cmp_max(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return (a < b) - (a > b);
}

/* Sort v[0..m) best first (by the goal), NaN last. */
static void sort_best_first(double *v, size_t m, int maximize)
{
	qsort(v, m, sizeof(*v), maximize ? cmp_max : cmp_min);
}

static int rule_ok(const wbs__stop_rule *r)
{
	if (r->type == WBS__STOP_MEDIAN)
		return r->min_trials >= 1;
	return (r->type == WBS__STOP_ASHA || r->type == WBS__STOP_HYPERBAND) && r->min_iter >= 1 && r->eta >= 2 &&
	       r->brackets >= 1 && r->brackets <= WBS__STOP_BRACKETS_MAX && r->max_iter >= 0;
}

/* The iteration of rung k of bracket b, or -1 when there is no such rung
 * (at or past max_iter, or past WBS__STOP_ITER_MAX). */
static int64_t rung_iter(const wbs__stop_rule *r, int b, int k)
{
	int64_t v = scaled(r->min_iter, r->eta, b + k);

	return v < 0 || (r->max_iter > 0 && v >= r->max_iter) ? -1 : v;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/*
 * Bracket shares: Hyperband gives bracket b (s = B-1-b in the paper's
 * terms) n_s = ceil(B·eta^s / (s+1)) trials, so bracket 0, the one that
 * stops earliest, gets the most. Returns their sum.
 */
static uint64_t bracket_shares(const wbs__stop_rule *r, uint64_t *share)
{
	uint64_t total = 0;
	int b, B = r->brackets;

	for (b = 0; b < B; b++) {
		int s = B - 1 - b;
		uint64_t p = 1;
		for (int j = 0; j < s; j++)
			p = sat_mul(p, (uint64_t)r->eta);
		p = sat_mul(p, (uint64_t)B);
		share[b] = p / (uint64_t)(s + 1) + (p % (uint64_t)(s + 1) != 0);
		total = sat_add(total, share[b]);
	}
	return total;
}

/* The bracket of trial number num: its number and the seed hashed onto the shares. */
static int bracket_of(const wbs__stop_rule *r, const uint64_t *share, uint64_t total, uint64_t num)
{
	wbs__rng rng;
	uint64_t h;
	int b;

	if (r->brackets <= 1)
		return 0;
	wbs__rng_seed(&rng, r->seed, num, 0x6879706572ull /* "hyper" */);
	h = wbs__rng_below(&rng, total);
	for (b = 0; b < r->brackets - 1 && h >= share[b]; b++)
		h -= share[b];
	return b;
}

/* brk[j] = the bracket of trial j, for j < n. */
static void brackets_of(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, int *brk)
{
	uint64_t share[WBS__STOP_BRACKETS_MAX], total = bracket_shares(r, share);

	for (size_t j = 0; j < n; j++)
		brk[j] = bracket_of(r, share, total, t[j].num);
}

/* Index of the first point of t at or past iter, or t->npts. */
static size_t first_at(const wbs__stop_trial *t, int64_t iter)
{
	size_t lo = 0, hi = t->npts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->pts[mid].iter < iter)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The values at rung iteration ri of the trials of bracket b (brk[j] is
 * trial j's bracket) that reached it, into v (room for n); skip is a trial
 * left out (n for none). Returns their count.
 */
static size_t rung_values(const wbs__stop_trial *t, size_t n, const int *brk, int b, int64_t ri, size_t skip,
			  double *v)
{
	size_t j, m = 0, k;

	for (j = 0; j < n; j++) {
		if (j == skip || brk[j] != b)
			continue;
		k = first_at(&t[j], ri);
		if (k < t[j].npts)
			v[m++] = t[j].pts[k].value;
	}
	return m;
}

/* The cut-off at a rung whose m other reached values are v[0..m): what a
 * newcomer must match to be in the top max(1, floor((m+1)/eta)). */
static double rung_cutoff(const wbs__stop_rule *r, double *v, size_t m)
{
	size_t keep = (m + 1) / (size_t)r->eta;

	if (!m)
		return NAN;
	if (keep < 1)
		keep = 1;
	sort_best_first(v, m, r->maximize);
	return v[keep - 1]; /* keep <= m since eta >= 2 */
}

static int decide_rungs(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, size_t which, size_t last,
			wbs__stop_decision *out, char *err, size_t errlen)
{
	const wbs__stop_trial *me = &t[which];
	int64_t prev = last > 0 ? me->pts[last - 1].iter : INT64_MIN, it = me->pts[last].iter, ri;
	double *v = NULL, mine = me->pts[last].value;
	uint64_t share[WBS__STOP_BRACKETS_MAX], total = bracket_shares(r, share);
	int *brk = NULL, k, rc = -1;
	size_t m;

	out->bracket = bracket_of(r, share, total, me->num);
	for (k = 0; (ri = rung_iter(r, out->bracket, k)) >= 0 && ri <= it; k++) {
		if (ri <= prev)
			continue; /* judged on an earlier report */
		if (!v) { /* most reports reach no rung: only those pay for the pass over the trials */
			v = malloc(n * sizeof(*v));
			brk = malloc(n * sizeof(*brk));
			if (!v || !brk) {
				snprintf(err, errlen, "out of memory");
				goto done;
			}
			brackets_of(r, t, n, brk);
		}
		/* prev < ri <= it: the trial's value at the rung is the one at it */
		m = rung_values(t, n, brk, out->bracket, ri, which, v);
		out->rung = k;
		out->rung_iter = ri;
		out->cutoff = rung_cutoff(r, v, m);
		if (!as_good(mine, out->cutoff, r->maximize) || isnan(mine)) {
			out->stop = 1;
			break;
		}
	}
	rc = 0;
done:
	free(v);
	free(brk);
	return rc;
}

static int decide_median(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, size_t which, size_t last,
			 wbs__stop_decision *out, char *err, size_t errlen)
{
	const wbs__stop_trial *me = &t[which];
	int64_t it = me->pts[last].iter;
	double *v = NULL, best = NAN, med;
	size_t i, j, m = 0;
	int rc = -1;

	out->rung_iter = it;
	if (it < r->grace_iter)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	for (i = 0; i <= last; i++)
		if (!isnan(me->pts[i].value) && (isnan(best) || as_good(me->pts[i].value, best, r->maximize)))
			best = me->pts[i].value;
	for (j = 0; j < n; j++) {
		double sum = 0;
		size_t cnt = 0, end;
		if (j == which || !t[j].npts || t[j].pts[t[j].npts - 1].iter < it)
			continue; /* not there yet */
		end = first_at(&t[j], it);
		if (end < t[j].npts && t[j].pts[end].iter == it)
			end++;
		for (i = 0; i < end; i++)
			if (!isnan(t[j].pts[i].value)) {
				sum += t[j].pts[i].value;
				cnt++;
			}
		if (cnt)
			v[m++] = sum / (double)cnt;
	}
	rc = 0;
	if (m < (size_t)r->min_trials)
		goto done;
	sort_best_first(v, m, 0);
	med = m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
	out->cutoff = med;
	out->stop = isnan(best) || !as_good(best, med, r->maximize);
done:
	free(v);
	return rc;
}

int wbs__stop_decide(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, size_t which, int64_t it,
		     wbs__stop_decision *out, char *err, size_t errlen)
{
	const wbs__stop_trial *me;
	size_t i, last;

	out->stop = 0;
	out->bracket = -1;
	out->rung = -1;
	out->rung_iter = -1;
	out->cutoff = NAN;
	if (!rule_ok(r)) {
		snprintf(err, errlen, "early stopping: no valid rule");
		return -1;
	}
	if (which >= n) {
		snprintf(err, errlen, "early stopping: trial %zu of %zu", which, n);
		return -1;
	}
	if (n > SIZE_MAX / sizeof(double)) {
		snprintf(err, errlen, "early stopping: %zu trials is too many", n);
		return -1;
	}
	me = &t[which];
	for (i = 1; i < me->npts; i++)
		if (me->pts[i].iter <= me->pts[i - 1].iter) {
			snprintf(err, errlen, "early stopping: trial %llu: iterations not ascending at point %zu",
				 (unsigned long long)me->num, i);
			return -1;
		}
	last = first_at(me, it);
	if (last == me->npts || me->pts[last].iter != it) {
		if (last == 0)
			return 0; /* nothing reported up to it: nothing to judge */
		last--;
	}
	if (r->type == WBS__STOP_MEDIAN)
		return decide_median(r, t, n, which, last, out, err, errlen);
	return decide_rungs(r, t, n, which, last, out, err, errlen);
}

int wbs__stop_rungs(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, wbs__stop_rung **out,
		    size_t *nout, char *err, size_t errlen)
{
	wbs__stop_rung *rungs = NULL;
	double *v = NULL;
	int *brk = NULL, b, k, rc = -1;
	int64_t top = 0, ri;
	size_t j, cnt = 0, cap = 0;

	*out = NULL;
	*nout = 0;
	if (!rule_ok(r)) {
		snprintf(err, errlen, "early stopping: no valid rule");
		return -1;
	}
	if (r->type == WBS__STOP_MEDIAN)
		return 0;
	if (n > SIZE_MAX / sizeof(double)) {
		snprintf(err, errlen, "early stopping: %zu trials is too many", n);
		return -1;
	}
	for (j = 0; j < n; j++)
		if (t[j].npts && t[j].pts[t[j].npts - 1].iter > top)
			top = t[j].pts[t[j].npts - 1].iter;
	v = malloc((n ? n : 1) * sizeof(*v));
	brk = malloc((n ? n : 1) * sizeof(*brk));
	if (!v || !brk)
		goto oom;
	brackets_of(r, t, n, brk);
	for (b = 0; b < r->brackets; b++)
		for (k = 0; (ri = rung_iter(r, b, k)) >= 0 && (r->max_iter > 0 || ri <= top); k++) {
			size_t m = rung_values(t, n, brk, b, ri, n, v);
			if (cnt == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				wbs__stop_rung *nr = realloc(rungs, ncap * sizeof(*nr));
				if (!nr)
					goto oom;
				rungs = nr;
				cap = ncap;
			}
			rungs[cnt].bracket = b;
			rungs[cnt].rung = k;
			rungs[cnt].iter = ri;
			rungs[cnt].trials = m;
			rungs[cnt].cutoff = rung_cutoff(r, v, m);
			cnt++;
		}
	*out = rungs;
	*nout = cnt;
	rungs = NULL;
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	free(rungs);
	free(v);
	free(brk);
	return rc;
}

void wbs__stop_compute_saved(const wbs__stop_rule *r, const wbs__stop_trial *t, size_t n, wbs__stop_saved *out)
{
	uint64_t full = r->max_iter > 0 ? (uint64_t)r->max_iter : 0;
	size_t j;

	out->steps_run = 0;
	for (j = 0; j < n; j++) {
		int64_t last = t[j].npts ? t[j].pts[t[j].npts - 1].iter : 0;
		if (last <= 0)
			continue;
		out->steps_run = sat_add(out->steps_run, (uint64_t)last);
		if ((uint64_t)last > full) /* a trainer that runs past max_iter sets the full budget */
			full = (uint64_t)last;
	}
	out->steps_full = sat_mul(full, (uint64_t)n);
	out->saved = out->steps_full ? 1.0 - (double)out->steps_run / (double)out->steps_full : 0.0;
}
