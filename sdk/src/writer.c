/*
 * writer.c — the writer thread (ring → framed, checksummed run log) and
 * the syncer thread (run log → disk).
 *
 * Durability bound. A record reaches the run log (the OS page cache, which
 * survives a SIGKILL of the trainer) within WB__DURABLE_MS (100 ms) of
 * wb_run_log returning, however fast the trainer logs. Two things keep it:
 *  - the writer wakes at least every WB__WRITER_TICK_MS (50 ms), and sooner
 *    when the ring passes half its limit or wb_run_finish kicks it, then writes
 *    everything published, looping for as long as there is more;
 *  - producers may not run further ahead of it than it can write in
 *    WB__WRITER_AHEAD_MS (25 ms). The writer measures its own pace (ring
 *    bytes over the time spent writing them, in windows of RATE_WINDOW
 *    bytes or RATE_WINDOW_NS) and sets the ring's limit to that many
 *    milliseconds of it, following a slowdown at once and a speed-up
 *    gradually. A producer past the limit waits for the writer (at most
 *    the ring's full wait, 1 s, see ring.c), so a trainer that logs faster
 *    than the disk takes is slowed to the disk's pace instead of letting
 *    the log fall seconds behind. Without that, a full 8 MiB ring was
 *    250-360 ms of writing on a loaded machine.
 * The bound does not hold while the writer thread is kept off the CPU or
 * inside a write by the kernel (measured: up to ~140 ms on a 2-core machine
 * at load 20), nor when the disk stops for longer than the wait (the
 * record goes into the ring all the same; the capacity is then the only
 * bound, and past it records are dropped and counted).
 *
 * Sync. The syncer thread fdatasyncs the log when it has grown, at least
 * every WB__WRITER_SYNC_MS (1 s), and publishes synced_off; wb__writer_stop
 * syncs once more. It is a thread of its own because an fdatasync of a
 * second of sustained logging can take longer than the durability bound:
 * the writer never waits for the disk to flush, and the syncer never waits
 * for the ring to empty (the writer used to sync only after a drain, which
 * under sustained logging never ended: no fdatasync for seconds).
 *
 * The work per pass: peek up to BATCH records in place, give each a seq
 * and a 17-byte header (the CRC over the payload is computed here, on this
 * thread, not in wb_run_log), write headers and payloads with one pwritev
 * straight from the ring, publish the new end of the log for the uploader,
 * and only then release the ring space. Seqs are assigned at write time,
 * so they are consecutive in the file by construction.
 *
 * Errors. If a write fails (disk full, I/O error) nothing is released: the
 * records stay in the ring, the write is retried at the same offset on the
 * next wake-up (a partial write is simply overwritten), one line goes to
 * stderr and wb_run_finish returns WB_EIO. Producers keep going until the ring
 * is full, then drop and count. The writer never exits early and never
 * crashes the trainer.
 */
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "runlog.h"
#include "util.h"

#define BATCH 256u
#define RATE_WINDOW (256u * 1024u)     /* bytes per pace measurement, */
#define RATE_WINDOW_NS (20 * 1000000)  /* or this long, whichever comes first */
#define LIMIT_START (1024u * 1024u)    /* the limit before the first measurement */
#define LIMIT_MIN (64u * 1024u)

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Remember the first error (of either thread) and say it once. */
static void writer_fail(wb__writer *w, const char *msg)
{
	if (atomic_exchange(&w->failing, 1))
		return;
	snprintf(w->errmsg, sizeof w->errmsg, "%s", msg);
	atomic_store(&w->error, WB_EIO);
	wb__warn("%s; records are kept in memory while the buffer lasts", msg);
}

/*
 * Count bytes written in ns towards the pace, and when a window is full set
 * the ring's limit to WB__WRITER_AHEAD_MS of writing: at the window's own
 * pace if that is slower than the smoothed one (a slowdown counts at once),
 * else at the smoothed pace (a fast window alone does not raise it much).
 */
static void writer_pace(wb__writer *w, uint64_t bytes, int64_t ns)
{
	double rate, use;
	size_t limit, old;

	w->win_bytes += bytes;
	w->win_ns += ns;
	if (w->win_bytes < RATE_WINDOW && w->win_ns < RATE_WINDOW_NS)
		return;
	rate = (double)w->win_bytes / (double)(w->win_ns > 0 ? w->win_ns : 1);
	w->rate = w->rate > 0 ? w->rate * 0.75 + rate * 0.25 : rate;
	use = rate < w->rate ? rate : w->rate;
	w->win_bytes = 0;
	w->win_ns = 0;
	use *= (double)WB__WRITER_AHEAD_MS * 1e6;
	limit = use >= (double)w->ring->cap ? w->ring->cap : use <= LIMIT_MIN ? LIMIT_MIN : (size_t)use;
	/* producers read the limit on every call: store it only when it moves by 1/16 or more */
	old = atomic_load_explicit(&w->ring->limit, memory_order_relaxed);
	if (limit > old + old / 16 || limit < old - old / 16)
		wb__ring_set_limit(w->ring, limit);
}

/* Write every record published in the ring. 1 if something was written,
 * 0 if the ring was empty, -1 on a write error (the records stay). */
static int writer_drain(wb__writer *w)
{
	wb__ring_entry e[BATCH];
	uint8_t hdr[BATCH][WB__FRAME_HEADER];
	struct iovec iov[2 * BATCH];
	int wrote = 0;

	for (;;) {
		int64_t t0 = mono_ns();
		uint64_t end_pos, seq = w->next_seq, off = w->end;
		uint64_t from = atomic_load_explicit(&w->ring->tail, memory_order_relaxed); /* ours to move */
		size_t n = wb__ring_peek(w->ring, e, BATCH, &end_pos);
		int niov = 0;

		if (n == 0) {
			/* Only pads were left: give their space back too. */
			wb__ring_release(w->ring, end_pos);
			return wrote;
		}
		for (size_t i = 0; i < n; i++) {
			wb__frame_header(hdr[i], seq + i, e[i].type, e[i].payload, e[i].len);
			iov[niov].iov_base = hdr[i];
			iov[niov++].iov_len = WB__FRAME_HEADER;
			if (e[i].len) {
				iov[niov].iov_base = (void *)e[i].payload;
				iov[niov++].iov_len = e[i].len;
			}
			off += WB__FRAME_HEADER + (uint64_t)e[i].len;
		}
		if (wb__runlog_append(w->fd, w->end, iov, niov) != WB_OK) {
			writer_fail(w, wb_errmsg());
			return -1;
		}
		w->end = off;
		w->next_seq = seq + n;
		atomic_store_explicit(&w->written_seq, seq + n - 1, memory_order_release);
		atomic_store_explicit(&w->written_off, off, memory_order_release);
		wb__ring_release(w->ring, end_pos);
		wrote = 1;
		if (w->progress)
			w->progress(w->progress_arg);
		writer_pace(w, end_pos - from, mono_ns() - t0);
	}
}

/* fdatasync the log if it grew since the last one; publish synced_off. */
static void writer_sync(wb__writer *w)
{
	uint64_t off = atomic_load_explicit(&w->written_off, memory_order_acquire);
	char msg[WB__ERRMSG_MAX];

	if (off <= atomic_load_explicit(&w->synced_off, memory_order_relaxed))
		return;
	if (fdatasync(w->fd) != 0) {
		snprintf(msg, sizeof msg, "cannot sync the run log: %s", strerror(errno));
		writer_fail(w, msg);
		return;
	}
	atomic_store_explicit(&w->synced_off, off, memory_order_release);
}

static void *writer_main(void *arg)
{
	wb__writer *w = arg;

	for (;;) {
		int stop = atomic_load(&w->stop);

		writer_drain(w);
		/* stop was read before the drain, so everything pushed before
		 * wb__writer_stop() set it has been written (or failed to be). */
		if (stop)
			break;
		wb__ring_wait(w->ring, WB__WRITER_TICK_MS);
	}
	return NULL;
}

/* A sync at least every WB__WRITER_SYNC_MS, counted from the start of the
 * last one, until told to stop. */
static void *syncer_main(void *arg)
{
	wb__writer *w = arg;
	int64_t next = wb__mono_ms() + WB__WRITER_SYNC_MS;

	pthread_mutex_lock(&w->sync_mu);
	while (!w->sync_stop) {
		if (wb__cond_wait_until(&w->sync_cv, &w->sync_mu, next) != ETIMEDOUT)
			continue; /* told to stop, or woken early: look again */
		pthread_mutex_unlock(&w->sync_mu);
		next = wb__mono_ms() + WB__WRITER_SYNC_MS;
		writer_sync(w);
		pthread_mutex_lock(&w->sync_mu);
	}
	pthread_mutex_unlock(&w->sync_mu);
	return NULL;
}

int wb__writer_start(wb__writer *w, wb__ring *ring, int fd, uint64_t next_seq, uint64_t end,
		     void (*progress)(void *), void *progress_arg)
{
	int rc;

	memset(w, 0, sizeof *w);
	w->ring = ring;
	w->fd = fd;
	w->next_seq = next_seq;
	w->end = end;
	w->progress = progress;
	w->progress_arg = progress_arg;
	atomic_init(&w->written_off, end);
	atomic_init(&w->written_seq, next_seq - 1);
	atomic_init(&w->synced_off, end);
	atomic_init(&w->stop, 0);
	atomic_init(&w->failing, 0);
	atomic_init(&w->error, WB_OK);
	if (pthread_mutex_init(&w->sync_mu, NULL))
		return wb__error(WB_ENOMEM, "cannot initialise the syncer's lock");
	if (wb__cond_init(&w->sync_cv)) {
		pthread_mutex_destroy(&w->sync_mu);
		return wb__error(WB_ENOMEM, "cannot initialise the syncer's lock");
	}
	wb__ring_set_limit(ring, LIMIT_START);
	rc = wb__thread_start(&w->thread, writer_main, w, "writer");
	if (rc)
		goto fail;
	w->started = 1;
	rc = wb__thread_start(&w->syncer, syncer_main, w, "syncer");
	if (rc) {
		wb__writer_stop(w);
		return rc;
	}
	w->syncer_started = 1;
	return WB_OK;
fail:
	pthread_mutex_destroy(&w->sync_mu);
	pthread_cond_destroy(&w->sync_cv);
	return rc;
}

int wb__writer_stop(wb__writer *w)
{
	if (!w->started)
		return WB_OK;
	atomic_store(&w->stop, 1);
	wb__ring_kick(w->ring);
	pthread_join(w->thread, NULL);
	w->started = 0;
	if (w->syncer_started) {
		pthread_mutex_lock(&w->sync_mu);
		w->sync_stop = 1;
		pthread_cond_signal(&w->sync_cv);
		pthread_mutex_unlock(&w->sync_mu);
		pthread_join(w->syncer, NULL);
		w->syncer_started = 0;
	}
	writer_sync(w);
	pthread_mutex_destroy(&w->sync_mu);
	pthread_cond_destroy(&w->sync_cv);
	if (atomic_load(&w->error) != WB_OK)
		return wb__error_set(WB_EIO, w->errmsg);
	return WB_OK;
}
