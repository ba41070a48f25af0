/*
 * wire_media.h — the payloads of the rich-data records (histograms, images,
 * tables; schema/wire.md). Like wire.h, shared by libwb and the server, so
 * the byte layout is written down in one place and checked the same way on
 * both sides of the wire.
 *
 * Every rich-data payload starts with the same header,
 *
 *   step:i64le time:f64le klen:u8 key[klen]
 *
 * (the key follows the metric-key rules, wb__key_valid, and is not under
 * "system/"), followed by the type's body:
 *
 *   HISTOGRAM  nan:u64le pinf:u64le ninf:u64le nbins:u16le
 *              edges:f64le[nbins + 1] counts:f64le[nbins]
 *   IMAGE      caplen:u16le caption[caplen] width:u32le height:u32le bytes...
 *   TABLE      JSON text {"columns": [...], "data": [[...], ...]}
 *
 * A histogram may have 0 bins (every value was NaN or infinite); then it has
 * no edges. Edges are finite and non-decreasing, counts finite and >= 0.
 */
#ifndef WB_WIRE_MEDIA_H
#define WB_WIRE_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Record types of the rich data (the wb__rec_type numbers 16..19 are theirs). */
enum wb__rec_media {
	WB__REC_HISTOGRAM = 16, /* a distribution at a step */
	WB__REC_IMAGE = 17,     /* a PNG or JPEG image at a step, with a caption */
	WB__REC_TABLE = 18      /* a small table of numbers and strings at a step */
};

#define WB__HIST_BINS_MAX 1024u         /* bins of one histogram */
#define WB__HIST_BINS_DEFAULT 64u       /* wb_run_log_histogram's bins */
#define WB__CAPTION_MAX 1024u           /* bytes of an image caption */
#define WB__IMAGE_MAX (8u * 1024u * 1024u)  /* bytes of one encoded image */
#define WB__IMAGE_DIM_MAX 16384u        /* width and height of an image */
#define WB__TABLE_MAX (1024u * 1024u)   /* bytes of a table's JSON */
#define WB__TABLE_COLS_MAX 256u
#define WB__TABLE_ROWS_MAX 10000u

/* The common header of a rich-data payload. */
typedef struct wb__media_hdr {
	int64_t step;
	double time;
	const char *key; /* NOT NUL-terminated: klen bytes, pointing into the payload */
	size_t klen;
	const uint8_t *body; /* the type's body */
	size_t blen;
} wb__media_hdr;

/* Bytes of the header for a key of klen bytes. */
static inline size_t wb__media_hdr_size(size_t klen) { return 17 + klen; }

/* Write the header at out (wb__media_hdr_size(klen) bytes); returns the byte after it. */
WB__HIDDEN uint8_t *wb__media_hdr_put(uint8_t *out, int64_t step, double time, const char *key, size_t klen);

/* Parse the header of a payload: 0, or -1 if it is short, the step is
 * negative or the key is invalid or under "system/". */
WB__HIDDEN int wb__media_hdr_get(wb__media_hdr *h, const uint8_t *payload, size_t len);

/* A decoded histogram body (pointers into the payload; read values with wb__get_u64). */
typedef struct wb__hist {
	uint64_t nan, pinf, ninf;
	uint16_t nbins;
	const uint8_t *edges;  /* nbins + 1 doubles (none when nbins == 0) */
	const uint8_t *counts; /* nbins doubles */
} wb__hist;

/* Size of a histogram body with nbins bins. */
static inline size_t wb__hist_body_size(size_t nbins) { return 26 + (nbins ? (2 * nbins + 1) * 8 : 0); }

/* Encode a histogram body into out (wb__hist_body_size(nbins) bytes). */
WB__HIDDEN void wb__hist_put(uint8_t *out, uint64_t nan, uint64_t pinf, uint64_t ninf, const double *edges,
			     const double *counts, size_t nbins);

/* Decode and check a histogram body: 0, or -1 (wrong size, too many bins,
 * non-finite or decreasing edges, negative or non-finite counts). */
WB__HIDDEN int wb__hist_get(wb__hist *h, const uint8_t *body, size_t len);

/* Edge i / count i of a decoded histogram. */
static inline double wb__hist_edge(const wb__hist *h, size_t i) { return wb__bits_f64(wb__get_u64(h->edges + 8 * i)); }
static inline double wb__hist_count(const wb__hist *h, size_t i) { return wb__bits_f64(wb__get_u64(h->counts + 8 * i)); }

/* A decoded image body. */
typedef struct wb__image {
	const char *caption; /* caplen bytes, not NUL-terminated */
	size_t caplen;
	uint32_t width, height; /* from the image's own header when it has them, else the record's; 0 when unknown */
	const uint8_t *bytes;
	size_t len;
	const char *mime; /* "image/png" or "image/jpeg" */
} wb__image;

/* "image/png", "image/jpeg", or NULL when the bytes start with neither
 * signature. If w and h are not NULL, the dimensions read from the PNG IHDR
 * or the JPEG SOF marker (0 when not found). */
WB__HIDDEN const char *wb__image_sniff(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h);

/* Decode an image body: 0, or -1 (short, caption too long, more than
 * WB__IMAGE_MAX bytes, not a PNG or JPEG, dimensions over the maximum,
 * in the record or in the image's header). */
WB__HIDDEN int wb__image_get(wb__image *im, const uint8_t *body, size_t len);

/* Size of an image body. */
static inline size_t wb__image_body_size(size_t caplen, size_t len) { return 10 + caplen + len; }

/* Encode an image body into out. */
WB__HIDDEN void wb__image_put(uint8_t *out, const char *caption, size_t caplen, uint32_t w, uint32_t h,
			      const uint8_t *bytes, size_t len);


#include <cjson/cJSON.h>

/*
 * Check a table: an object {"columns": [c, ...], "data": [[v, ...], ...]}
 * with 1..WB__TABLE_COLS_MAX distinct column names (strings of 1..255 bytes
 * without control characters), at most WB__TABLE_ROWS_MAX rows, every row
 * as long as columns, every cell a number, a string, a boolean or null.
 * 0, or -1 with a one-line reason in why.
 */
WB__HIDDEN int wb__table_check(const cJSON *t, char *why, size_t cap);

/* 1 if s[0..n) is UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
 * (The server checks keys with its own wbs__utf8_valid, to the same rules.) */
WB__HIDDEN int wb__utf8_valid(const char *s, size_t n);

/* Length (1..4) of the UTF-8 sequence at s[0..n), n >= 1, by the rules of
 * wb__utf8_valid; 0 if it is invalid or cut short. */
WB__HIDDEN size_t wb__utf8_seq(const char *s, size_t n);

#endif /* WB_WIRE_MEDIA_H */
