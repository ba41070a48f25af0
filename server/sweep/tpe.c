/*
 * tpe.c — the bayes method: a Tree-structured Parzen Estimator (Bergstra et
 * al. 2011, as Hyperopt and Optuna build it), written for the server: one
 * suggestion is a few hundred thousand multiply-adds, well under a
 * millisecond at a thousand finished trials.
 *
 * How a point is chosen, given the trials so far:
 *  - Until 10 trials have a value, the point is the random method's.
 *  - Trials with a value are ranked by it (negated when maximizing); the
 *    best gamma(n) = min(ceil(n / 10), 25) are "good", the rest "bad".
 *    Trials still running (or pending) are bad with the worst value: the
 *    constant liar. Without it, K agents asking while K trials run would all
 *    be handed the same most promising point; with it each running point
 *    pushes the next suggestion away from itself, as a finished bad trial
 *    there would. Failed trials (and finished ones without a finite value)
 *    are left out: a crash usually says something about the machine (OOM,
 *    a lost node) rather than about the point, and counting it as worst
 *    would steer the search away from good regions by accident.
 *  - Each group becomes a Parzen estimator, l(x) for the good, g(x) for the
 *    bad: a weighted mixture of one kernel per trial plus a broad prior
 *    kernel (weight 1, Optuna's prior_weight), so an estimator built from
 *    one trial still covers the whole space. Old trials weigh less once
 *    there are more than 25 (Optuna's ramp). Numbers live in a space where
 *    the prior is uniform: log for the log distributions, the value itself
 *    otherwise; kernels are Gaussians truncated to the range; integers and
 *    q-steps are rounded on the way out. Categorical kernels put most of
 *    their mass on the trial's value and the prior's share on each other.
 *  - 24 candidates are drawn from l, and the one with the highest l/g
 *    (the expected improvement's monotone proxy) wins.
 *
 * Multivariate by default: the unconditional parameters share one kernel
 * per trial (a product over dimensions, bandwidth by Scott's rule as in
 * BOHB and Optuna's multivariate mode), which keeps what the good trials
 * have in common between parameters; independent TPE models each parameter
 * on its own and loses it. On Branin and Hartmann-6 the joint kernel wins
 * (tests/bench/bench_sweep_algo.c prints both). A parameter under a
 * condition is chosen afterwards, on its own (Optuna's univariate bandwidth:
 * the larger gap to a neighbour, clipped), from the trials in which it was
 * present, once the parameters its condition reads are known.
 *
 * Deterministic: the random numbers come from (seed, num); ties in the
 * ranking go to the earlier trial in t[]; t[] is taken as given (the store
 * passes trials in issue order, which the age weights rely on).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/sweep_int.h"

const wbs__tpe_opts wbs__tpe_default = {
	.multivariate = 1,
	.n_startup = 10,
	.n_ei = 24,
	.prior_weight = 1.0,
	.bw_factor = 0.05,
};

/* One dimension of an estimator: a parameter in the uniform-prior space. */
typedef struct dim {
	size_t param;   /* index in s->p */
	size_t nc;      /* categorical/constant: choices; 0 for a number */
	double low, high, pmu, psigma;
} dim;

/* A Parzen estimator: nk = observations + the prior (last) components
 * over nd dimensions, each dimension's terms precomputed. */
typedef struct kde {
	size_t nd, nk;
	double *w;      /* nk: normalised weights */
	double *logw;   /* nk */
	/* per dimension j, per component i at [j * nk + i] (a dimension's terms
	 * contiguous, so the density loop runs down one array at a time): */
	double *mu;     /* categorical: the observed index, -1 for the prior */
	double *isig;   /* 1 / sigma */
	double *base;   /* nk: log weight + the sum over numeric dimensions of -log(sigma) - log(Z) - log(2 pi) / 2 */
	double *lhit, *lmiss; /* nd: categorical log probabilities of the observed / another choice */
} kde;

static void kde_free(kde *k)
{
	free(k->w);
	free(k->logw);
	free(k->mu);
	free(k->isig);
	free(k->base);
	free(k->lhit);
	free(k->lmiss);
	memset(k, 0, sizeof(*k));
}

static double norm_cdf(double z)
{
	return 0.5 * erfc(-z * M_SQRT1_2);
}

typedef struct sort_item {
	double key;
	size_t idx;
} sort_item;

static int cmp_item(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Build an estimator over dims d[0..nd) from the observations
 * x[rows[i] * stride + d.param] (i < nobs; rows in chronological order).
 * multivariate: Scott's-rule bandwidth; else the neighbour-gap rule (nd 1).
 * 0, or -1 on out of memory.
 */
static int kde_build(kde *k, const dim *d, size_t nd, const double *x, size_t stride, const size_t *rows, size_t nobs,
		     const wbs__tpe_opts *o)
{
	size_t nk = nobs + 1, i, j;
	double sum = 0;
	sort_item *srt = NULL;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	k->nd = nd;
	k->nk = nk;
	k->w = malloc(nk * sizeof(double));
	k->logw = malloc(nk * sizeof(double));
	k->mu = malloc(nk * nd * sizeof(double));
	k->isig = malloc(nk * nd * sizeof(double));
	k->base = malloc(nk * sizeof(double));
	k->lhit = malloc(nd * sizeof(double));
	k->lmiss = malloc(nd * sizeof(double));
	srt = malloc(nk * sizeof(*srt));
	if (!k->w || !k->logw || !k->mu || !k->isig || !k->base || !k->lhit || !k->lmiss || !srt)
		goto done;
	/* weights: Optuna's ramp (older trials count less past 25), the prior last */
	for (i = 0; i < nobs; i++) {
		k->w[i] = 1.0;
		if (nobs >= 25 && i < nobs - 25)
			k->w[i] = nobs - 25 == 1 ? 1.0 / nobs
						 : 1.0 / nobs + (1.0 - 1.0 / nobs) * (double)i / (double)(nobs - 26);
	}
	k->w[nobs] = o->prior_weight;
	for (i = 0; i < nk; i++)
		sum += k->w[i];
	for (i = 0; i < nk; i++) {
		k->w[i] /= sum;
		k->logw[i] = log(k->w[i]);
		k->base[i] = k->logw[i];
	}
	for (j = 0; j < nd; j++) {
		const dim *dj = &d[j];
		double range = dj->high - dj->low, minsig, maxsig;
		if (dj->nc) {
			double v = o->prior_weight / (double)nk, z = v * (double)dj->nc + 1.0;
			k->lhit[j] = log((v + 1.0) / z);
			k->lmiss[j] = log(v / z);
			for (i = 0; i < nobs; i++)
				k->mu[j * nk + i] = x[rows[i] * stride + dj->param];
			k->mu[j * nk + nobs] = -1; /* the prior: uniform */
			continue;
		}
		for (i = 0; i < nobs; i++)
			k->mu[j * nk + i] = x[rows[i] * stride + dj->param];
		k->mu[j * nk + nobs] = dj->pmu;
		if (o->multivariate) {
			double sig = o->bw_factor * pow((double)(nobs ? nobs : 1), -1.0 / ((double)nd + 4.0)) * range;
			for (i = 0; i < nobs; i++)
				k->isig[j * nk + i] = sig;
		} else {
			/* the larger gap to a neighbour (the range's ends included), the prior's centre among them */
			for (i = 0; i < nk; i++) {
				srt[i].key = k->mu[j * nk + i];
				srt[i].idx = i;
			}
			qsort(srt, nk, sizeof(*srt), cmp_item);
			for (i = 0; i < nk; i++) {
				double lo = i ? srt[i - 1].key : dj->low, hi = i + 1 < nk ? srt[i + 1].key : dj->high;
				double sig = fmax(srt[i].key - lo, hi - srt[i].key);
				/* the outermost kernels ignore the range's ends (Optuna: consider_endpoints off) */
				if (nk >= 2 && i == 0)
					sig = srt[1].key - srt[0].key;
				if (nk >= 2 && i == nk - 1)
					sig = srt[nk - 1].key - srt[nk - 2].key;
				k->isig[j * nk + srt[i].idx] = sig;
			}
		}
		/* Optuna's magic clip: no kernel narrower than range / min(100, 1 + n) */
		minsig = range / fmin(100.0, 1.0 + (double)nk);
		maxsig = range;
		for (i = 0; i < nobs; i++) {
			double sig = fmin(fmax(k->isig[j * nk + i], minsig), maxsig);
			k->isig[j * nk + i] = sig;
		}
		k->isig[j * nk + nobs] = dj->psigma;
		{
			double last_sig = NAN, last_lsig = 0;
			for (i = 0; i < nk; i++) {
				double sig = k->isig[j * nk + i], m = k->mu[j * nk + i], a = (dj->low - m) / sig,
				       b = (dj->high - m) / sig;
				/* the truncation's mass; past 8 sigma on both sides it is 1 to 1e-15 */
				double lz = a < -8 && b > 8 ? 0.0 : log(fmax(norm_cdf(b) - norm_cdf(a), 1e-300));
				if (sig != last_sig) { /* multivariate: one bandwidth for all */
					last_sig = sig;
					last_lsig = log(sig);
				}
				k->base[i] += -last_lsig - lz - 0.5 * log(2 * M_PI);
				k->isig[j * nk + i] = 1.0 / sig;
			}
		}
	}
	rc = 0;
done:
	free(srt);
	if (rc)
		kde_free(k);
	return rc;
}

/* Draw one point of k into out[0..nd). */
static void kde_sample(const kde *k, const dim *d, wbs__rng *r, double *out)
{
	double u = wbs__rng_uniform(r), acc = 0;
	size_t c = k->nk - 1, j;

	for (size_t i = 0; i + 1 < k->nk; i++) {
		acc += k->w[i];
		if (u < acc) {
			c = i;
			break;
		}
	}
	for (j = 0; j < k->nd; j++) {
		const dim *dj = &d[j];
		if (dj->nc) {
			double obs = k->mu[j * k->nk + c];
			if (obs < 0 || dj->nc == 1) {
				out[j] = (double)wbs__rng_below(r, dj->nc);
			} else if (wbs__rng_uniform(r) < exp(k->lhit[j])) {
				out[j] = obs;
			} else { /* one of the others, alike */
				size_t o = (size_t)wbs__rng_below(r, dj->nc - 1);
				out[j] = (double)(o >= (size_t)obs ? o + 1 : o);
			}
		} else {
			double m = k->mu[j * k->nk + c], sig = 1.0 / k->isig[j * k->nk + c], v = m;
			/* rejection: with m inside the range and sig <= range, over a third of draws land */
			for (int tries = 0; tries < 200; tries++) {
				v = m + sig * wbs__rng_normal(r);
				if (v >= dj->low && v <= dj->high)
					break;
				v = fmin(fmax(v, dj->low), dj->high);
			}
			out[j] = v;
		}
	}
}

/* log k(x) for x[0..nd); lp: k->nk doubles of scratch. */
static double kde_logpdf(const kde *k, const dim *d, const double *x, double *lp)
{
	double best = -INFINITY, sum = 0;
	size_t i, j, nk = k->nk;

	memcpy(lp, k->base, nk * sizeof(double));
	for (j = 0; j < k->nd; j++) {
		const double *mu = k->mu + j * nk, *is = k->isig + j * nk;
		if (d[j].nc) {
			double prior = -log((double)d[j].nc);
			for (i = 0; i < nk; i++)
				lp[i] += mu[i] < 0 ? prior : (x[j] == mu[i] ? k->lhit[j] : k->lmiss[j]);
		} else {
			for (i = 0; i < nk; i++) { /* no branch: the compiler vectorises it */
				double z = (x[j] - mu[i]) * is[i];
				lp[i] -= 0.5 * z * z;
			}
		}
	}
	for (i = 0; i < nk; i++)
		best = lp[i] > best ? lp[i] : best;
	/* the mixture's log as max + log(sum of exp(differences)); a term below
	 * e^-40 of the largest changes nothing and would cost exp's slow path */
	for (i = 0; i < nk; i++)
		if (lp[i] - best > -40)
			sum += exp(lp[i] - best);
	return best + log(sum);
}

/* The dimension of parameter i (not constant). */
static dim make_dim(const wbs__sweep_param *p, size_t i)
{
	dim d = {.param = i};

	switch (p->dist) {
	case WBS__D_CATEGORICAL:
		d.nc = p->nvalues;
		return d;
	case WBS__D_INT_UNIFORM:
		d.low = p->min - 0.5;
		d.high = p->max + 0.5;
		break;
	case WBS__D_UNIFORM:
	case WBS__D_Q_UNIFORM:
	case WBS__D_LOG_UNIFORM: /* exponents already */
	case WBS__D_Q_LOG_UNIFORM:
	case WBS__D_INV_LOG_UNIFORM:
		d.low = p->min;
		d.high = p->max;
		break;
	case WBS__D_LOG_UNIFORM_VALUES:
	case WBS__D_Q_LOG_UNIFORM_VALUES:
	case WBS__D_INV_LOG_UNIFORM_VALUES:
		d.low = log(p->min);
		d.high = log(p->max);
		break;
	default: /* the normals: their prior is the normal itself, within 5 sigma */
		d.low = p->mu - 5 * p->sigma;
		d.high = p->mu + 5 * p->sigma;
		d.pmu = p->mu;
		d.psigma = p->sigma;
		return d;
	}
	d.pmu = 0.5 * (d.low + d.high);
	d.psigma = d.high - d.low;
	return d;
}

/* A trial's value of parameter p into the dimension's space, clamped. */
static double to_internal(const wbs__sweep_param *p, const dim *d, double v)
{
	switch (p->dist) {
	case WBS__D_CATEGORICAL:
	case WBS__D_CONSTANT:
		return v;
	case WBS__D_LOG_UNIFORM:
	case WBS__D_Q_LOG_UNIFORM:
	case WBS__D_LOG_UNIFORM_VALUES:
	case WBS__D_Q_LOG_UNIFORM_VALUES:
	case WBS__D_INV_LOG_UNIFORM_VALUES:
	case WBS__D_LOG_NORMAL:
	case WBS__D_Q_LOG_NORMAL:
		v = v > 0 ? log(v) : d->low;
		break;
	case WBS__D_INV_LOG_UNIFORM:
		v = v > 0 ? -log(v) : d->high;
		break;
	default:
		break;
	}
	return fmin(fmax(v, d->low), d->high);
}

static double quantize(double v, double q)
{
	return nearbyint(v / q) * q;
}

/* From the dimension's space back to the value a trial gets. */
static double to_external(const wbs__sweep_param *p, double v)
{
	switch (p->dist) {
	case WBS__D_INT_UNIFORM:
		return fmin(fmax(nearbyint(v), p->min), p->max);
	case WBS__D_Q_UNIFORM:
	case WBS__D_Q_NORMAL:
		return quantize(v, p->q);
	case WBS__D_LOG_UNIFORM:
	case WBS__D_LOG_UNIFORM_VALUES:
	case WBS__D_INV_LOG_UNIFORM_VALUES:
	case WBS__D_LOG_NORMAL:
		return exp(v);
	case WBS__D_Q_LOG_UNIFORM:
	case WBS__D_Q_LOG_UNIFORM_VALUES:
	case WBS__D_Q_LOG_NORMAL:
		return quantize(exp(v), p->q);
	case WBS__D_INV_LOG_UNIFORM:
		return exp(-v);
	default:
		return v;
	}
}

/* 1 if internal points a and b (nd values, b at row stride offsets d[k].param) give the same params. */
static int same_point(const wbs__sweep_spec *s, const dim *d, size_t nd, const double *a, const double *b)
{
	for (size_t k = 0; k < nd; k++) {
		const wbs__sweep_param *p = &s->p[d[k].param];
		double va = a[k], vb = b[d[k].param];
		if (d[k].nc ? va != vb : to_external(p, va) != to_external(p, vb))
			return 0;
	}
	return 1;
}

/*
 * Choose dims d[0..nd) by TPE from the good rows good[0..ng) and bad rows
 * bad[0..nb) of x (stride values a row; score[row] infinite for a running
 * trial), into out[0..nd) (the dimensions' space). The candidate with the
 * highest l/g wins, unless it is the point of a running trial and another
 * candidate is not (avoid: d covers every parameter the point varies): in a
 * discrete space the liar lowers a point's odds without ruling it out, and
 * two agents should not run one point at once.
 * 0, or -1 on out of memory.
 */
static int choose(const wbs__sweep_spec *s, const dim *d, size_t nd, const double *x, size_t stride,
		  const double *score, const size_t *good, size_t ng, const size_t *bad, size_t nb, int avoid,
		  const wbs__tpe_opts *o, wbs__rng *r, double *out)
{
	kde l, g;
	size_t ne = (size_t)o->n_ei;
	double *cand = malloc(ne * nd * sizeof(double)), *sc = malloc(ne * sizeof(double));
	double *lp = malloc((ng > nb ? ng : nb) * sizeof(double) + sizeof(double));
	size_t c, first_best = 0;
	int rc = -1;

	memset(&l, 0, sizeof(l));
	memset(&g, 0, sizeof(g));
	if (!cand || !sc || !lp || kde_build(&l, d, nd, x, stride, good, ng, o) ||
	    kde_build(&g, d, nd, x, stride, bad, nb, o))
		goto done;
	for (c = 0; c < ne; c++) {
		double *xc = cand + c * nd;
		kde_sample(&l, d, r, xc);
		sc[c] = kde_logpdf(&l, d, xc, lp) - kde_logpdf(&g, d, xc, lp);
	}
	for (size_t tries = 0; tries < ne; tries++) {
		size_t b = ne, k;
		for (c = 0; c < ne; c++) /* the best not yet ruled out (NaN: ruled out) */
			if (!isnan(sc[c]) && (b == ne || sc[c] > sc[b]))
				b = c;
		if (b == ne)
			break;
		if (tries == 0)
			first_best = b;
		for (k = 0; avoid && k < nb; k++)
			if (isinf(score[bad[k]]) && same_point(s, d, nd, cand + b * nd, x + bad[k] * stride))
				break;
		if (!avoid || k == nb) {
			first_best = b;
			break;
		}
		sc[b] = NAN;
	}
	memcpy(out, cand + first_best * nd, nd * sizeof(double));
	rc = 0;
done:
	kde_free(&l);
	kde_free(&g);
	free(cand);
	free(sc);
	free(lp);
	return rc;
}

int wbs__sweep_tpe_opts(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num,
			const wbs__tpe_opts *o, wbs__sweep_point *pt, char *err, size_t errlen)
{
	size_t np = s->np, m = 0, ndone = 0, ngood, i, j, nd = 0;
	int conditional = 0; /* some parameter has a condition: the joint group is not the whole point */
	double *x = NULL, *score = NULL, *out = NULL;
	unsigned char *present = NULL, *isgood = NULL;
	size_t *good = NULL, *bad = NULL, ng, nb;
	sort_item *rank = NULL;
	dim *dims = NULL;
	wbs__sweep_point tp = {0};
	wbs__rng r;
	int rc = -1;

	for (i = 0; i < n; i++)
		ndone += t[i].state == WBS__TRIAL_DONE && isfinite(t[i].value);
	if (ndone < (size_t)o->n_startup) {
		wbs__sweep_random_point(s, num, pt);
		return 0;
	}
	wbs__rng_seed(&r, s->seed, num, 0x7be0000ull);
	x = malloc(n * np * sizeof(double));
	present = malloc(n * np);
	score = malloc(n * sizeof(double));
	rank = malloc(n * sizeof(*rank));
	isgood = calloc(n, 1);
	good = malloc(n * sizeof(size_t));
	bad = malloc(n * sizeof(size_t));
	dims = malloc(np * sizeof(*dims));
	out = malloc(np * sizeof(double));
	tp.present = malloc(np);
	tp.x = malloc(np * sizeof(double));
	if (!x || !present || !score || !rank || !isgood || !good || !bad || !dims || !out || !tp.present || !tp.x)
		goto oom;
	for (j = 0; j < np; j++)
		dims[j] = make_dim(&s->p[j], j);

	/* the usable trials as rows: a value to learn from, or running (the liar) */
	for (i = 0; i < n; i++) {
		int st = t[i].state;
		if (st == WBS__TRIAL_FAILED || (st == WBS__TRIAL_DONE && !isfinite(t[i].value)))
			continue;
		if (wbs__sweep_point_read(s, t[i].params, &tp))
			continue;
		for (j = 0; j < np; j++) {
			present[m * np + j] = tp.present[j];
			x[m * np + j] = tp.present[j] ? to_internal(&s->p[j], &dims[j], tp.x[j]) : 0;
		}
		score[m] = st == WBS__TRIAL_DONE ? (s->maximize ? -t[i].value : t[i].value) : INFINITY;
		rank[m].key = score[m];
		rank[m].idx = m;
		m++;
	}
	qsort(rank, m, sizeof(*rank), cmp_item);
	ngood = (ndone + 9) / 10;
	if (ngood > 25)
		ngood = 25;
	for (i = 0; i < ngood && i < m; i++)
		isgood[rank[i].idx] = 1;

	memset(pt->present, 0, np);
	for (j = 0; j < np; j++)
		conditional |= s->p[j].nconds > 0;
	/* the unconditional parameters: one joint estimator, or one each */
	for (j = 0; j < np; j++)
		if (!s->p[j].nconds && s->p[j].dist != WBS__D_CONSTANT)
			dims[nd++] = make_dim(&s->p[j], j);
	for (size_t first = 0; first < nd; first += o->multivariate ? nd : 1) {
		size_t cnt = o->multivariate ? nd : 1;
		ng = nb = 0;
		for (i = 0; i < m; i++) {
			int all = 1;
			for (size_t k = first; k < first + cnt; k++)
				all &= present[i * np + dims[k].param];
			if (!all)
				continue;
			if (isgood[i])
				good[ng++] = i;
			else
				bad[nb++] = i;
		}
		if (choose(s, dims + first, cnt, x, np, score, good, ng, bad, nb, o->multivariate && !conditional, o, &r,
			   out))
			goto oom;
		for (size_t k = 0; k < cnt; k++) {
			size_t pj = dims[first + k].param;
			pt->present[pj] = 1;
			pt->x[pj] = dims[first + k].nc ? out[k] : to_external(&s->p[pj], out[k]);
		}
	}
	/* constants, and the conditional parameters in sampling order, on their own */
	for (j = 0; j < np; j++) {
		dim dj;
		if (!s->p[j].nconds) {
			if (s->p[j].dist == WBS__D_CONSTANT) {
				pt->present[j] = 1;
				pt->x[j] = 0;
			}
			continue;
		}
		if (!wbs__sweep_cond_holds(s, j, pt))
			continue;
		if (s->p[j].dist == WBS__D_CONSTANT) {
			pt->present[j] = 1;
			pt->x[j] = 0;
			continue;
		}
		dj = make_dim(&s->p[j], j);
		ng = nb = 0;
		for (i = 0; i < m; i++) {
			if (!present[i * np + j])
				continue;
			if (isgood[i])
				good[ng++] = i;
			else
				bad[nb++] = i;
		}
		{
			wbs__tpe_opts uo = *o;
			uo.multivariate = 0;
			if (choose(s, &dj, 1, x, np, score, good, ng, bad, nb, 0, &uo, &r, out))
				goto oom;
		}
		pt->present[j] = 1;
		pt->x[j] = dj.nc ? out[0] : to_external(&s->p[j], out[0]);
	}
	rc = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	free(x);
	free(present);
	free(score);
	free(rank);
	free(isgood);
	free(good);
	free(bad);
	free(dims);
	free(out);
	free(tp.present);
	free(tp.x);
	return rc;
}

int wbs__sweep_tpe(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num,
		   wbs__sweep_point *pt, char *err, size_t errlen)
{
	return wbs__sweep_tpe_opts(s, t, n, num, &wbs__tpe_default, pt, err, errlen);
}
