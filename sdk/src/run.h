/*
 * run.h — the wb_run handle, shared by the modules that implement its
 * public functions (run.c, config.c).
 *
 * Threads: everything in a wb_run is either immutable after wb_run_init
 * (strings, mode, settings), guarded (last_step by the ring lock, config by
 * its own mutex), or atomic, so any thread may use the handle; only
 * wb_run_finish needs it alone.
 */
#ifndef WB_RUN_H
#define WB_RUN_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "ring.h"
#include "settings.h"
#include "sysmon.h"
#include "uploader.h"
#include "writer.h"

#define WB__RUN_JSON "run.json"
#define WB__RUN_LOCK "lock"
#define WB__RUN_ACKED "acked"
#define WB__FULL_WAIT_MS 1000u
#define WB__RESUME_TIMEOUT_MS 5000
/* wb_run_init asks the server who owns the key (the default entity) for at most this long */
#define WB__WHOAMI_TIMEOUT_MS 2000

struct wb_run {
	wb_mode mode;
	wb__settings s;
	char *id;
	char *name;
	char *url;                      /* <base_url>/<entity>/<project>/runs/<id> */
	char *dir;                      /* <dir>/run-<id> */
	char *log_path;
	char *run_json;                 /* payload of the RUN record, body of the PUT */
	int lock_fd;
	int log_fd;

	wb__ring ring;
	int ring_ready;
	wb__writer writer;
	_Atomic(wb__uploader *) uploader;
	wb__config config;
	int config_ready;

	int64_t last_step;              /* guarded by the ring lock; moved only by push_at (run.c) */
	_Atomic int64_t step_pub;       /* last_step, for wb_run_step */
	_Atomic int warned_full;
	_Atomic int should_stop;        /* 1 once the server said the run should stop (uploader.c); never cleared */
	wb__sysmon sysmon;              /* system metrics sampler (if system_sample_ms > 0) */
	_Atomic(struct wb__tbfollow *) tbfollow; /* wb_run_follow_tensorboard's thread, or NULL (tbfollow.c) */
	_Atomic(struct wb__alerts *) alerts; /* wb_run_alert rate limits (alert.c), made on first use */
	struct wb__saves *saves;        /* wb_run_save's files (artifact_save.c), NULL until the first wb_run_save */
};

/* alert.c: free a run's alert state (NULL is fine). */
WB__HIDDEN void wb__alerts_free(struct wb__alerts *a);

/*
 * Append one record to the run's ring (any thread): copies payload. WB_OK,
 * WB_EFULL (dropped after the bounded wait; counted, warned once) or
 * WB_EINVAL (larger than half the buffer).
 */
/*
 * wb_run_log, wb_run_log_histogram_bins, wb_run_log_image and wb_run_log_table with the record's time given (seconds since
 * the epoch) instead of the clock's: for values that carry their own time, such as TensorBoard events
 * (tbfollow.c). wall <= 0 or not finite: the clock, as the public calls. Same rules and returns otherwise.
 */
WB__HIDDEN int wb__log_at(wb_run *run, const wb_metric *metrics, size_t n, int64_t step, double wall);
WB__HIDDEN int wb__log_histogram_bins_at(wb_run *run, const char *key, const double *edges, const double *counts,
					 size_t nbins, int64_t step, double wall);
WB__HIDDEN int wb__log_image_at(wb_run *run, const char *key, const void *bytes, size_t len, int64_t step,
				double wall);
WB__HIDDEN int wb__log_table_at(wb_run *run, const char *key, const char *json, int64_t step, double wall);

WB__HIDDEN int wb__run_push(wb_run *run, uint8_t type, const void *payload, size_t len);

/* Print obj and push it as a record of type. As wb__run_push, or WB_ENOMEM. */
WB__HIDDEN int wb__run_push_json(wb_run *run, uint8_t type, const cJSON *obj);

/* What WB_STEP_AUTO means to wb__run_push_at. */
typedef enum wb__step_auto {
	WB__STEP_NEXT, /* the last step + 1: metrics (wb_run_log) */
	WB__STEP_SAME  /* the last step, 0 before any: rich data logged beside the metrics of a step */
} wb__step_auto;

/* Writes a record's payload into p (the size bytes reserved in the ring)
 * for step s at wall time t (unix seconds). Called under the ring lock:
 * no allocation, no I/O, no lock. */
typedef void (*wb__run_fill)(uint8_t *p, int64_t s, double t, const void *arg);

/*
 * Append a record that has a step (any thread): the one place that owns
 * the step rule and run->last_step. step is a step >= 0 (WB_EINVAL below
 * the last step) or WB_STEP_AUTO (settled by rule); fill(p, s, t, arg)
 * writes the size-byte payload under the ring lock, and the record's step
 * becomes the last step. Returns as wb__run_push.
 */
WB__HIDDEN int wb__run_push_at(wb_run *run, uint8_t type, size_t size, int64_t step, wb__step_auto rule,
			       double t, wb__run_fill fill, const void *arg);

/* Wait, at most ms (mono), until the writer has written every record
 * pushed so far into the run log. */
WB__HIDDEN void wb__run_wait_written(wb_run *run, int64_t ms);

#endif /* WB_RUN_H */
