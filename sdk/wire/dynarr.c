/*
 * dynarr.c — see dynarr.h.
 */
#include "dynarr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DYNARR_FIRST 16u

int wb__dynarr_reserve(void *arrp, size_t *cap, size_t n, size_t more, size_t size, size_t max)
{
	size_t need, want, bytes;
	void *old, *p;

	if (__builtin_add_overflow(n, more, &need) || need > max)
		return WB__DYNARR_TOOBIG;
	if (need <= *cap)
		return WB__DYNARR_OK;
	want = *cap ? *cap : DYNARR_FIRST;
	while (want < need)
		want = want > SIZE_MAX / 2 ? need : want * 2;
	if (want > max)
		want = max;
	if (__builtin_mul_overflow(want, size, &bytes))
		return WB__DYNARR_TOOBIG;
	/* the caller's variable is some T *: read and write it as bytes, not through a void ** */
	memcpy(&old, arrp, sizeof(old));
	if (!(p = realloc(old, bytes ? bytes : 1)))
		return WB__DYNARR_NOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = want;
	return WB__DYNARR_OK;
}
