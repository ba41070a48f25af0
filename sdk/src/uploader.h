/*
 * uploader.h — the background thread that streams a live run's log to the
 * server (online mode only).
 *
 * Threads: start and finish from the thread that owns the run;
 * wb__uploader_notify from the writer thread.
 */
#ifndef WB_UPLOADER_H
#define WB_UPLOADER_H

#include <stdatomic.h>
#include <stdint.h>

#include "wire.h"

typedef struct wb__uploader wb__uploader;

typedef struct wb__uploader_config {
	const char *base_url;
	const char *api_key;            /* may be NULL */
	const char *ca_file;            /* PEM CA bundle for https, or NULL */
	const char *entity, *project, *run_id; /* entity NULL: the key owner's, asked for first */
	const char *log_path;           /* <run dir>/records.wbl */
	const char *acked_path;         /* <run dir>/acked */
	const char *run_json;           /* body of the PUT that opens the run */
	unsigned int heartbeat_ms;
	_Atomic uint64_t *written_off;  /* the writer's published end of the log */
	_Atomic int *should_stop;       /* set to 1 when an answer says "should_stop": true; may be NULL */
} wb__uploader_config;

/* Copy cfg and start the thread. WB_OK, WB_EIO (cannot open the log) or
 * WB_ENOMEM. No network I/O happens on the calling thread. */
WB__HIDDEN int wb__uploader_start(wb__uploader **out, const wb__uploader_config *cfg);

/* Wake the thread: the writer appended frames. Any thread. */
WB__HIDDEN void wb__uploader_notify(void *uploader);

/*
 * Wait until the server has acknowledged every frame up to final_seq, or
 * until deadline (mono ms), then stop the thread (aborting a request in
 * flight) and free u. Returns WB_OK, WB_ETIMEOUT, or the error that
 * stopped the uploader earlier (WB_EAUTH, WB_ESERVER, ...), with errmsg.
 * Accepts NULL (WB_OK).
 */
WB__HIDDEN int wb__uploader_finish(wb__uploader *u, uint64_t final_seq, int64_t deadline);

#endif /* WB_UPLOADER_H */
