/*
 * store_group.h — groups of runs: the ranks of one distributed job.
 *
 * A group is the runs of a project that share a group name (the SDK names
 * it after the launcher's job id). Nothing about a group is stored apart
 * from its runs: its state and its cross-rank aggregates are computed from
 * the runs' stored data when asked, so they are right however late a rank's
 * records arrive and however many steps each rank logged.
 *
 * Semantics (also in schema/api.md):
 *  - state: crashed if any rank crashed (a rank that stops heartbeating is
 *    crashed by the sweeper), else running if any rank runs, else failed if
 *    any rank failed, else finished.
 *  - history: the group's step range [start, end] (default: the union of the
 *    ranks' ranges for that key) is cut into the same equal-width buckets for
 *    every rank (wb__bucket_of). Per bucket and rank the rank's last value
 *    there is taken (its M4 "last"); mean, std (population) and count are
 *    over the ranks that have a non-NaN value in the bucket; min and max
 *    are the least min and greatest max of the ranks' points in it. With
 *    no more steps than buckets a bucket is a single step, so the
 *    aggregates are exactly per step across ranks.
 */
#ifndef WB_SERVER_STORE_GROUP_H
#define WB_SERVER_STORE_GROUP_H

#include "store/store.h"

typedef struct wbs__group_row {
	char *group;
	const char *state; /* static string */
	uint64_t runs, running, finished, failed, crashed;
	double created_at, updated_at;
} wbs__group_row;

typedef struct wbs__group_member {
	char *run_id, *name, *state, *host; /* host may be NULL */
	int rank;                           /* -1 unknown */
	int64_t last_step;                  /* -1: none */
	double heartbeat_at;                /* NaN if never */
	double last_step_time;              /* wall time of the last step, NaN if none */
	double step_rate;                   /* steps per second over the run, NaN if unknown */
} wbs__group_member;

typedef struct wbs__group_history {
	size_t len;
	int64_t *step; /* greatest "last point" step of the ranks in the bucket */
	double *mean, *std, *min, *max;
	uint32_t *count; /* ranks with a non-NaN value in the bucket */
	uint32_t ranks;  /* ranks that have the key at all */
	int downsampled;
} wbs__group_history;

/* The groups of a project, most recent first (at most 1000). */
int wbs__store_groups_list(wbs__store *s, const char *entity, const char *project, wbs__group_row **rows,
			   size_t *n, wbs__err *err);
void wbs__group_rows_free(wbs__group_row *rows, size_t n);

/* A group's state and its ranks, in rank order; NOTFOUND if it has no runs. */
int wbs__store_group_get(wbs__store *s, const char *entity, const char *project, const char *group,
			 wbs__group_row *row, wbs__group_member **members, size_t *n, wbs__err *err);
void wbs__group_members_free(wbs__group_member *m, size_t n);

/* Cross-rank aggregates of key over steps [start, end] (INT64_MIN/INT64_MAX:
 * the ranks' union), in at most nbuckets rows. NOTFOUND if no rank has key. */
int wbs__store_group_history(wbs__store *s, const char *entity, const char *project, const char *group,
			     const char *key, int64_t start, int64_t end, uint32_t nbuckets,
			     wbs__group_history *out, wbs__err *err);
void wbs__group_history_free(wbs__group_history *h);

#endif
