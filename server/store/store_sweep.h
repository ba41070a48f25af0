/*
 * store_sweep.h — hyperparameter sweeps and their trials (migration 010).
 *
 * The store keeps a sweep's state and its trials, and hands trials out; it
 * knows nothing of search methods. Choosing a trial's parameters is the
 * caller's (server/sweep/, through a callback run inside the writer's
 * transaction), so "read the finished trials, choose, insert" is one
 * transaction on the one writer and two agents can never get the same
 * trial, nor two parameter sets the same number.
 *
 * Leases: an agent that takes a trial must heartbeat it within the sweep's
 * lease; the writer's periodic crash sweep marks a trial whose lease passed
 * "crashed" and queues its parameters again (a "pending" trial) while the
 * sweep's re-issue budget for them lasts. A trial's metric is not stored:
 * it is the summary value of the metric in the trial's run, read with the
 * trials, so the trainer reports it through the records it sends anyway.
 * The one copy kept is for early stopping (migration 011): a trial run's
 * points of the metric also go to sweep_curves at ingest, so judging a
 * trial never decodes chunks (wbs__sweep_ingest below).
 *
 * Threads: as store.h.
 */
#ifndef WB_SERVER_STORE_SWEEP_H
#define WB_SERVER_STORE_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "sweep/stop.h" /* the curve types only: the store hands curves to the judge */

#define WBS__SWEEP_ID_LEN 8u       /* [a-z0-9]{8} */
#define WBS__SWEEPS_MAX 10000u     /* listed per project at most */
#define WBS__TRIALS_MAX 1000000u   /* trials per sweep at most */
#define WBS__AGENT_MAX 128u        /* bytes of an agent's name */

/* The states a trial can be in, and how many of a sweep's are in each. */
enum wbs__trial_state {
	WBS__TS_PENDING,
	WBS__TS_LEASED,
	WBS__TS_RUNNING, /* leased, and its run exists: reported, never stored */
	WBS__TS_FINISHED,
	WBS__TS_FAILED,
	WBS__TS_CRASHED,
	WBS__TS_STOPPED,
	WBS__TS__COUNT
};
extern const char *const wbs__trial_state_names[WBS__TS__COUNT];

typedef struct wbs__trial_row {
	int64_t num;
	char *run_id, *params; /* params: JSON object text */
	int state;             /* wbs__trial_state */
	char *agent;           /* NULL for a pending trial */
	int64_t reissue_of;    /* -1: an original trial */
	int has_exit_code;
	int exit_code;
	double created_at, started_at, finished_at, lease_until; /* NaN when not set */
	char *run_state;       /* the run's state, NULL when the trial's run does not exist (yet) */
	double value;          /* the run's summary value of the sweep's metric; NaN when none */
	/* early stopping (migration 011): stopped_at is NaN until the controller told the trial to stop */
	double stopped_at;
	int64_t stop_rung;     /* the rung's index in the trial's bracket; -1 for the median rule or no stop */
	int64_t stop_iter;     /* the rung's iteration (median: the iteration judged); -1 when no stop */
} wbs__trial_row;
void wbs__trial_rows_free(wbs__trial_row *rows, size_t n);

typedef struct wbs__sweep_row {
	int64_t id, project_id; /* the store's row ids */
	uint64_t cap;           /* new trials at most (0: no limit) */
	double lease_seconds;
	int reissue;
	char *sweep_id, *name, *spec, *method, *metric, *goal, *state; /* name, metric, goal may be NULL */
	double created_at, updated_at;
	uint64_t counts[WBS__TS__COUNT];
	uint64_t issued;  /* trials handed out, re-issues not counted */
	wbs__trial_row *trials; /* every trial by num (wbs__store_sweep_get only; NULL in lists) */
	size_t ntrials;
	/* wbs__store_sweep_get, when the spec has early_terminate: every trial's curve of the metric, by num
	 * (curves[i].pts point into pts; num and state filled; state is a WBS__TRIAL_*) */
	int has_curves; /* curves were read (none may exist yet) */
	wbs__stop_trial *curves;
	size_t ncurves;
	wbs__stop_point *pts;
	/* the best trial, copied (lists have it too) */
	int has_best;
	int64_t best_num;
	char *best_run_id, *best_params;
	double best_value;
} wbs__sweep_row;
void wbs__sweep_row_free(wbs__sweep_row *r);
void wbs__sweep_rows_free(wbs__sweep_row *rows, size_t n);

typedef struct wbs__sweep_new {
	const char *sweep_id; /* WBS__SWEEP_ID_LEN of [a-z0-9], chosen by the caller */
	const char *name, *spec, *method, *metric, *goal; /* name, metric, goal may be NULL */
	int maximize;          /* the goal is maximize (which trial is best) */
	uint64_t cap;          /* new trials at most (0: no limit) */
	double lease_seconds;  /* how long a trial's lease lasts without a heartbeat */
	int reissue;           /* how many times a crashed trial's parameters are issued again */
	int64_t user_id;
} wbs__sweep_new;

/* Create a sweep (and its project when missing). CONFLICT when the id is taken. */
int wbs__store_sweep_create(wbs__store *s, const char *entity, const char *project, const wbs__sweep_new *n,
			    wbs__err *err);
/* A sweep with every trial (out->trials) and its counts and best. NOTFOUND when absent. */
int wbs__store_sweep_get(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			 wbs__sweep_row *out, wbs__err *err);
/* The sweep's own row (no trials, counts or best). NOTFOUND when absent. */
int wbs__store_sweep_head(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			  wbs__sweep_row *out, wbs__err *err);
/* A project's sweeps, newest first, with counts and best, without trials. */
int wbs__store_sweeps_list(wbs__store *s, const char *entity, const char *project, wbs__sweep_row **rows,
			   size_t *n, wbs__err *err);
/* Set a sweep's state (the caller checked the transition). NOTFOUND, or BADARG for a sweep already ended
 * ("finished", "canceled") or a state it may not go to from where it is. */
int wbs__store_sweep_set_state(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			       const char *state, wbs__err *err);

/*
 * Choose the parameters of the next new trial: the issued-th (0-based,
 * re-issues not counted) given every trial so far (t, n, each with its
 * value). Runs on the writer thread inside its transaction: quick, and no
 * store call. Returns 0 with *params (malloc'd JSON object text), 1 when
 * the search has nothing left, or -1 with err set.
 */
typedef int (*wbs__sweep_suggest_fn)(void *ctx, const wbs__trial_row *t, size_t n, uint64_t issued, char **params,
				     wbs__err *err);

typedef struct wbs__sweep_next_opts {
	const char *agent;        /* who asks */
	wbs__sweep_suggest_fn suggest;
	void *ctx;
} wbs__sweep_next_opts;

enum wbs__next_kind { WBS__NEXT_TRIAL, WBS__NEXT_WAIT, WBS__NEXT_DONE };

typedef struct wbs__sweep_next {
	int kind;        /* wbs__next_kind */
	char state[16];  /* the sweep's state after */
	int64_t num;     /* TRIAL: the trial */
	char *run_id, *params;
} wbs__sweep_next;
void wbs__sweep_next_free(wbs__sweep_next *n);

/*
 * Lease the next trial of a running sweep to o->agent: a pending re-issue
 * first, else a new one from o->suggest. WAIT when the sweep is paused, or
 * when nothing is left to issue but trials still out may yet be re-issued;
 * DONE when it is stopped, canceled or finished (it becomes finished here
 * when its cap is reached and no trial is out).
 */
int wbs__store_sweep_next(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			  const wbs__sweep_next_opts *o, wbs__sweep_next *out, wbs__err *err);

/*
 * Early stopping (docs/design.md, "Early stopping"). The ingest job of a
 * trial's run keeps the run's new points of the sweep's metric (sweep_curves)
 * and, while the trial runs and was not told to stop, asks the judge for each
 * new iteration in ascending order, with every trial's curve of the sweep;
 * the first stop is recorded on the trial (stopped_at, stop_rung, stop_iter)
 * in the same transaction and never taken back. The judge runs on the writer
 * thread inside its transaction: quick, and no store call. spec is the
 * sweep's normalised spec text. Returns 0 with *out (out->stop 1 to stop),
 * or -1 with err set (the ingest then fails: a judge that cannot judge is a
 * server fault, not the trainer's).
 */
typedef int (*wbs__sweep_judge_fn)(void *ctx, const char *spec, const wbs__stop_trial *t, size_t n, size_t which,
				   const int64_t *its, size_t nits, wbs__stop_decision *out, wbs__err *err);
/* Set the judge (before the server serves requests). Without one, curves are kept but nobody is stopped. */
void wbs__store_set_sweep_judge(wbs__store *s, wbs__sweep_judge_fn fn, void *ctx);

/* What an agent's heartbeat learns. */
typedef struct wbs__trial_beat {
	int stop;          /* 1: end the trial */
	int early;         /* the stop is an early stop (else the sweep was canceled) */
	int64_t rung;      /* early: the rung's index, -1 for median */
	int64_t rung_iter; /* early: the rung's iteration */
	double grace_seconds; /* early: how long the trainer has to end by itself */
} wbs__trial_beat;

#define WBS__STOP_GRACE_DEFAULT 30.0 /* seconds: early_terminate.grace_seconds when absent */

/*
 * An agent's heartbeat for trial num: extends its lease by the sweep's
 * lease_seconds. beat->stop is 1 when the sweep was canceled or the trial was
 * stopped early (the agent ends the trial).
 * CONFLICT when the trial is not leased to this agent any more (its lease
 * passed: it was marked crashed and may have been re-issued).
 */
int wbs__store_trial_heartbeat(wbs__store *s, const char *entity, const char *project, const char *sweep_id,
			       int64_t num, const char *agent, wbs__trial_beat *beat, wbs__err *err);
/*
 * The agent's trial num ended with exit_code (or was stopped by the agent
 * because the sweep was canceled: stopped). state receives the trial's
 * state after: "stopped" also when the trial was told to stop early and
 * its trainer then exited by itself, whatever its exit code. CONFLICT when it is not leased to this agent.
 */
int wbs__store_trial_finish(wbs__store *s, const char *entity, const char *project, const char *sweep_id, int64_t num,
			    const char *agent, int exit_code, int stopped, char state[16], wbs__err *err);

/* Writer thread, in the crash sweep's transaction: trials whose lease passed
 * become crashed and are re-issued while their budget lasts. *n: how many. */
int wbs__sweep_expire(wbs__store *s, double now, uint64_t *n, wbs__err *err);

/* Writer thread, in an ingest job of run (runs.id run of project pid, named run_id): keep the batch's new
 * points (from frame skip on) of the sweep's metric when the run is a trial of a sweep with early_terminate,
 * and judge it. *should_stop: the trial was told to stop (now or before). One indexed probe for other runs. */
struct wbs__batch;
int wbs__sweep_ingest(wbs__store *s, int64_t pid, const char *run_id, const struct wbs__batch *b, uint32_t skip,
		      int *should_stop, wbs__err *err);
/* Writer thread: *should_stop 1 when run_id (of project pid) is a trial told to stop. */
int wbs__sweep_told(wbs__store *s, int64_t pid, const char *run_id, int *should_stop, wbs__err *err);

#endif /* WB_SERVER_STORE_SWEEP_H */
