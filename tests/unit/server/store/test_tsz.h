/*
 * test_tsz.h — what the chunk codec's tests (test_tsz_codec.c) and the
 * downsampling tests (test_tsz_downsample.c) share: a seeded generator, so a
 * failure repeats, and double <-> bits conversions.
 */
#ifndef WB_TEST_TSZ_H
#define WB_TEST_TSZ_H

#include <stdint.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static inline uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static inline double from_bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

static inline uint64_t to_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof u);
	return u;
}

#endif
