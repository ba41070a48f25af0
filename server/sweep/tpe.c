/*
 * tpe.c — the bayes method. For now the random sampler; the Parzen
 * estimator follows.
 */
#include "sweep/sweep_int.h"

int wbs__sweep_tpe(const wbs__sweep_spec *s, const wbs__sweep_trial *t, size_t n, uint64_t num,
		   wbs__sweep_point *pt, char *err, size_t errlen)
{
	(void)t;
	(void)n;
	(void)err;
	(void)errlen;
	wbs__sweep_random_point(s, num, pt);
	return 0;
}
