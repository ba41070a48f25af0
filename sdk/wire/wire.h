/*
 * wire.h — the one record format wb uses on disk (the run log) and on the
 * wire (the ingest body). Shared by libwb and the server; nothing else is.
 *
 * A run log is a sequence of frames; an ingest body is a slice of one
 * (gzip-compressed as a whole by the transport). Nothing is re-encoded
 * between disk and server, and "what the server has" is one sequence number.
 * The format is specified in schema/wire.md; keep the two in step.
 *
 *   frame   := len:u32le crc:u32le seq:u64le type:u8 payload[len]
 *   crc     := zlib crc32 over seq, type and payload (the 9 + len bytes after crc)
 *
 * Sequence numbers start at 1 and grow by exactly 1 per frame in a run.
 */
#ifndef WB_WIRE_H
#define WB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "wb.h"

#if defined(__GNUC__)
#define WB__HIDDEN __attribute__((visibility("hidden")))
#else
#define WB__HIDDEN
#endif

#define WB__FRAME_HEADER 17u
#define WB__FRAME_MAX_PAYLOAD (16u * 1024u * 1024u)
#define WB__KEY_MAX 255u
#define WB__NAME_MAX 64u
#define WB__METRICS_MAX 4096u

enum wb__rec_type {
	WB__REC_RUN = 1,     /* JSON object: run fields to set (name, group, job_type, tags, notes, metadata, created_at) */
	WB__REC_CONFIG = 2,  /* JSON object deep-merged into the run's config */
	WB__REC_METRICS = 3, /* binary, see below */
	WB__REC_SUMMARY = 4, /* JSON object {key: value} of explicit summary values */
	WB__REC_DEFINE = 5,  /* JSON object {"key":..., "step_metric":..., "summary":["min",...]} */
	WB__REC_FINISH = 6,  /* JSON object {"exit_code": int, "time": unix seconds} */
	/* reserved for the features being added: */
	WB__REC_CODE = 7,    /* git capture (schema/wire.md) */
	WB__REC_PATCH = 8,   /* a patch file of the git capture */
	WB__REC_SYSTEM = 9,  /* system metrics sample */
	/* artifacts (schema/wire.md): JSON objects */
	WB__REC_ARTIFACT = 10,      /* intent to log an artifact version: the manifest with local paths */
	WB__REC_ARTIFACT_DONE = 11, /* that intent is committed: {"id", "version"} */
	WB__REC_ARTIFACT_USE = 12, /* the run used a version: {"artifact", "version"} (lineage) */
	/* 13, 14: reserved for artifacts */
	WB__REC_ALERT = 15   /* JSON object {"level", "title", "text", "time"}: wb_run_alert() */
};

/*
 * METRICS payload:
 *   step:i64le time:f64le n:u16le { klen:u8 key[klen] value:f64le }*n
 * time is wall-clock unix seconds; values are IEEE-754 bit patterns, so NaN
 * payloads and +-Inf travel exactly. 1 <= n <= WB__METRICS_MAX, keys valid
 * per wb__key_valid().
 */

typedef struct wb__frame {
	uint64_t seq;
	uint8_t type;
	uint32_t len;
	const uint8_t *payload; /* points into the decoded buffer */
} wb__frame;

enum wb__decode_result {
	WB__FRAME_OK = 0,
	WB__FRAME_SHORT = 1, /* buffer ends inside the frame: a torn tail, or read more */
	WB__FRAME_BAD = 2    /* checksum or length is wrong */
};

/* Little-endian loads and stores. */
static inline void wb__put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wb__put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void wb__put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t wb__get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t wb__get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wb__get_u64(const uint8_t *p)
{
	return (uint64_t)wb__get_u32(p) | (uint64_t)wb__get_u32(p + 4) << 32;
}

/*
 * Write the 17-byte frame header for payload into hdr. The crc covers seq,
 * type and payload, so the caller writes hdr then payload.
 */
WB__HIDDEN void wb__frame_header(uint8_t hdr[WB__FRAME_HEADER], uint64_t seq, uint8_t type,
				 const uint8_t *payload, uint32_t len);

/*
 * Decode one frame at buf[0..avail). On WB__FRAME_OK fills *f (payload
 * points into buf) and *consumed. WB__FRAME_SHORT: fewer than a whole frame
 * is there. WB__FRAME_BAD: the length exceeds WB__FRAME_MAX_PAYLOAD or the
 * checksum does not match.
 */
WB__HIDDEN int wb__frame_decode(const uint8_t *buf, size_t avail, wb__frame *f, size_t *consumed);

/* Bytes a METRICS payload for these metrics takes, or 0 if a key is invalid
 * or n is out of range. */
WB__HIDDEN size_t wb__metrics_size(const wb_metric *m, size_t n);

/* Encode a METRICS payload into out (which has wb__metrics_size() bytes). */
WB__HIDDEN void wb__metrics_encode(uint8_t *out, int64_t step, double time, const wb_metric *m, size_t n);

typedef struct wb__metrics_reader {
	int64_t step;
	double time;
	uint16_t n;
	uint16_t i;
	const uint8_t *p, *end;
} wb__metrics_reader;

/* Start reading a METRICS payload: 0, or -1 if the header or any entry is
 * malformed (the whole payload is checked here, so _next cannot fail). */
WB__HIDDEN int wb__metrics_begin(wb__metrics_reader *r, const uint8_t *payload, uint32_t len);

/* Next point: 1 and its key (NOT NUL-terminated, klen bytes) and value, or 0 at the end. */
WB__HIDDEN int wb__metrics_next(wb__metrics_reader *r, const char **key, size_t *klen, double *value);

/* SYSTEM payload: the METRICS layout with step = milliseconds since the run
 * started (wall-time axis) and every key under WB__SYSTEM_PREFIX, which
 * METRICS records may not use. Encoded and read with the METRICS functions. */
#define WB__SYSTEM_PREFIX "system/"

/* A metric key: 1..WB__KEY_MAX bytes, no byte < 0x20 and no 0x7f, not starting
 * with '_' (reserved for series the server derives, such as _timestamp). */
WB__HIDDEN int wb__key_valid(const char *key, size_t len);

#define WB__CONFIG_KEY_MAX 1024u /* a dotted config key, whole */
#define WB__CONFIG_PART_MAX 64u  /* one part of it */

/* A config key: dotted parts of 1..WB__CONFIG_PART_MAX bytes without control characters, at most
 * WB__CONFIG_KEY_MAX bytes, UTF-8. 1 if valid, else 0 with the reason in why[0..cap) (when why). */
WB__HIDDEN int wb__config_key_valid(const char *key, size_t len, char *why, size_t cap);

/* A name (entity, project, run id, group): [A-Za-z0-9_.-]{1,64}, not starting with '.'. */
WB__HIDDEN int wb__name_valid(const char *name);

/* A file path inside an artifact: 1..WB__ART_PATH_MAX bytes, '/'-separated
 * segments, none empty (no leading, trailing or doubled '/'), none "." or
 * "..", none git's own directory (".git" in any case, and what NTFS and
 * HFS+ take for it: ".git. ", "git~1", ".git::$DATA", ".g\u200cit"), no
 * byte < 0x20, no 0x7f and no '\\'. The one check of artifact paths: the
 * SDK before adding a file and before writing any file of a download, the
 * server before storing a commit and before serving a file, the importer
 * before sending. (A .git/config or .git/hooks file written by `wb
 * artifact get` into a checkout would be run by the next git command.) */
#define WB__ART_PATH_MAX 1024u
WB__HIDDEN int wb__art_path_valid(const char *p, size_t len);

static inline uint64_t wb__f64_bits(double d)
{
	uint64_t u;
	__builtin_memcpy(&u, &d, 8);
	return u;
}
static inline double wb__bits_f64(uint64_t u)
{
	double d;
	__builtin_memcpy(&d, &u, 8);
	return d;
}

#endif /* WB_WIRE_H */
