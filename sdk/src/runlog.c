/*
 * runlog.c — the run log on disk: the client's source of truth.
 *
 * The log is append-only frames (wire.h). Appending never rewrites earlier
 * bytes, so a crash can only damage the end: a frame cut short by a killed
 * process, or, after a power loss, a frame whose blocks were allocated but
 * never written (zeros, or garbage that fails its checksum). A scan
 * therefore takes the longest prefix of good frames with consecutive seqs
 * as the log, and classifies what follows:
 *
 *   torn     the file ends inside a frame, or the first bad frame is the
 *            last thing in the file, or only zeros follow it: the normal
 *            result of a crash, repaired by truncating;
 *   corrupt  a bad frame with real data after it: bit rot or a bug. The
 *            writer still has to append after the valid prefix (seqs must
 *            stay consecutive), so it first copies the bad bytes aside to
 *            records.wbl.corrupt-<offset>, then truncates. wb_sync reports
 *            WB_ECORRUPT for such a log.
 *
 * Readers (the uploader, wb_sync) use pread on their own descriptor and
 * never read past an offset the writer has published, so they see only
 * whole frames; batches are checksummed again as they are read, which is
 * cheap next to gzip and keeps a rotten disk block from reaching the server.
 */
#include "runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "util.h"
#include "wire_media.h"

#define CHUNK (1u << 20)
#define FRAME_MAX ((size_t)WB__FRAME_HEADER + WB__FRAME_MAX_PAYLOAD)

/* Read up to len bytes at off, retrying short reads; *got is what was read
 * (less than len only at the end of the file) and is set on every path, so
 * no caller reads it uninitialised after an error. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	size_t have = 0;

	*got = 0;
	while (have < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + have, len - have, (off_t)(off + have));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return wb__error(WB_EIO, "cannot read the run log: %s", strerror(errno));
		if (n == 0)
			break;
		have += (size_t)n;
	}
	*got = have;
	return WB_OK;
}

/* Make *buf hold at least need bytes (need <= FRAME_MAX + CHUNK). */
static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (*cap >= need)
		return WB_OK;
	p = realloc(*buf, need);
	if (!p)
		return wb__error(WB_ENOMEM, "out of memory");
	*buf = p;
	*cap = need;
	return WB_OK;
}

/* 1 if every byte of the file from off on is zero. */
static int zeros_from(int fd, uint64_t off, int *all_zero)
{
	uint8_t *buf = NULL;
	size_t got;
	int rc = WB_OK;

	*all_zero = 1;
	buf = malloc(CHUNK);
	if (!buf)
		return wb__error(WB_ENOMEM, "out of memory");
	for (;;) {
		rc = pread_full(fd, buf, CHUNK, off, &got);
		if (rc || got == 0)
			break;
		for (size_t i = 0; i < got; i++) {
			if (buf[i]) {
				*all_zero = 0;
				goto done;
			}
		}
		off += got;
	}
done:
	free(buf);
	return rc;
}

/* Classify the tail starting with the bad frame at bad_off (header at h). */
static int classify_bad(int fd, const uint8_t *h, uint64_t bad_off, uint64_t file_bytes, int *tail)
{
	uint32_t len = wb__get_u32(h);
	int all_zero;
	int rc;

	if (len <= WB__FRAME_MAX_PAYLOAD && bad_off + WB__FRAME_HEADER + len >= file_bytes) {
		*tail = WB__TAIL_TORN;
		return WB_OK;
	}
	rc = zeros_from(fd, bad_off, &all_zero);
	if (rc)
		return rc;
	*tail = all_zero ? WB__TAIL_TORN : WB__TAIL_CORRUPT;
	return WB_OK;
}

int wb__runlog_scan(int fd, wb__runlog_info *info, wb__runlog_visit visit, void *arg)
{
	uint8_t *buf = NULL;
	size_t cap = 0, have = 0, pos = 0;
	uint64_t base = 0; /* file offset of buf[0] */
	struct stat st;
	int eof = 0, rc = WB_OK;

	memset(info, 0, sizeof *info);
	info->last_step = -1;
	if (fstat(fd, &st) != 0)
		return wb__error(WB_EIO, "cannot stat the run log: %s", strerror(errno));
	info->file_bytes = (uint64_t)st.st_size;
	if ((rc = grow(&buf, &cap, CHUNK)))
		return rc;
	for (;;) {
		wb__frame f;
		size_t used, got;
		int r = wb__frame_decode(buf + pos, have - pos, &f, &used);

		if (r == WB__FRAME_OK && (f.seq == 0 || (info->frames && f.seq != info->last_seq + 1))) {
			/* A good checksum on a frame out of sequence: not a torn write. */
			info->tail = WB__TAIL_CORRUPT;
			break;
		}
		if (r == WB__FRAME_OK) {
			if (!info->frames)
				info->first_seq = f.seq;
			info->frames++;
			info->last_seq = f.seq;
			if ((f.type == WB__REC_METRICS || (f.type >= WB__REC_HISTOGRAM && f.type <= WB__REC_TABLE)) &&
			    f.len >= 8) /* both start with the step */
				info->last_step = (int64_t)wb__get_u64(f.payload);
			else if (f.type == WB__REC_FINISH)
				info->finished = 1;
			else if (f.type == WB__REC_RUN)
				info->finished = 0;
			if (visit && (rc = visit(arg, &f)))
				goto done;
			pos += used;
			info->valid_bytes = base + pos;
			continue;
		}
		if (r == WB__FRAME_BAD) {
			rc = classify_bad(fd, buf + pos, base + pos, info->file_bytes, &info->tail);
			goto done;
		}
		/* SHORT: read more, or stop at the end of the file. */
		if (eof) {
			info->tail = pos < have ? WB__TAIL_TORN : WB__TAIL_CLEAN;
			break;
		}
		memmove(buf, buf + pos, have - pos);
		base += pos;
		have -= pos;
		pos = 0;
		if (have >= WB__FRAME_HEADER &&
		    (rc = grow(&buf, &cap, WB__FRAME_HEADER + (size_t)wb__get_u32(buf))))
			goto done;
		if ((rc = pread_full(fd, buf + have, cap - have, base + have, &got)))
			goto done;
		if (got < cap - have)
			eof = 1;
		have += got;
	}
	/* A tail that runs past valid_bytes but was not seen (file grew) is not
	 * ours to judge; file_bytes stays what fstat said. */
done:
	free(buf);
	return rc;
}

/* Copy bytes [off, EOF) of fd to path. */
static int copy_aside(int fd, uint64_t off, const char *path)
{
	uint8_t *buf = NULL;
	int out = -1, rc = WB_OK;
	size_t got;

	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		return wb__error(WB_EIO, "cannot create %s: %s", path, strerror(errno));
	buf = malloc(CHUNK);
	if (!buf) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	for (;;) {
		if ((rc = pread_full(fd, buf, CHUNK, off, &got)) || got == 0)
			break;
		for (size_t w = 0; w < got;) {
			ssize_t n = write(out, buf + w, got - w);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = wb__error(WB_EIO, "cannot write %s: %s", path, strerror(errno));
				goto done;
			}
			w += (size_t)n;
		}
		off += got;
	}
	if (!rc && fsync(out) != 0)
		rc = wb__error(WB_EIO, "cannot sync %s: %s", path, strerror(errno));
done:
	free(buf);
	close(out);
	return rc;
}

int wb__runlog_open(const char *path, int *fdp, wb__runlog_info *info, wb__runlog_visit visit, void *arg)
{
	char *aside = NULL;
	int fd, rc;

	*fdp = -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return wb__error(WB_EIO, "cannot open %s: %s", path, strerror(errno));
	rc = wb__runlog_scan(fd, info, visit, arg);
	if (rc)
		goto done;
	if (info->tail == WB__TAIL_CORRUPT) {
		if ((rc = wb__asprintf(&aside, "%s.corrupt-%llu", path, (unsigned long long)info->valid_bytes)))
			goto done;
		if ((rc = copy_aside(fd, info->valid_bytes, aside)))
			goto done;
		wb__warn("%s is corrupt after byte %llu (seq %llu); the rest was saved to %s", path,
			 (unsigned long long)info->valid_bytes, (unsigned long long)info->last_seq, aside);
	}
	if (info->file_bytes != info->valid_bytes) {
		if (ftruncate(fd, (off_t)info->valid_bytes) != 0 || fdatasync(fd) != 0) {
			rc = wb__error(WB_EIO, "cannot truncate %s: %s", path, strerror(errno));
			goto done;
		}
		info->file_bytes = info->valid_bytes;
	}
done:
	free(aside);
	if (rc)
		close(fd);
	else
		*fdp = fd;
	return rc;
}

int wb__runlog_append(int fd, uint64_t off, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = pwritev(fd, iov, n > IOV_MAX ? IOV_MAX : n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return wb__error(WB_EIO, "cannot write the run log: %s", strerror(errno));
		if (w == 0)
			return wb__error(WB_EIO, "cannot write the run log: no progress");
		off += (uint64_t)w;
		/* Skip the iovecs written in full, trim the one written in part. */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return WB_OK;
}

int wb__runlog_read(int fd, uint64_t off, uint64_t end, size_t max, uint8_t **buf, size_t *cap, size_t *len,
		    uint64_t *first, uint64_t *last)
{
	size_t want, got, pos = 0, used;
	wb__frame f;
	int rc, r;

	*len = 0;
	*first = *last = 0;
	if (off >= end)
		return WB_OK;
	want = end - off < (uint64_t)max ? (size_t)(end - off) : max;
	if (want < WB__FRAME_HEADER)
		want = (size_t)(end - off) < WB__FRAME_HEADER ? (size_t)(end - off) : WB__FRAME_HEADER;
	if ((rc = grow(buf, cap, want)) || (rc = pread_full(fd, *buf, want, off, &got)))
		return rc;
	r = wb__frame_decode(*buf, got, &f, &used);
	if (r == WB__FRAME_SHORT && got >= WB__FRAME_HEADER) {
		/* The first frame is larger than max: read it whole. */
		size_t need = WB__FRAME_HEADER + (size_t)wb__get_u32(*buf);
		if (need > FRAME_MAX || off + need > end)
			return wb__error(WB_ECORRUPT, "run log frame at byte %llu runs past the end",
					 (unsigned long long)off);
		if ((rc = grow(buf, cap, need)) || (rc = pread_full(fd, *buf + got, need - got, off + got, &used)))
			return rc;
		got += used;
		r = wb__frame_decode(*buf, got, &f, &used);
	}
	if (r != WB__FRAME_OK)
		return wb__error(WB_ECORRUPT, "run log frame at byte %llu is %s", (unsigned long long)off,
				 r == WB__FRAME_BAD ? "corrupt" : "cut short");
	*first = *last = f.seq;
	pos = used;
	while (pos < got) {
		if (wb__frame_decode(*buf + pos, got - pos, &f, &used) != WB__FRAME_OK || f.seq != *last + 1)
			break; /* the next read starts there and reports it */
		*last = f.seq;
		pos += used;
	}
	*len = pos;
	return WB_OK;
}

int wb__runlog_find(int fd, uint64_t end, uint64_t seq, uint64_t *offp, uint64_t *at)
{
	uint8_t *buf = NULL;
	uint64_t off = 0, base = 0, last = 0;
	size_t have = 0;
	int rc = WB_OK;

	buf = malloc(CHUNK);
	if (!buf)
		return wb__error(WB_ENOMEM, "out of memory");
	while (off < end) {
		uint64_t s;
		uint32_t len;

		if (off < base || off + WB__FRAME_HEADER > base + have) {
			size_t want = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
			if ((rc = pread_full(fd, buf, want, off, &have)))
				goto done;
			base = off;
			if (have < WB__FRAME_HEADER) {
				rc = wb__error(WB_ECORRUPT, "run log frame at byte %llu is cut short",
					       (unsigned long long)off);
				goto done;
			}
		}
		len = wb__get_u32(buf + (off - base));
		s = wb__get_u64(buf + (off - base) + 8);
		if (s >= seq) {
			*offp = off;
			*at = s;
			goto done;
		}
		last = s;
		off += WB__FRAME_HEADER + (uint64_t)len;
	}
	if (off != end) {
		rc = wb__error(WB_ECORRUPT, "run log frame runs past byte %llu", (unsigned long long)end);
		goto done;
	}
	*offp = end;
	*at = last ? last + 1 : seq;
done:
	free(buf);
	return rc;
}
