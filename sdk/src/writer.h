/*
 * writer.h — the threads that move records from the ring to the run log
 * and make it durable.
 *
 * Threads: wb__writer_start/stop from the thread that owns the run; the
 * published counters (written_off, written_seq, synced_off, error) from
 * any thread.
 */
#ifndef WB_WRITER_H
#define WB_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "error.h"
#include "ring.h"

#define WB__WRITER_TICK_MS 50u   /* longest sleep between drains */
#define WB__WRITER_SYNC_MS 1000u /* longest time between a write and the start of its fdatasync */
#define WB__DURABLE_MS 100u      /* a record is in the run log this long after wb_run_log returned */
#define WB__WRITER_AHEAD_MS 25u  /* producers may run ahead of the writer by what it writes in this long */

typedef struct wb__writer {
	wb__ring *ring;
	int fd;                        /* the run log, opened for appending */
	pthread_t thread;
	int started;

	/* Writer thread only. */
	uint64_t next_seq;
	uint64_t end;                  /* file offset where the next frame goes */
	uint64_t win_bytes;            /* ring bytes written in the current rate window */
	int64_t win_ns;                /* time spent writing them */
	double rate;                   /* bytes per ns, smoothed; 0 before the first window */

	/* The syncer thread: fdatasync at least every WB__WRITER_SYNC_MS. */
	pthread_t syncer;
	int syncer_started;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	int sync_stop;                 /* guarded by sync_mu */

	/* Published for readers: the log holds whole frames up to written_off,
	 * the last of them numbered written_seq, and is on disk up to
	 * synced_off (release stores). */
	_Atomic uint64_t written_off;
	_Atomic uint64_t written_seq;
	_Atomic uint64_t synced_off;
	_Atomic int stop;
	_Atomic int failing;           /* the first failure claims errmsg */
	_Atomic int error;             /* WB_OK, or WB_EIO once a write or sync failed */
	char errmsg[WB__ERRMSG_MAX];   /* set before error is stored */

	/* Called on the writer thread after frames were written. */
	void (*progress)(void *arg);
	void *progress_arg;
} wb__writer;

/*
 * Set up w to append frames numbered from next_seq to fd at offset end
 * (the scanned log's valid_bytes), and start its two threads: the writer,
 * which also paces the ring's producers (wb__ring_set_limit), and the
 * syncer. written_seq starts at next_seq - 1. progress may be NULL. WB_OK
 * or WB_ENOMEM.
 */
WB__HIDDEN int wb__writer_start(wb__writer *w, wb__ring *ring, int fd, uint64_t next_seq, uint64_t end,
				void (*progress)(void *), void *progress_arg);

/*
 * Drain the ring, fdatasync the log and join the threads. The caller must
 * make sure no producer adds records any more. Returns WB_OK, or WB_EIO
 * (with errmsg) if a write or sync failed at any point of the run: records
 * then may be missing from the log. Safe on a writer that never started.
 */
WB__HIDDEN int wb__writer_stop(wb__writer *w);

#endif /* WB_WRITER_H */
