/*
 * Unit tests of server/cli/progress.c: human units, the plain lines and the
 * terminal redraws, the rate over a recent window and the ETA it gives,
 * the clock read only now and then, and the switches that turn it off.
 * Time is a fake clock the test moves: no sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

#define MS 1000000LL
#define S 1000000000LL
#define MIB (1024ull * 1024ull)

typedef struct fake_clock {
	int64_t t;
	unsigned reads;
} fake_clock;

static int64_t fake_now(void *arg)
{
	fake_clock *c = arg;
	c->reads++;
	return c->t;
}

/* p set up as wbs__progress_init would, writing to a memory stream, on the fake clock. */
typedef struct rig {
	wbs__progress p;
	fake_clock c;
	FILE *f;
	char *buf;
	size_t len;
} rig;

static void rig_open(rig *r, int tty, int64_t interval_ns)
{
	memset(r, 0, sizeof(*r));
	unsetenv("WB_PROGRESS");
	unsetenv("WB_PROGRESS_INTERVAL");
	wbs__progress_init(&r->p, "wb t", 0);
	assert_non_null(r->f = open_memstream(&r->buf, &r->len));
	r->p.out = r->f;
	r->p.tty = tty;
	r->p.width = 80;
	r->p.interval_ns = interval_ns;
	r->p.now = fake_now;
	r->p.now_arg = &r->c;
}

/* What was written so far (NUL-terminated, owned by r). */
static const char *rig_text(rig *r)
{
	fflush(r->f);
	return r->buf;
}

static void rig_close(rig *r)
{
	fclose(r->f);
	free(r->buf);
}

static void test_progress__human(void **state)
{
	char b[32];
	(void)state;

	wbs__progress_human(0, WBS__PG_BYTES, b, sizeof(b));
	assert_string_equal(b, "0 B");
	wbs__progress_human(1023, WBS__PG_BYTES, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	wbs__progress_human(1024, WBS__PG_BYTES, b, sizeof(b));
	assert_string_equal(b, "1.0 KiB");
	wbs__progress_human(1536, WBS__PG_BYTES, b, sizeof(b));
	assert_string_equal(b, "1.5 KiB");
	wbs__progress_human(MIB - 1, WBS__PG_BYTES, b, sizeof(b)); /* not "1024.0 KiB" */
	assert_string_equal(b, "1.0 MiB");
	wbs__progress_human(5 * 1024 * MIB, WBS__PG_BYTES, b, sizeof(b));
	assert_string_equal(b, "5.0 GiB");
	wbs__progress_human(UINT64_MAX, WBS__PG_BYTES, b, sizeof(b));
	assert_string_equal(b, "16.0 EiB");
	wbs__progress_human(9999, WBS__PG_COUNT, b, sizeof(b));
	assert_string_equal(b, "9999");
	wbs__progress_human(12345, WBS__PG_COUNT, b, sizeof(b));
	assert_string_equal(b, "12.3k");
	wbs__progress_human(4500000, WBS__PG_COUNT, b, sizeof(b));
	assert_string_equal(b, "4.5M");
}

/* Not a terminal: a line every interval (done/total, percent, rate, ETA), then the summary. */
static void test_progress__plain_lines(void **state)
{
	rig r;
	(void)state;

	rig_open(&r, 0, 5 * S);
	wbs__progress_begin(&r.p, "uploading", WBS__PG_BYTES, 100 * MIB);
	assert_string_equal(rig_text(&r), ""); /* nothing until the first interval */
	for (int i = 1; i <= 10; i++) {
		r.c.t = i * S;
		wbs__progress_add(&r.p, 10 * MIB);
		if (i == 4)
			assert_string_equal(rig_text(&r), "");
	}
	wbs__progress_end(&r.p);
	assert_string_equal(rig_text(&r), "wb t: uploading 50.0 MiB / 100.0 MiB (50%), 10.0 MiB/s, ETA 0:05\n"
					  "wb t: uploading 100.0 MiB / 100.0 MiB (100%), 10.0 MiB/s\n"
					  "wb t: uploading 100.0 MiB in 10.0 s, 10.0 MiB/s\n");
	/* a second end prints nothing more */
	wbs__progress_end(&r.p);
	assert_int_equal(strlen(rig_text(&r)), r.len);
	rig_close(&r);
}

/* The rate is the recent one: after a slowdown the ETA follows it, not the average since the start. */
static void test_progress__recent_rate(void **state)
{
	rig r;
	char line[200];
	(void)state;

	rig_open(&r, 0, 1000 * S);
	wbs__progress_begin(&r.p, "uploading", WBS__PG_BYTES, 200 * MIB);
	for (int i = 1; i <= 10; i++) { /* 10 MiB/s for 10 s */
		r.c.t = i * S;
		wbs__progress_add(&r.p, 10 * MIB);
	}
	for (int i = 11; i <= 20; i++) { /* then 1 MiB/s for 10 s: the window holds only this */
		r.c.t = i * S;
		wbs__progress_add(&r.p, MIB);
	}
	wbs__progress_format(&r.p, r.c.t, 0, line, sizeof(line));
	/* 90 MiB left at 1 MiB/s: 1:30 (the average, 5.5 MiB/s, would say 0:16) */
	assert_string_equal(line, "wb t: uploading 110.0 MiB / 200.0 MiB (55%), 1.0 MiB/s, ETA 1:30");
	/* a stall: no rate, no ETA to promise */
	for (int i = 21; i <= 40; i++) {
		r.c.t = i * S;
		wbs__progress_add(&r.p, 0);
	}
	wbs__progress_format(&r.p, r.c.t, 0, line, sizeof(line));
	assert_string_equal(line, "wb t: uploading 110.0 MiB / 200.0 MiB (55%), 0 B/s, ETA --:--");
	/* the summary is the average over the phase, past a minute as m:ss */
	wbs__progress_format(&r.p, 100 * S, 1, line, sizeof(line));
	assert_string_equal(line, "wb t: uploading 110.0 MiB of 200.0 MiB in 1:40, 1.1 MiB/s");
	assert_string_equal(rig_text(&r), ""); /* the interval never came */
	r.p.live = 0;
	rig_close(&r);
}

/* Unknown total: done and rate, no percent, no ETA; counts in their own units; the note at the end. */
static void test_progress__unknown_total_and_counts(void **state)
{
	rig r;
	char line[200];
	(void)state;

	rig_open(&r, 0, 0); /* interval 0: a line at every clock read */
	wbs__progress_note(&r.p, "%s", "run-abc");
	wbs__progress_begin(&r.p, "reading", WBS__PG_BYTES, 0);
	r.c.t = 2 * S;
	wbs__progress_add(&r.p, 3 * MIB);
	wbs__progress_begin(&r.p, "runs", WBS__PG_COUNT, 12345); /* ends "reading" */
	r.c.t = 4 * S;
	wbs__progress_set(&r.p, 250);
	wbs__progress_end(&r.p);
	assert_string_equal(rig_text(&r), "wb t: reading 3.0 MiB, 1.5 MiB/s  run-abc\n"
					  "wb t: reading 3.0 MiB in 2.0 s, 1.5 MiB/s  run-abc\n"
					  "wb t: runs 250 / 12.3k (2%), 125/s, ETA 1:37  run-abc\n"
					  "wb t: runs 250 of 12.3k in 2.0 s, 125/s  run-abc\n");
	/* under a tenth of a second there is no rate yet */
	wbs__progress_begin(&r.p, "runs", WBS__PG_COUNT, 10);
	r.c.t += 50 * MS;
	wbs__progress_format(&r.p, r.c.t, 0, line, sizeof(line));
	assert_string_equal(line, "wb t: runs 0 / 10 (0%), -- /s, ETA --:--  run-abc");
	r.p.live = 0;
	rig_close(&r);
}

/* A terminal: one line redrawn in place ("\r", clear to the end), at most every 100 ms, cut to the
 * width, and the summary, whole, ended with a newline. */
static void test_progress__tty(void **state)
{
	rig r;
	const char *t;
	(void)state;

	rig_open(&r, 1, 5 * S);
	r.p.width = 40;
	wbs__progress_begin(&r.p, "downloading", WBS__PG_BYTES, 10 * MIB);
	/* cut to 39 columns */
	assert_string_equal(rig_text(&r), "\rwb t: downloading 0 B / 10.0 MiB (0%), \x1b[K");
	r.c.t = 50 * MS; /* too soon for a redraw */
	wbs__progress_add(&r.p, MIB);
	assert_int_equal(strlen(rig_text(&r)), strlen("\rwb t: downloading 0 B / 10.0 MiB (0%), \x1b[K"));
	r.c.t = 100 * MS;
	wbs__progress_add(&r.p, MIB);
	t = rig_text(&r);
	assert_non_null(strstr(t, "\x1b[K\rwb t: downloading 2.0 MiB / 10.0 MiB (2\x1b[K"));
	r.c.t = 1 * S;
	wbs__progress_end(&r.p);
	t = rig_text(&r);
	/* the summary stays whole (it ends the line, so it may wrap) */
	assert_non_null(strstr(t, "\rwb t: downloading 2.0 MiB of 10.0 MiB in 1.0 s, 2.0 MiB/s\x1b[K\n"));
	assert_ptr_equal(strchr(t, '\n'), t + strlen(t) - 1); /* one newline, at the end */
	rig_close(&r);
}

/* Many fast calls read the clock only every few calls yet count every byte; slow ones at every call. */
static void test_progress__stride(void **state)
{
	rig r;
	(void)state;

	rig_open(&r, 0, 1000 * S);
	wbs__progress_begin(&r.p, "hashing", WBS__PG_BYTES, 0);
	r.c.reads = 0;
	for (int i = 0; i < 1000000; i++) { /* 1 us apart: 1 s of calls */
		r.c.t += 1000;
		wbs__progress_add(&r.p, 1);
	}
	assert_int_equal(r.p.done, 1000000);
	/* every 64 calls once the stride has doubled up to it, and at every 256 KiB */
	assert_in_range(r.c.reads, 1000000 / 64, 1000000 / 64 + 6 + 4);
	/* then slow calls (a run each, a second apart): after at most one stride, the clock at every call */
	r.c.reads = 0;
	for (int i = 0; i < 64; i++) {
		r.c.t += S;
		wbs__progress_add(&r.p, 1);
	}
	assert_in_range(r.c.reads, 1, 64);
	r.c.reads = 0;
	for (int i = 0; i < 10; i++) {
		r.c.t += S;
		wbs__progress_add(&r.p, 1);
	}
	assert_int_equal(r.c.reads, 10);
	r.p.live = 0;
	rig_close(&r);
}

/* -q, WB_PROGRESS=0: nothing at all; WB_PROGRESS_INTERVAL sets the plain interval. */
static void test_progress__off_and_env(void **state)
{
	wbs__progress p;
	(void)state;

	assert_true(wbs__progress_quiet_arg("-q"));
	assert_true(wbs__progress_quiet_arg("--quiet"));
	assert_false(wbs__progress_quiet_arg("--quietly"));
	unsetenv("WB_PROGRESS");
	unsetenv("WB_PROGRESS_INTERVAL");
	wbs__progress_init(&p, "wb t", 1);
	assert_false(p.on);
	wbs__progress_begin(&p, "x", WBS__PG_BYTES, 1);
	assert_false(p.live);
	wbs__progress_init(&p, "wb t", 0);
	assert_true(p.on);
	assert_int_equal(p.interval_ns, 5 * S);
	setenv("WB_PROGRESS", "0", 1);
	setenv("WB_PROGRESS_INTERVAL", "0.25", 1);
	wbs__progress_init(&p, "wb t", 0);
	assert_false(p.on);
	assert_int_equal(p.interval_ns, 250 * MS);
	setenv("WB_PROGRESS_INTERVAL", "-1", 1); /* nonsense: the default */
	wbs__progress_init(&p, "wb t", 0);
	assert_int_equal(p.interval_ns, 5 * S);
	unsetenv("WB_PROGRESS");
	unsetenv("WB_PROGRESS_INTERVAL");
}

/* libwb's callback: a new phase name ends the one before with its summary. */
static void test_progress__sdk(void **state)
{
	rig r;
	wb_progress sp = {"hashing", 0, 4 * MIB};
	(void)state;

	rig_open(&r, 0, 1000 * S);
	wbs__progress_sdk(&sp, &r.p);
	r.c.t = S;
	sp.done = 4 * MIB;
	wbs__progress_sdk(&sp, &r.p);
	sp = (wb_progress){"uploading", 0, 0};
	wbs__progress_sdk(&sp, &r.p);
	sp.done = sp.total = MIB; /* the total is learnt late */
	r.c.t = 2 * S;
	wbs__progress_sdk(&sp, &r.p);
	wbs__progress_end(&r.p);
	assert_string_equal(rig_text(&r), "wb t: hashing 4.0 MiB in 1.0 s, 4.0 MiB/s\n"
					  "wb t: uploading 1.0 MiB in 1.0 s, 1.0 MiB/s\n");
	rig_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_progress__human),
		cmocka_unit_test(test_progress__plain_lines),
		cmocka_unit_test(test_progress__recent_rate),
		cmocka_unit_test(test_progress__unknown_total_and_counts),
		cmocka_unit_test(test_progress__tty),
		cmocka_unit_test(test_progress__stride),
		cmocka_unit_test(test_progress__off_and_env),
		cmocka_unit_test(test_progress__sdk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
