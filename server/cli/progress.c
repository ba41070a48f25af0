/*
 * progress.c — the CLI's progress lines (progress.h), shaped like curl's
 * and rsync's.
 *
 * Why stderr only: `wb export -` writes the archive to stdout, and every
 * command's stdout is its result, which scripts parse. Why two shapes: a
 * person at a terminal wants one line that moves (a hundred lines of
 * "12%" bury the result), a CI log wants a line now and then with a
 * timestamp-able shape and no control bytes, and both want a summary.
 *
 * Cost. The commands call wbs__progress_add after every chunk, record
 * batch or run, so the call must cost next to nothing when nothing is
 * printed: it counts, and reads the clock only every `stride` calls. The
 * stride adapts to how fast the calls come: one clock read per 10 ms of
 * calls, but at least every 64 calls (so a pace that drops is seen soon):
 * a loop over millions of records reads the clock every 64 calls, a loop
 * over a few slow runs at every call. Calls faster than that only double
 * the stride, so a quick pair of calls (a phase's first two) does not
 * make the slow ones after them wait. A byte count also reads the clock
 * whenever 256 KiB more are done: a few big chunks are never skipped. No thread,
 * no signal: nothing prints between calls, which is fine since the
 * commands call at least once per chunk they move.
 *
 * Rate and ETA. The rate is measured over the last few seconds (samples
 * of (time, done) every half second in a small ring), not since the
 * start: a transfer that slows down shows it, and its ETA follows. A
 * phase whose total is not known shows done and rate, no ETA. The summary
 * gives the average over the whole phase.
 *
 * The clock is CLOCK_MONOTONIC (a wall-clock step never makes a negative
 * rate) behind a function pointer, so the unit test drives time itself.
 */
#include "progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define DEFAULT_INTERVAL_NS (5 * NS_PER_S)
#define REDRAW_NS (NS_PER_S / 10)     /* a terminal line at most 10 times a second */
#define SAMPLE_NS (NS_PER_S / 2)      /* the rate's samples, WBS__PG_SAMPLES of them: ~4 s */
#define MIN_RATE_NS (NS_PER_S / 10)   /* no recent rate from less than this much time */
#define MIN_AVG_NS 1000000LL          /* nor an average from less than 1 ms */
#define CHECK_NS (NS_PER_S / 100)     /* aim: one clock read per 10 ms of calls */
#define STRIDE_MAX 64u /* a clock read (~25 ns, vDSO) per 64 calls is nothing; a slowdown is seen within 64 calls */
#define BYTES_CHECK (256u * 1024u) /* and one whenever this many more bytes are done */
#define LINE_MAX_BYTES 512

static int64_t mono_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int wbs__progress_quiet_arg(const char *arg)
{
	return arg && (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0);
}

void wbs__progress_init(wbs__progress *p, const char *cmd, int quiet)
{
	const char *on = getenv("WB_PROGRESS"), *iv = getenv("WB_PROGRESS_INTERVAL");
	struct winsize ws;

	memset(p, 0, sizeof(*p));
	p->out = stderr;
	p->cmd = cmd;
	p->on = !quiet && !(on && strcmp(on, "0") == 0);
	p->tty = isatty(STDERR_FILENO);
	p->width = p->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 ? ws.ws_col : 80;
	p->interval_ns = DEFAULT_INTERVAL_NS;
	if (iv && *iv) {
		char *end;
		double s = strtod(iv, &end);
		if (*end == '\0' && s >= 0 && s <= 86400)
			p->interval_ns = (int64_t)(s * (double)NS_PER_S);
	}
	p->redraw_ns = REDRAW_NS;
	p->now = mono_ns;
	p->stride = 1;
}

void wbs__progress_human(uint64_t n, int unit, char *buf, size_t cap)
{
	static const char *const iec[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	static const char *const si[] = {"", "k", "M", "G", "T", "P", "E"};
	double v = (double)n, base = unit == WBS__PG_BYTES ? 1024.0 : 1000.0;
	int i = 0;

	if (unit == WBS__PG_BYTES ? n < 1024 : n < 10000) {
		snprintf(buf, cap, unit == WBS__PG_BYTES ? "%llu B" : "%llu", (unsigned long long)n);
		return;
	}
	while (v >= base && i < 6) {
		v /= base;
		i++;
	}
	/* 1023.95 KiB prints as 1024.0: say 1.0 MiB instead */
	if (v >= base - 0.05 && i < 6) {
		v /= base;
		i++;
	}
	if (unit == WBS__PG_BYTES)
		snprintf(buf, cap, "%.1f %s", v, iec[i]);
	else
		snprintf(buf, cap, "%.1f%s", v, si[i]);
}

/* A rate (units per second) into buf: "4.1 MiB/s", "12.5/s", "1.2k/s". */
static void fmt_rate(double r, int unit, char *buf, size_t cap)
{
	char h[32];

	if (unit == WBS__PG_COUNT && r < 100) {
		snprintf(buf, cap, "%.1f/s", r);
		return;
	}
	wbs__progress_human(r >= 1.8e19 ? UINT64_MAX : (uint64_t)(r + 0.5), unit, h, sizeof(h));
	snprintf(buf, cap, "%s/s", h);
}

/* Seconds as "m:ss" or "h:mm:ss". */
static void fmt_clock(uint64_t s, char *buf, size_t cap)
{
	if (s >= 3600)
		snprintf(buf, cap, "%llu:%02u:%02u", (unsigned long long)(s / 3600), (unsigned)(s / 60 % 60),
			 (unsigned)(s % 60));
	else
		snprintf(buf, cap, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

/* The index of the oldest sample. */
static unsigned oldest(const wbs__progress *p)
{
	return p->ns < WBS__PG_SAMPLES ? 0 : p->head;
}

/* The recent rate in units per second at now, or -1 when there is too little time to tell. */
static double recent_rate(const wbs__progress *p, int64_t now)
{
	unsigned o = oldest(p);
	int64_t dt;

	if (!p->ns)
		return -1;
	dt = now - p->st[o];
	if (dt < MIN_RATE_NS)
		return -1;
	return p->done >= p->sd[o] ? (double)(p->done - p->sd[o]) * (double)NS_PER_S / (double)dt : 0;
}

static void sample(wbs__progress *p, int64_t now)
{
	unsigned last = (p->head + WBS__PG_SAMPLES - 1) % WBS__PG_SAMPLES;

	if (p->ns && now - p->st[last] < SAMPLE_NS)
		return;
	p->st[p->head] = now;
	p->sd[p->head] = p->done;
	p->head = (p->head + 1) % WBS__PG_SAMPLES;
	if (p->ns < WBS__PG_SAMPLES)
		p->ns++;
}

void wbs__progress_format(const wbs__progress *p, int64_t now, int final, char *buf, size_t cap)
{
	char d[32], t[32], r[40], e[32];
	size_t o = 0;

#define PUT(...)                                                                  \
	do {                                                                      \
		int n_ = snprintf(buf + o, cap - o, __VA_ARGS__);                 \
		o = n_ < 0 ? o : (size_t)n_ >= cap - o ? cap - 1 : o + (size_t)n_; \
	} while (0)

	if (!cap)
		return;
	buf[0] = '\0';
	wbs__progress_human(p->done, p->unit, d, sizeof(d));
	wbs__progress_human(p->total, p->unit, t, sizeof(t));
	if (p->cmd)
		PUT("%s: ", p->cmd);
	if (final) {
		int64_t el = now > p->start ? now - p->start : 0;
		PUT("%s %s", p->what, d);
		if (p->total && p->done != p->total)
			PUT(" of %s", t);
		if (el < 60 * NS_PER_S) {
			PUT(" in %.1f s", (double)el / (double)NS_PER_S);
		} else {
			fmt_clock((uint64_t)(el / NS_PER_S), e, sizeof(e));
			PUT(" in %s", e);
		}
		if (el >= MIN_AVG_NS) {
			fmt_rate((double)p->done * (double)NS_PER_S / (double)el, p->unit, r, sizeof(r));
			PUT(", %s", r);
		}
	} else {
		double rate = recent_rate(p, now);
		PUT("%s %s", p->what, d);
		if (p->total) {
			/* done may pass a total that was an estimate: never more than 100% */
			unsigned pct = p->done >= p->total ? 100u : (unsigned)((double)p->done * 100.0 / (double)p->total);
			PUT(" / %s (%u%%)", t, pct);
		}
		if (rate >= 0) {
			fmt_rate(rate, p->unit, r, sizeof(r));
			PUT(", %s", r);
		} else {
			PUT(", -- /s");
		}
		if (p->total && p->done < p->total) {
			double left = rate > 0 ? (double)(p->total - p->done) / rate : -1;
			if (left >= 0 && left < 100.0 * 3600) {
				fmt_clock((uint64_t)(left + 0.5), e, sizeof(e));
				PUT(", ETA %s", e);
			} else {
				PUT(", ETA --:--");
			}
		}
	}
	if (p->note[0])
		PUT("  %s", p->note);
#undef PUT
}

/* Write the live phase: a redrawn terminal line, or a plain one. */
static void emit(wbs__progress *p, int64_t now, int final)
{
	char line[LINE_MAX_BYTES];

	wbs__progress_format(p, now, final, line, sizeof(line));
	if (p->tty) {
		/* A redrawn line must fit one column short of the width (writing the last column wraps on
		 * some terminals, and "\r" then returns to the wrong row). The final line stays whole: it
		 * ends with a newline, so wrapping it does no harm. */
		size_t w = p->width > 1 ? p->width - 1 : 1;
		if (!final && strlen(line) > w)
			line[w] = '\0';
		fprintf(p->out, "\r%s\x1b[K%s", line, final ? "\n" : "");
	} else {
		fprintf(p->out, "%s\n", line);
	}
	fflush(p->out);
	p->last_out = now;
}

void wbs__progress_begin(wbs__progress *p, const char *what, int unit, uint64_t total)
{
	if (!p->on)
		return;
	if (p->live)
		wbs__progress_end(p);
	snprintf(p->what, sizeof(p->what), "%s", what ? what : "");
	p->unit = unit;
	p->total = total;
	p->done = p->checked = 0;
	p->start = p->last_out = p->last_check = p->now(p->now_arg);
	p->calls = 0;
	p->stride = 1;
	p->ns = p->head = 0;
	sample(p, p->start);
	p->live = 1;
	if (p->tty)
		emit(p, p->start, 0);
}

void wbs__progress_total(wbs__progress *p, uint64_t total)
{
	if (p->live)
		p->total = total;
}

void wbs__progress_note(wbs__progress *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->note, sizeof(p->note), fmt, ap);
	va_end(ap);
}

/* After done moved: every stride calls, read the clock, adapt the stride, sample, and print if it is time. */
static void tick(wbs__progress *p)
{
	int64_t now, dt;
	uint64_t s;

	if (++p->calls < p->stride && !(p->unit == WBS__PG_BYTES && p->done - p->checked >= BYTES_CHECK))
		return;
	now = p->now(p->now_arg);
	dt = now - p->last_check;
	if (dt < CHECK_NS)
		s = (uint64_t)p->stride * 2;
	else /* calls per CHECK_NS at the pace just seen */
		s = (uint64_t)p->calls * (uint64_t)CHECK_NS / (uint64_t)dt;
	p->stride = s < 1 ? 1 : s > STRIDE_MAX ? STRIDE_MAX : (unsigned)s;
	p->calls = 0;
	p->last_check = now;
	p->checked = p->done;
	sample(p, now);
	if (now - p->last_out >= (p->tty ? p->redraw_ns : p->interval_ns))
		emit(p, now, 0);
}

void wbs__progress_add(wbs__progress *p, uint64_t n)
{
	if (!p->live)
		return;
	p->done = n > UINT64_MAX - p->done ? UINT64_MAX : p->done + n;
	tick(p);
}

void wbs__progress_set(wbs__progress *p, uint64_t done)
{
	if (!p->live)
		return;
	p->done = done;
	tick(p);
}

void wbs__progress_end(wbs__progress *p)
{
	if (!p->live)
		return;
	emit(p, p->now(p->now_arg), 1);
	p->live = 0;
}

void wbs__progress_sdk(const wb_progress *sp, void *arg)
{
	wbs__progress *p = arg;

	if (!p->on || !sp->what)
		return;
	if (!p->live || strcmp(p->what, sp->what) != 0)
		wbs__progress_begin(p, sp->what, WBS__PG_BYTES, sp->total);
	else
		p->total = sp->total;
	wbs__progress_set(p, sp->done);
}
