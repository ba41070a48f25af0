/*
 * test_ring.c — the in-memory ring between wb_log and the writer thread:
 * layout, wraparound, the bounded wait when full, the drop counter, and
 * many producers against one consumer without losing or reordering a
 * record.
 */
#include "test_sdk_helpers.h"

#include <pthread.h>

#include "ring.h"

/* Push one record whose payload is len bytes of `fill`. */
static int push(wb__ring *r, uint8_t type, uint32_t len, uint8_t fill)
{
	uint8_t *p;
	int rc;

	wb__ring_lock(r);
	rc = wb__ring_reserve(r, type, len, &p);
	if (rc == WB_OK) {
		memset(p, fill, len);
		wb__ring_commit(r);
	}
	wb__ring_unlock(r);
	return rc;
}

static void test_ring__roundtrip(void **state)
{
	wb__ring r;
	wb__ring_entry e[8];
	uint64_t end;
	size_t n;

	(void)state;
	assert_int_equal(wb__ring_init(&r, 1000, 10), WB_OK);
	assert_int_equal(r.cap, 1024);
	assert_int_equal(wb__ring_peek(&r, e, 8, &end), 0);
	assert_int_equal(push(&r, 3, 5, 0xaa), WB_OK);
	assert_int_equal(push(&r, 2, 0, 0), WB_OK);
	assert_int_equal(push(&r, 6, 17, 0x55), WB_OK);
	n = wb__ring_peek(&r, e, 8, &end);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].type, 3);
	assert_int_equal(e[0].len, 5);
	assert_int_equal(e[0].payload[4], 0xaa);
	assert_int_equal(e[1].type, 2);
	assert_int_equal(e[1].len, 0);
	assert_int_equal(e[2].type, 6);
	assert_int_equal(e[2].len, 17);
	assert_int_equal(e[2].payload[16], 0x55);
	/* 8+5 -> 16, 8+0 -> 8, 8+17 -> 32 */
	assert_int_equal(end, 56);
	assert_int_equal(wb__ring_used(&r), 56);
	wb__ring_release(&r, end);
	assert_int_equal(wb__ring_used(&r), 0);
	assert_int_equal(wb__ring_peek(&r, e, 8, &end), 0);
	wb__ring_destroy(&r);
}

static void test_ring__too_large(void **state)
{
	wb__ring r;
	uint8_t *p;

	(void)state;
	assert_int_equal(wb__ring_init(&r, 256, 10), WB_OK);
	assert_int_equal(wb__ring_max_record(&r), 120);
	wb__ring_lock(&r);
	assert_int_equal(wb__ring_reserve(&r, 1, 121, &p), WB_EINVAL);
	wb__ring_unlock(&r);
	assert_int_equal(push(&r, 1, 120, 1), WB_OK);
	assert_int_equal(wb__ring_dropped(&r), 0);
	wb__ring_destroy(&r);
}

/* Records of every size pass through a small ring many times over; each
 * comes out whole, contiguous and in order, across the wrap. */
static void test_ring__wraparound(void **state)
{
	wb__ring r;
	wb__ring_entry e[64];
	uint32_t next_out = 0;

	(void)state;
	/* No wait when full: this thread is also the consumer. */
	assert_int_equal(wb__ring_init(&r, 256, 0), WB_OK);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t len = (i * 7) % 121;
		uint64_t end;
		size_t n;

		/* Drain when the next record does not fit. */
		while (push(&r, (uint8_t)(1 + i % 6), len, (uint8_t)i) != WB_OK) {
			assert_int_equal(wb__ring_dropped(&r), 1);
			atomic_store(&r.dropped, 0);
			n = wb__ring_peek(&r, e, 64, &end);
			assert_true(n > 0);
			for (size_t k = 0; k < n; k++, next_out++) {
				uint32_t want = (next_out * 7) % 121;
				assert_int_equal(e[k].len, want);
				assert_int_equal(e[k].type, 1 + next_out % 6);
				for (uint32_t b = 0; b < want; b++)
					assert_int_equal(e[k].payload[b], (uint8_t)next_out);
				/* contiguous inside the buffer */
				assert_true(e[k].payload + e[k].len <= r.buf + r.cap);
			}
			wb__ring_release(&r, end);
		}
	}
	for (;;) {
		uint64_t end;
		size_t n = wb__ring_peek(&r, e, 64, &end);
		if (!n)
			break;
		for (size_t k = 0; k < n; k++, next_out++)
			assert_int_equal(e[k].len, (next_out * 7) % 121);
		wb__ring_release(&r, end);
	}
	assert_int_equal(next_out, 5000);
	wb__ring_destroy(&r);
}

/* Full ring: the producer waits the bound, then drops and counts; while
 * stalled, later records drop at once; space frees the stall. */
static void test_ring__full_bounded_wait(void **state)
{
	wb__ring r;
	wb__ring_entry e[16];
	uint64_t end;
	double t0, dt;

	(void)state;
	assert_int_equal(wb__ring_init(&r, 256, 150), WB_OK);
	while (push(&r, 3, 56, 7) == WB_OK && wb__ring_used(&r) < 256)
		;
	/* The loop stopped on the first EFULL (after a wait) or on exactly full. */
	atomic_store(&r.dropped, 0);
	atomic_store(&r.stalled, 0);
	t0 = wbt_now_ms();
	assert_int_equal(push(&r, 3, 56, 7), WB_EFULL);
	dt = wbt_now_ms() - t0;
	assert_true(dt >= 140);
	assert_true(dt < 2000);
	assert_int_equal(wb__ring_dropped(&r), 1);

	t0 = wbt_now_ms();
	assert_int_equal(push(&r, 3, 56, 7), WB_EFULL);
	assert_true(wbt_now_ms() - t0 < 50); /* stalled: no second wait */
	assert_int_equal(wb__ring_dropped(&r), 2);

	assert_true(wb__ring_peek(&r, e, 1, &end) == 1);
	wb__ring_release(&r, end);
	assert_int_equal(push(&r, 3, 56, 8), WB_OK);
	assert_int_equal(wb__ring_dropped(&r), 2);
	wb__ring_destroy(&r);
}

/* A commit that takes the ring past half full wakes the consumer. */
static void test_ring__kick_on_half(void **state)
{
	wb__ring r;
	double t0;

	(void)state;
	assert_int_equal(wb__ring_init(&r, 1024, 10), WB_OK);
	assert_int_equal(push(&r, 3, 100, 1), WB_OK);
	assert_int_equal(r.kicked, 0); /* below half: no wake-up */
	for (int i = 0; i < 4; i++)
		assert_int_equal(push(&r, 3, 100, 1), WB_OK);
	assert_int_equal(r.kicked, 1);
	t0 = wbt_now_ms();
	wb__ring_wait(&r, 10000);
	assert_true(wbt_now_ms() - t0 < 1000);
	assert_int_equal(r.kicked, 0);
	wb__ring_destroy(&r);
}

/* Past the limit the producer waits (the bound, once), then the record goes
 * in all the same: the limit paces, only the capacity drops. The kick
 * comes at half the limit; a release ends the stall. */
static void test_ring__limit_paces_without_dropping(void **state)
{
	wb__ring r;
	wb__ring_entry e[64];
	uint64_t end;
	double t0, dt;

	(void)state;
	assert_int_equal(wb__ring_init(&r, 4096, 150), WB_OK);
	wb__ring_set_limit(&r, 1024);
	for (int i = 0; i < 7; i++) /* 7 x 128 = 896 bytes: under the limit, no wait */
		assert_int_equal(push(&r, 3, 120, 1), WB_OK);
	assert_int_equal(r.kicked, 1); /* passed 512, half the limit */
	r.kicked = 0;
	t0 = wbt_now_ms();
	assert_int_equal(push(&r, 3, 120, 2), WB_OK); /* 1024: at the limit, still fine */
	assert_int_equal(push(&r, 3, 120, 3), WB_OK); /* past it: waits the bound, then goes in */
	dt = wbt_now_ms() - t0;
	assert_true(dt >= 140);
	assert_true(dt < 2000);
	assert_int_equal(wb__ring_dropped(&r), 0);
	assert_int_equal(atomic_load(&r.lag_stalled), 1);
	t0 = wbt_now_ms();
	while (wb__ring_used(&r) + 128 <= 4096) /* no second wait until the consumer moves */
		assert_int_equal(push(&r, 3, 120, 4), WB_OK);
	assert_true(wbt_now_ms() - t0 < 100);
	assert_int_equal(wb__ring_dropped(&r), 0);
	/* the consumer moves: the stall ends, and the next record waits again */
	assert_int_equal(wb__ring_peek(&r, e, 1, &end), 1);
	wb__ring_release(&r, end);
	assert_int_equal(atomic_load(&r.lag_stalled), 0);
	t0 = wbt_now_ms();
	assert_int_equal(push(&r, 3, 120, 5), WB_OK);
	assert_true(wbt_now_ms() - t0 >= 140);
	/* the whole ring back to the consumer: no wait at all */
	while (wb__ring_peek(&r, e, 64, &end) > 0)
		wb__ring_release(&r, end);
	t0 = wbt_now_ms();
	assert_int_equal(push(&r, 3, 120, 6), WB_OK);
	assert_true(wbt_now_ms() - t0 < 100);
	wb__ring_destroy(&r);
}

#define PRODUCERS 4
#define PER_PRODUCER 200000

typedef struct prod_arg {
	wb__ring *r;
	uint32_t id;
} prod_arg;

static void *producer(void *arg)
{
	prod_arg *a = arg;

	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		uint32_t len = 8 + (i % 24);
		uint8_t *p;
		wb__ring_lock(a->r);
		if (wb__ring_reserve(a->r, 3, len, &p) == WB_OK) {
			memcpy(p, &a->id, 4);
			memcpy(p + 4, &i, 4);
			memset(p + 8, (int)(i & 0xff), len - 8);
			wb__ring_commit(a->r);
		}
		wb__ring_unlock(a->r);
	}
	return NULL;
}

typedef struct cons_arg {
	wb__ring *r;
	_Atomic int done;
	uint32_t next[PRODUCERS];
	int bad;
} cons_arg;

static void *consumer(void *arg)
{
	cons_arg *c = arg;
	wb__ring_entry e[128];

	for (;;) {
		uint64_t end;
		int done = atomic_load(&c->done);
		size_t n = wb__ring_peek(c->r, e, 128, &end);
		for (size_t k = 0; k < n; k++) {
			uint32_t id, i;
			memcpy(&id, e[k].payload, 4);
			memcpy(&i, e[k].payload + 4, 4);
			if (id >= PRODUCERS || i != c->next[id] || e[k].len != 8 + (i % 24) ||
			    e[k].payload[e[k].len - 1] != (e[k].len > 8 ? (uint8_t)(i & 0xff) : e[k].payload[7]))
				c->bad++;
			else
				c->next[id]++;
		}
		wb__ring_release(c->r, end);
		if (!n) {
			if (done)
				break;
			wb__ring_wait(c->r, 1);
		}
	}
	return NULL;
}

static void test_ring__concurrent_producers(void **state)
{
	wb__ring r;
	pthread_t pt[PRODUCERS], ct;
	prod_arg pa[PRODUCERS];
	cons_arg ca;

	(void)state;
	memset(&ca, 0, sizeof ca);
	/* A small ring so producers fill it and wait; a generous bound so
	 * that nothing is dropped even on a loaded machine. */
	assert_int_equal(wb__ring_init(&r, 4096, 30000), WB_OK);
	ca.r = &r;
	assert_int_equal(pthread_create(&ct, NULL, consumer, &ca), 0);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pa[i].r = &r;
		pa[i].id = i;
		assert_int_equal(pthread_create(&pt[i], NULL, producer, &pa[i]), 0);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(pt[i], NULL);
	atomic_store(&ca.done, 1);
	wb__ring_kick(&r);
	pthread_join(ct, NULL);
	assert_int_equal(ca.bad, 0);
	assert_int_equal(wb__ring_dropped(&r), 0);
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(ca.next[i], PER_PRODUCER);
	wb__ring_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring__roundtrip),
		cmocka_unit_test(test_ring__too_large),
		cmocka_unit_test(test_ring__wraparound),
		cmocka_unit_test(test_ring__full_bounded_wait),
		cmocka_unit_test(test_ring__kick_on_half),
		cmocka_unit_test(test_ring__limit_paces_without_dropping),
		cmocka_unit_test(test_ring__concurrent_producers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
