/*
 * dynarr.h — growing an array with a hard maximum, for libwb and the
 * server alike (it is part of the shared wb_wire objects, like wire.c).
 *
 * Every growing array used to be a hand-written doubling realloc, some
 * with an overflow check, none with a maximum: a hostile run log or a
 * runaway caller grew them until malloc failed. wb__dynarr_reserve is
 * the one way to grow an array: it doubles (from 16 elements), never past
 * max elements, checks the size arithmetic, and leaves the array as it was
 * on an error, so the caller's own cleanup still sees a consistent array.
 * The caller turns the error into its own (the SDK: WB_ENOMEM with a
 * message, wb__reserve in util.h; the server: its error answer).
 *
 * Threads: none of its own; the array belongs to its caller.
 */
#ifndef WB_DYNARR_H
#define WB_DYNARR_H

#include <stddef.h>

#include "wire.h"

enum wb__dynarr_err {
	WB__DYNARR_OK = 0,
	WB__DYNARR_TOOBIG = 1, /* n + more is over max, or over what size_t can address */
	WB__DYNARR_NOMEM = 2   /* realloc failed */
};

/*
 * Make room for more elements of size bytes after the first n of the array
 * *arrp (a pointer to the caller's T * variable) whose capacity is *cap
 * elements: on WB__DYNARR_OK, *cap >= n + more and *cap <= max (doubled,
 * then clamped to max). On an error *arrp and *cap are unchanged.
 */
WB__HIDDEN int wb__dynarr_reserve(void *arrp, size_t *cap, size_t n, size_t more, size_t size, size_t max);

#endif /* WB_DYNARR_H */
