/*
 * progress.h — progress of the CLI's long commands (`wb sync`, `wb artifact
 * put|get`, `wb export`, `wb import`, `wb restore`, `wb tensorboard
 * import`), on stderr only: their stdout may be data (`wb export -`).
 *
 * A command's work is a sequence of phases ("hashing", then "uploading");
 * each has a unit (bytes or a count of things), a total when it is known,
 * and a done count the command moves with wbs__progress_add/_set as it
 * works. On a terminal the phase is one line rewritten in place ("\r",
 * clear to the end of the line) at most 10 times a second, then left on
 * screen as its summary; elsewhere (a pipe, a log file) one plain line
 * every WB_PROGRESS_INTERVAL seconds (default 5) and a summary line when
 * the phase ends. -q/--quiet or WB_PROGRESS=0 turn it off.
 *
 * Threads: a wbs__progress belongs to the thread that drives the command.
 */
#ifndef WB_SERVER_PROGRESS_H
#define WB_SERVER_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "wb.h"

enum { WBS__PG_BYTES = 0, WBS__PG_COUNT = 1 };

#define WBS__PG_SAMPLES 8

typedef struct wbs__progress {
	/* set by wbs__progress_init (tests may change them before the first phase) */
	FILE *out;
	int on, tty;
	unsigned width;         /* a terminal line is cut to this many bytes */
	int64_t interval_ns;    /* between plain lines */
	int64_t redraw_ns;      /* between terminal redraws */
	int64_t (*now)(void *); /* the clock (CLOCK_MONOTONIC), ns */
	void *now_arg;
	const char *cmd; /* "wb export": the prefix of every line */
	/* the phase */
	char what[40];
	char note[96];
	int unit, live;
	uint64_t done, total;
	int64_t start, last_out;
	/* clock checks: every stride calls to _add/_set, the stride adapted to their rate */
	unsigned calls, stride;
	int64_t last_check;
	uint64_t checked; /* done at the last check */
	/* the rate over the last few seconds: (time, done) samples, oldest first after head */
	int64_t st[WBS__PG_SAMPLES];
	uint64_t sd[WBS__PG_SAMPLES];
	unsigned ns, head;
} wbs__progress;

/*
 * Set p up for command cmd (a static string) writing to stderr: on unless
 * quiet or WB_PROGRESS=0; tty from isatty(stderr); the plain-line interval
 * from WB_PROGRESS_INTERVAL (seconds, fractions allowed, 0: at every clock
 * check), else 5 s.
 */
void wbs__progress_init(wbs__progress *p, const char *cmd, int quiet);

/* 1 if arg is -q or --quiet, the option every command above takes. */
int wbs__progress_quiet_arg(const char *arg);

/*
 * Start phase what (copied; cut to 39 bytes) in unit, total (0: unknown),
 * ending the phase before it if one is live. done starts at 0.
 */
void wbs__progress_begin(wbs__progress *p, const char *what, int unit, uint64_t total);

/* The total of the live phase changed (more was found to do). */
void wbs__progress_total(wbs__progress *p, uint64_t total);

/* Text shown after the counts (the file or run at hand), "" for none; printf format. */
void wbs__progress_note(wbs__progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* done += n, or done = done; may print. Cheap: the clock is read only every few calls. */
void wbs__progress_add(wbs__progress *p, uint64_t n);
void wbs__progress_set(wbs__progress *p, uint64_t done);

/* End the live phase with its summary line (done, elapsed, average rate). No-op without one. */
void wbs__progress_end(wbs__progress *p);

/*
 * A wb_progress_fn for libwb's long calls (wb_sync_options.progress and the
 * like), arg being a wbs__progress: a new p->what begins a new phase.
 */
void wbs__progress_sdk(const wb_progress *sp, void *arg);

/*
 * The text of the live phase at time now into buf (always terminated,
 * cut at cap): "what done / total (pct%), rate, ETA m:ss  note" while it
 * runs, "what done in elapsed, rate" when final. For the unit test.
 */
void wbs__progress_format(const wbs__progress *p, int64_t now, int final, char *buf, size_t cap);

/* n in human units: "999 B", "1.5 KiB", "12.3 MiB"... (bytes) or "999", "12.3k", "4.5M" (counts). */
void wbs__progress_human(uint64_t n, int unit, char *buf, size_t cap);

#endif /* WB_SERVER_PROGRESS_H */
