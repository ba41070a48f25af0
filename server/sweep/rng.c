/*
 * rng.c — the samplers' random numbers: xoshiro256** seeded through
 * splitmix64 from (sweep seed, trial number, stream). No global state, so
 * a trial's parameters depend only on those numbers and the trials so far:
 * the same suggestion comes back after a server restart, on any thread.
 */
#include <math.h>

#include "sweep/sweep_int.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void wbs__rng_seed(wbs__rng *r, uint64_t a, uint64_t b, uint64_t c)
{
	/* each input goes through the mixer on its own, so (1, 0) and (0, 1) differ */
	uint64_t x = a;

	x = splitmix64(&x) ^ b;
	x = splitmix64(&x) ^ c;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t wbs__rng_next(wbs__rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double wbs__rng_uniform(wbs__rng *r)
{
	return (double)(wbs__rng_next(r) >> 11) * 0x1.0p-53;
}

double wbs__rng_normal(wbs__rng *r)
{
	/* Box-Muller; 1 - u keeps the log's argument in (0, 1] */
	double u = 1.0 - wbs__rng_uniform(r), v = wbs__rng_uniform(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

uint64_t wbs__rng_below(wbs__rng *r, uint64_t n)
{
	/* Lemire's rejection keeps every value equally likely */
	uint64_t x = wbs__rng_next(r), lim = -n % n;
	__uint128_t m = (__uint128_t)x * n;

	while ((uint64_t)m < lim) {
		x = wbs__rng_next(r);
		m = (__uint128_t)x * n;
	}
	return (uint64_t)(m >> 64);
}
