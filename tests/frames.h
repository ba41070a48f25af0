/*
 * frames.h — an ingest body for tests: run log frames (sdk/wire/wire.h)
 * appended by hand, as the SDK's uploader would send them, including ones
 * it never would (a gap, a bad payload). Shared by the server's unit tests
 * and the e2e tests; include it after cmocka.h.
 */
#ifndef WB_TEST_FRAMES_H
#define WB_TEST_FRAMES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wb.h"
#include "wire.h"

typedef struct wbt_frames {
	uint8_t *p;
	size_t len, cap;
	uint64_t seq; /* the seq wbt_frames_add gives next */
} wbt_frames;

/* Append one frame with sequence number seq. */
static inline void wbt_frames_put(wbt_frames *b, uint64_t seq, uint8_t type, const void *payload, uint32_t len)
{
	if (b->len + WB__FRAME_HEADER + len > b->cap) {
		b->cap = (b->len + WB__FRAME_HEADER + len) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	wb__frame_header(b->p + b->len, seq, type, payload, len);
	memcpy(b->p + b->len + WB__FRAME_HEADER, payload, len);
	b->len += WB__FRAME_HEADER + len;
}

/* Append one frame with the next sequence number (b->seq, then counted on). */
static inline void wbt_frames_add(wbt_frames *b, uint8_t type, const void *payload, uint32_t len)
{
	wbt_frames_put(b, b->seq++, type, payload, len);
}

/* The payload of a METRICS record of n metrics at step and time, as one frame with sequence number seq. */
static inline void wbt_frames_metrics(wbt_frames *b, uint64_t seq, int64_t step, double time, const wb_metric *m,
				      size_t n)
{
	uint8_t buf[65536];
	size_t sz = wb__metrics_size(m, n);
	assert_true(sz > 0 && sz <= sizeof(buf));
	wb__metrics_encode(buf, step, time, m, n);
	wbt_frames_put(b, seq, WB__REC_METRICS, buf, (uint32_t)sz);
}

#endif /* WB_TEST_FRAMES_H */
