/*
 * writer.c — the writer thread: ring → framed, checksummed run log.
 *
 * Durability bound. A record reaches the run log (the OS page cache, which
 * survives a SIGKILL of the trainer) within 100 ms of wb_log: the writer
 * wakes at least every WB__WRITER_TICK_MS (50 ms), and sooner when the ring
 * passes half full or wb_finish kicks it, then writes everything published.
 * It is fsync'ed (fdatasync) within ~1 s: a sync runs when the last one is
 * WB__WRITER_SYNC_MS old and there are unsynced bytes, checked on every
 * wake-up, and once more at stop.
 *
 * The work per wake-up: peek up to BATCH records in place, give each a seq
 * and a 17-byte header (the CRC over the payload is computed here, on this
 * thread, not in wb_log), write headers and payloads with one pwritev
 * straight from the ring, publish the new end of the log for the uploader,
 * and only then release the ring space. Seqs are assigned at write time,
 * so they are consecutive in the file by construction.
 *
 * Errors. If a write fails (disk full, I/O error) nothing is released: the
 * records stay in the ring, the write is retried at the same offset on the
 * next wake-up (a partial write is simply overwritten), one line goes to
 * stderr and wb_finish returns WB_EIO. Producers keep going until the ring
 * is full, then drop and count. The writer never exits early and never
 * crashes the trainer.
 */
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runlog.h"
#include "util.h"

#define BATCH 256u

/* Remember the first error and say it once. */
static void writer_fail(wb__writer *w, const char *msg)
{
	if (atomic_load(&w->error) != WB_OK)
		return;
	snprintf(w->errmsg, sizeof w->errmsg, "%s", msg);
	atomic_store(&w->error, WB_EIO);
	wb__warn("%s; records are kept in memory while the buffer lasts", msg);
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
		uint64_t end_pos, seq = w->next_seq, off = w->end;
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
	}
}

static void writer_sync(wb__writer *w)
{
	char msg[WB__ERRMSG_MAX];

	if (fdatasync(w->fd) != 0) {
		snprintf(msg, sizeof msg, "cannot sync the run log: %s", strerror(errno));
		writer_fail(w, msg);
	}
}

static void *writer_main(void *arg)
{
	wb__writer *w = arg;
	int64_t last_sync = wb__mono_ms();
	int dirty = 0;

	for (;;) {
		int stop = atomic_load(&w->stop);
		int r = writer_drain(w);
		int64_t now;

		if (r > 0)
			dirty = 1;
		now = wb__mono_ms();
		if (dirty && now - last_sync >= WB__WRITER_SYNC_MS) {
			writer_sync(w);
			last_sync = now;
			dirty = 0;
		}
		/* stop was read before the drain, so everything pushed before
		 * wb__writer_stop() set it has been written (or failed to be). */
		if (stop)
			break;
		wb__ring_wait(w->ring, WB__WRITER_TICK_MS);
	}
	if (dirty)
		writer_sync(w);
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
	atomic_init(&w->stop, 0);
	atomic_init(&w->error, WB_OK);
	rc = wb__thread_start(&w->thread, writer_main, w, "writer");
	if (rc)
		return rc;
	w->started = 1;
	return WB_OK;
}

int wb__writer_stop(wb__writer *w)
{
	if (!w->started)
		return WB_OK;
	atomic_store(&w->stop, 1);
	wb__ring_kick(w->ring);
	pthread_join(w->thread, NULL);
	w->started = 0;
	if (atomic_load(&w->error) != WB_OK)
		return wb__error_set(WB_EIO, w->errmsg);
	return WB_OK;
}
