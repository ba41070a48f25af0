/*
 * runlog.h — the run log file (<dir>/run-<id>/records.wbl): scan, repair,
 * append, read. Frames per wire.h.
 *
 * Threads: the functions keep no state; each takes a file descriptor. The
 * writer appends with wb__runlog_append while readers pread through their
 * own descriptors up to an offset the writer published.
 */
#ifndef WB_RUNLOG_H
#define WB_RUNLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "wire.h"

#define WB__RUNLOG_FILE "records.wbl"

enum wb__runlog_tail {
	WB__TAIL_CLEAN = 0,  /* the file ends after a whole, valid frame */
	WB__TAIL_TORN = 1,   /* it ends inside a frame, or in a bad frame with nothing (or only zeros) after it */
	WB__TAIL_CORRUPT = 2 /* a bad frame is followed by more data */
};

/* What a scan found. */
typedef struct wb__runlog_info {
	uint64_t first_seq;   /* 0 when the log has no valid frame */
	uint64_t last_seq;    /* 0 when the log has no valid frame */
	uint64_t frames;      /* valid frames */
	uint64_t valid_bytes; /* offset just past the last valid frame */
	uint64_t file_bytes;  /* size of the file */
	int64_t last_step;    /* step of the last METRICS frame, -1 if none */
	int finished;         /* the last RUN/FINISH frame is a FINISH */
	int tail;             /* enum wb__runlog_tail */
} wb__runlog_info;

/* Called for each valid frame during a scan; non-zero stops the scan and is
 * returned by it. */
typedef int (*wb__runlog_visit)(void *arg, const wb__frame *f);

/*
 * Read the whole log from the start and describe it in *info, calling
 * visit (may be NULL) for each valid frame. The valid log is the longest
 * prefix of whole frames with good checksums and consecutive seqs.
 * WB_OK (whatever the tail), WB_EIO, WB_ENOMEM, or visit's non-zero code.
 */
WB__HIDDEN int wb__runlog_scan(int fd, wb__runlog_info *info, wb__runlog_visit visit, void *arg);

/*
 * Open (creating if needed) the log at path for appending: scan it, and if
 * it has a torn or corrupt tail truncate it to the valid prefix (a corrupt
 * tail is first copied to <path>.corrupt-<offset>, and a warning printed,
 * so no bytes are thrown away). *fd is the open descriptor. WB_OK, WB_EIO,
 * WB_ENOMEM or visit's code; on error *fd is -1.
 */
WB__HIDDEN int wb__runlog_open(const char *path, int *fd, wb__runlog_info *info, wb__runlog_visit visit,
			       void *arg);

/*
 * Write all of iov[0..n) at offset off (pwritev, retried on short writes
 * and EINTR). WB_OK or WB_EIO with errmsg. On error some bytes may have
 * been written; the caller rewrites from off.
 */
WB__HIDDEN int wb__runlog_append(int fd, uint64_t off, struct iovec *iov, int n);

/*
 * Read whole frames starting at off (a frame boundary) and ending at or
 * before end: up to max bytes, but always at least one whole frame if
 * there is one before end. The bytes land in *buf (grown as needed up to a
 * frame's maximum; *cap is its size). *len receives the byte count and
 * *first and *last the seqs of the first and last frame; *len == 0 when off ==
 * end. Frames are checksummed. WB_OK, WB_EIO, WB_ENOMEM or WB_ECORRUPT (the
 * frame at off is bad or ends past end).
 */
WB__HIDDEN int wb__runlog_read(int fd, uint64_t off, uint64_t end, size_t max, uint8_t **buf, size_t *cap,
			       size_t *len, uint64_t *first, uint64_t *last);

/*
 * Find the first frame with seq >= seq among the frames in [0, end): *off
 * receives its offset and *at its seq; if there is none, *off = end and
 * *at = (last seq in the log) + 1, or seq when the log is empty. Only
 * headers are read. WB_OK, WB_EIO, WB_ENOMEM or WB_ECORRUPT.
 */
WB__HIDDEN int wb__runlog_find(int fd, uint64_t end, uint64_t seq, uint64_t *off, uint64_t *at);

#endif /* WB_RUNLOG_H */
