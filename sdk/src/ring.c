/*
 * ring.c — a byte ring of variable-length records, many producers (one at a
 * time) and one consumer.
 *
 * Why this shape. wb_run_log() must cost tens of nanoseconds and never block on
 * I/O, so the training thread encodes its record straight into shared
 * memory and leaves; the writer thread frames, checksums and writes it
 * later. Records vary in size (a METRICS record is 18 bytes plus each key),
 * so the ring holds bytes, not slots.
 *
 * Layout. cap is a power of two; head and tail are byte counts that only
 * grow (64-bit, they never wrap in practice), and `pos & mask` is the
 * offset. Each record is an 8-byte header {len:u32, type:u8, pad[3]} then
 * the payload, padded to 8 bytes so headers stay aligned. A record is never
 * split at the end of the buffer, because the producer encodes it in place
 * and the consumer hands it to write(2) in place: if it does not fit before
 * the end, a PAD header (type 0) fills the rest and the record starts at
 * offset 0. Limiting a record to half the ring guarantees an empty ring
 * always has room for it.
 *
 * Concurrency. Producers hold `mu` (uncontended in the common single
 * training thread: ~20 ns) only to order their records and steps; they
 * publish with a release store of head, the consumer reads head with
 * acquire, and the reverse for tail. The consumer never takes `mu`.
 *
 * Wake-ups. A futex wake per record would cost more than the record, so a
 * commit wakes the consumer only when the ring crosses half its limit; the
 * consumer otherwise polls on a short timer (the writer uses 50 ms). A
 * producer that must wait kicks the consumer, says which tail it needs
 * (wake_tail) and sleeps on space_cv; the consumer broadcasts space_cv
 * after a release only when someone is waiting and the new tail is far
 * enough (space_waiters, checked after the tail store; both sequentially
 * consistent, so a waiter either sees the new tail or is woken). Only one
 * producer can be waiting: it waits with mu held.
 *
 * The limit. Bytes in the ring are records wb_run_log has returned that are
 * not yet in the run log, so how far producers may run ahead of the
 * consumer is how far the log may fall behind the trainer. The capacity
 * bounds that in bytes; the consumer can also bound it in time by setting
 * a limit (wb__ring_set_limit: the writer keeps it at what it writes in a
 * few tens of milliseconds). Past the limit a producer waits for the
 * consumer (at most full_wait_ms, and not again until the consumer moves),
 * then goes on into the rest of the ring: the limit paces producers, only
 * the capacity drops records.
 * Both checks are one comparison on the hot path: the limit is never above
 * the capacity, so the capacity is only looked at past the limit.
 */
#include "ring.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "util.h"

#define TYPE_PAD 0u

static inline size_t align8(size_t n) { return (n + 7u) & ~(size_t)7u; }

int wb__ring_init(wb__ring *r, size_t min_bytes, unsigned int full_wait_ms)
{
	size_t cap = WB__RING_MIN;
	void *mem;

	memset(r, 0, sizeof *r);
	while (cap < min_bytes) {
		if (cap > SIZE_MAX / 2)
			return wb__error(WB_EINVAL, "buffer of %zu bytes is too large", min_bytes);
		cap *= 2;
	}
	/* MAP_POPULATE pre-faults the pages: the first lap of the ring would
	 * otherwise take a page fault in wb_run_log every 4 KiB. */
	mem = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		return wb__error(WB_ENOMEM, "cannot map a %zu-byte buffer: %s", cap, strerror(errno));
	r->buf = mem;
	r->cap = cap;
	r->mask = cap - 1;
	r->full_wait_ms = full_wait_ms;
	r->kick_at = cap / 2;
	atomic_init(&r->limit, cap);
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->dropped, 0);
	atomic_init(&r->space_waiters, 0);
	atomic_init(&r->wake_tail, 0);
	atomic_init(&r->stalled, 0);
	atomic_init(&r->lag_stalled, 0);
	if (pthread_mutex_init(&r->mu, NULL) || pthread_mutex_init(&r->wait_mu, NULL) ||
	    wb__cond_init(&r->data_cv) || wb__cond_init(&r->space_cv)) {
		munmap(mem, cap);
		r->buf = NULL;
		return wb__error(WB_ENOMEM, "cannot initialise the buffer's locks");
	}
	return WB_OK;
}

void wb__ring_destroy(wb__ring *r)
{
	if (!r || !r->buf)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->wait_mu);
	pthread_cond_destroy(&r->data_cv);
	pthread_cond_destroy(&r->space_cv);
	munmap(r->buf, r->cap);
	r->buf = NULL;
}

static inline void put_header(uint8_t *p, uint32_t len, uint8_t type)
{
	memcpy(p, &len, 4);
	p[4] = type;
	p[5] = p[6] = p[7] = 0;
}

/* Bytes needed at head for a record of `need` bytes: need, plus the rest of
 * the buffer when the record must start over at offset 0. */
static inline size_t space_needed(const wb__ring *r, uint64_t head, size_t need)
{
	size_t to_end = r->cap - (size_t)(head & r->mask);

	return need <= to_end ? need : to_end + need;
}

void wb__ring_kick(wb__ring *r)
{
	pthread_mutex_lock(&r->wait_mu);
	r->kicked = 1;
	pthread_cond_signal(&r->data_cv);
	pthread_mutex_unlock(&r->wait_mu);
}

void wb__ring_set_limit(wb__ring *r, size_t limit)
{
	if (limit == 0 || limit > r->cap)
		limit = r->cap;
	atomic_store_explicit(&r->limit, limit, memory_order_relaxed);
}

/* Wait (mu held, so no other producer moves head) until the consumer's tail
 * reaches want, at most wait_ms. 1 if it did. */
static int wait_for_tail(wb__ring *r, uint64_t want, unsigned int wait_ms)
{
	int64_t deadline = wb__mono_ms() + wait_ms;
	int reached = 0;

	atomic_store(&r->wake_tail, want);
	atomic_fetch_add(&r->space_waiters, 1);
	wb__ring_kick(r);
	pthread_mutex_lock(&r->wait_mu);
	for (;;) {
		if (atomic_load(&r->tail) >= want) {
			reached = 1;
			break;
		}
		if (wb__cond_wait_until(&r->space_cv, &r->wait_mu, deadline) == ETIMEDOUT) {
			reached = atomic_load(&r->tail) >= want;
			break;
		}
	}
	pthread_mutex_unlock(&r->wait_mu);
	atomic_fetch_sub(&r->space_waiters, 1);
	return reached;
}

/*
 * The slow path of a reservation of total bytes at head, past the limit:
 * wait for the consumer to get back to half the limit (or to write
 * everything, for a record larger than that) unless such a wait already
 * ran out since the consumer last moved; then, if the ring itself is full,
 * wait for space as wb__ring_reserve says. *tail is refreshed. WB_OK or
 * WB_EFULL (counted).
 */
static __attribute__((noinline)) int make_room(wb__ring *r, uint64_t head, size_t total, size_t limit,
						uint64_t *tail)
{
	if (limit < r->cap && !atomic_load_explicit(&r->lag_stalled, memory_order_relaxed)) {
		uint64_t want = head + total > limit / 2 ? head + total - limit / 2 : 0;
		if (want > head)
			want = head;
		if (!wait_for_tail(r, want, r->full_wait_ms))
			atomic_store_explicit(&r->lag_stalled, 1, memory_order_relaxed);
		*tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	}
	if (r->cap - (size_t)(head - *tail) >= total)
		return WB_OK;
	/* head - tail > cap - total here, so the tail wanted is above 0 */
	if (atomic_load_explicit(&r->stalled, memory_order_relaxed) ||
	    !wait_for_tail(r, head + total - r->cap, r->full_wait_ms)) {
		atomic_store_explicit(&r->stalled, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		return WB_EFULL;
	}
	*tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return WB_OK;
}

int wb__ring_reserve(wb__ring *r, uint8_t type, uint32_t len, uint8_t **payload)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t limit = atomic_load_explicit(&r->limit, memory_order_relaxed);
	size_t need, total, off;

	if (len > wb__ring_max_record(r))
		return WB_EINVAL;
	need = align8(WB__RING_ENTRY_HEADER + (size_t)len);
	total = space_needed(r, head, need);
	if (__builtin_expect((size_t)(head - tail) + total > limit, 0)) {
		int rc = make_room(r, head, total, limit, &tail);
		if (rc != WB_OK)
			return rc;
	}
	r->used_before = (size_t)(head - tail);
	r->kick_at = limit / 2;
	off = (size_t)(head & r->mask);
	if (total != need) {
		/* Pad to the end of the buffer; the record starts at offset 0. */
		put_header(r->buf + off, (uint32_t)(r->cap - off - WB__RING_ENTRY_HEADER), TYPE_PAD);
		head += r->cap - off;
		off = 0;
	}
	put_header(r->buf + off, len, type);
	*payload = r->buf + off + WB__RING_ENTRY_HEADER;
	r->pending = head + need;
	return WB_OK;
}

void wb__ring_commit(wb__ring *r)
{
	uint64_t old = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t used_after = r->used_before + (size_t)(r->pending - old);

	atomic_store_explicit(&r->head, r->pending, memory_order_release);
	if (r->used_before < r->kick_at && used_after >= r->kick_at)
		wb__ring_kick(r);
}

size_t wb__ring_peek(wb__ring *r, wb__ring_entry *e, size_t max, uint64_t *end)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = 0;

	while (pos < head && n < max) {
		const uint8_t *h = r->buf + (pos & r->mask);
		uint32_t len;

		memcpy(&len, h, 4);
		if (h[4] != TYPE_PAD) {
			e[n].type = h[4];
			e[n].len = len;
			e[n].payload = h + WB__RING_ENTRY_HEADER;
			n++;
		}
		pos += align8(WB__RING_ENTRY_HEADER + (size_t)len);
		assert(pos <= head);
	}
	*end = pos;
	return n;
}

void wb__ring_release(wb__ring *r, uint64_t end)
{
	atomic_store(&r->tail, end);
	atomic_store_explicit(&r->stalled, 0, memory_order_relaxed);
	atomic_store_explicit(&r->lag_stalled, 0, memory_order_relaxed);
	if (atomic_load(&r->space_waiters) > 0 && end >= atomic_load(&r->wake_tail)) {
		pthread_mutex_lock(&r->wait_mu);
		pthread_cond_broadcast(&r->space_cv);
		pthread_mutex_unlock(&r->wait_mu);
	}
}

void wb__ring_wait(wb__ring *r, unsigned int timeout_ms)
{
	int64_t deadline = wb__mono_ms() + timeout_ms;

	pthread_mutex_lock(&r->wait_mu);
	while (!r->kicked) {
		if (wb__cond_wait_until(&r->data_cv, &r->wait_mu, deadline) == ETIMEDOUT)
			break;
	}
	r->kicked = 0;
	pthread_mutex_unlock(&r->wait_mu);
}

size_t wb__ring_used(wb__ring *r)
{
	uint64_t tail = atomic_load(&r->tail);
	uint64_t head = atomic_load(&r->head);

	return head > tail ? (size_t)(head - tail) : 0;
}
