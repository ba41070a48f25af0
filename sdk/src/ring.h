/*
 * ring.h — the in-memory record buffer between the training threads and
 * the writer thread.
 *
 * Threads: any number of producers, serialised by wb__ring_lock(); exactly
 * one consumer (the writer thread) calls peek/release/wait. kick and the
 * counters may be called from anywhere.
 */
#ifndef WB_RING_H
#define WB_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define WB__RING_ENTRY_HEADER 8u
#define WB__RING_MIN 64u

typedef struct wb__ring {
	uint8_t *buf;
	size_t cap;                    /* a power of two */
	size_t mask;
	unsigned int full_wait_ms;     /* bound on a producer's wait for space */

	/* Producer side, guarded by mu. */
	pthread_mutex_t mu;
	uint64_t pending;              /* head after the reserved, uncommitted entry */
	uint64_t used_before;          /* bytes in use when the entry was reserved */
	size_t kick_at;                /* half the limit seen by the reservation: commit wakes the consumer there */

	/* Set by the consumer (wb__ring_set_limit), read by producers. */
	_Atomic size_t limit;          /* more unwritten bytes than this: the producer waits for the consumer */

	/* Published positions: bytes ever written / ever consumed. */
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;

	_Alignas(64) _Atomic uint64_t dropped;
	_Atomic int space_waiters;     /* producers waiting for space */
	_Atomic uint64_t wake_tail;    /* the waiting producer needs tail to reach this */
	_Atomic int stalled;           /* a wait for space ran out; cleared by release */
	_Atomic int lag_stalled;       /* a wait under the limit ran out; cleared by release */

	/* Sleeping: the consumer on data_cv, full producers on space_cv. */
	pthread_mutex_t wait_mu;
	pthread_cond_t data_cv;
	pthread_cond_t space_cv;
	int kicked;                    /* guarded by wait_mu */
} wb__ring;

/* One record as the consumer sees it, in place in the ring. */
typedef struct wb__ring_entry {
	uint8_t type;
	uint32_t len;
	const uint8_t *payload;
} wb__ring_entry;

/*
 * Initialise r with at least min_bytes of space (rounded up to a power of
 * two, at least WB__RING_MIN); a full producer waits at most full_wait_ms
 * for space. The memory is mapped and touched here so that producers never
 * take a page fault. WB_OK or WB_ENOMEM.
 */
WB__HIDDEN int wb__ring_init(wb__ring *r, size_t min_bytes, unsigned int full_wait_ms);

/* Free r's memory. No thread may use r any more. */
WB__HIDDEN void wb__ring_destroy(wb__ring *r);

/* Largest payload one record may have: half the ring less its header, so an
 * empty ring always has room for any record, however the space wraps. */
static inline size_t wb__ring_max_record(const wb__ring *r) { return r->cap / 2 - WB__RING_ENTRY_HEADER; }

static inline void wb__ring_lock(wb__ring *r) { pthread_mutex_lock(&r->mu); }
static inline void wb__ring_unlock(wb__ring *r) { pthread_mutex_unlock(&r->mu); }

/*
 * Consumer (or before producers start): let producers run ahead of the
 * consumer by at most limit bytes (clamped to the capacity; the whole ring
 * until this is called). A producer that would pass it wakes the consumer
 * and waits until the consumer is back under half of it (or has written
 * everything), at most full_wait_ms per reservation, and not at all after
 * such a wait ran out until the consumer next frees space. The record then
 * goes into the ring all the same: the limit slows producers down to the
 * consumer's pace, it never drops.
 */
WB__HIDDEN void wb__ring_set_limit(wb__ring *r, size_t limit);

/*
 * Producer, with the ring locked: reserve space for a record of len bytes
 * and point *payload at it; the caller writes exactly len bytes there and
 * calls wb__ring_commit() before unlocking. Past the limit
 * (wb__ring_set_limit), wait for the consumer as said there. If the ring
 * is full, wake the consumer and wait for space, at most full_wait_ms in
 * all (and not at all while the ring is stalled: once a wait has run out,
 * later records are dropped at once until the consumer frees space, so a
 * dead disk costs the trainer one second, not one second per call).
 * Returns WB_OK, WB_EFULL (nothing reserved; counted in wb__ring_dropped)
 * or WB_EINVAL (len is over wb__ring_max_record()).
 */
WB__HIDDEN int wb__ring_reserve(wb__ring *r, uint8_t type, uint32_t len, uint8_t **payload);

/*
 * Producer, with the ring locked: publish the reserved record to the
 * consumer (a release store). Wakes the consumer only when this record
 * takes the ring past half its limit (half full without one); otherwise
 * the consumer finds it on its own timer. That keeps the common call free
 * of system calls.
 */
WB__HIDDEN void wb__ring_commit(wb__ring *r);

/*
 * Consumer: up to max published records not yet released, oldest first,
 * in place. *end receives the position to pass to wb__ring_release() once
 * they are no longer needed. Returns the number of records.
 */
WB__HIDDEN size_t wb__ring_peek(wb__ring *r, wb__ring_entry *e, size_t max, uint64_t *end);

/* Consumer: give the space up to end (from wb__ring_peek) back to producers. */
WB__HIDDEN void wb__ring_release(wb__ring *r, uint64_t end);

/* Consumer: sleep until kicked or timeout_ms passes. */
WB__HIDDEN void wb__ring_wait(wb__ring *r, unsigned int timeout_ms);

/* Wake the consumer now (any thread). */
WB__HIDDEN void wb__ring_kick(wb__ring *r);

/* Bytes published and not yet released (any thread; a snapshot). */
WB__HIDDEN size_t wb__ring_used(wb__ring *r);

static inline uint64_t wb__ring_dropped(wb__ring *r) { return atomic_load_explicit(&r->dropped, memory_order_relaxed); }

#endif /* WB_RING_H */
