/*
 * sweep_fns.h — the two test functions of the sweep benchmarks, header-only
 * so a trial program (the end-to-end benchmark through server and agent)
 * evaluates exactly what bench_sweep_algo.c does. Both are minimised.
 *
 * Branin (2-D): x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887 at three
 * points. Hartmann-6 (6-D): x in [0, 1]^6; minimum -3.32237.
 * The spec heads give the same search spaces to wb: append ",\"seed\":N}"
 * (or just "}") to get a spec.
 */
#ifndef WB_BENCH_SWEEP_FNS_H
#define WB_BENCH_SWEEP_FNS_H

#include <math.h>

#define WB_BRANIN_MIN 0.397887
#define WB_HARTMANN6_MIN (-3.32237)

#define WB_BRANIN_SPEC_HEAD                                                                                           \
	"{\"method\":\"bayes\",\"metric\":{\"name\":\"f\",\"goal\":\"minimize\"},\"parameters\":{"                   \
	"\"x1\":{\"min\":-5.0,\"max\":10.0},\"x2\":{\"min\":0.0,\"max\":15.0}}"
#define WB_HARTMANN6_SPEC_HEAD                                                                                        \
	"{\"method\":\"bayes\",\"metric\":{\"name\":\"f\",\"goal\":\"minimize\"},\"parameters\":{"                   \
	"\"x1\":{\"min\":0.0,\"max\":1.0},\"x2\":{\"min\":0.0,\"max\":1.0},\"x3\":{\"min\":0.0,\"max\":1.0},"         \
	"\"x4\":{\"min\":0.0,\"max\":1.0},\"x5\":{\"min\":0.0,\"max\":1.0},\"x6\":{\"min\":0.0,\"max\":1.0}}"

static inline double wb_branin(const double *x)
{
	const double a = 1.0, b = 5.1 / (4.0 * M_PI * M_PI), c = 5.0 / M_PI, r = 6.0, s = 10.0,
		     t = 1.0 / (8.0 * M_PI);
	double u = x[1] - b * x[0] * x[0] + c * x[0] - r;

	return a * u * u + s * (1.0 - t) * cos(x[0]) + s;
}

static inline double wb_hartmann6(const double *x)
{
	static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
	static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
				       {0.05, 10, 17, 0.1, 8, 14},
				       {3, 3.5, 1.7, 10, 17, 8},
				       {17, 8, 0.05, 10, 0.1, 14}};
	static const double P[4][6] = {{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
				       {0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
				       {0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
				       {0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381}};
	double sum = 0;

	for (int i = 0; i < 4; i++) {
		double e = 0;
		for (int j = 0; j < 6; j++)
			e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
		sum += alpha[i] * exp(-e);
	}
	return -sum;
}

#endif /* WB_BENCH_SWEEP_FNS_H */
