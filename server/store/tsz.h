/*
 * tsz.h — compressed chunks of (step, value) points, and M4 downsampling
 * over them.
 *
 * A metric series is stored as chunks of up to WB__TSZ_CHUNK_POINTS points.
 * Steps are encoded delta-of-delta and values by XOR with the previous value
 * (Gorilla, Pelkonen et al., VLDB 2015): a training-loss series of float32
 * values widened to double costs 3 to 4 bytes a point, a constant series a
 * few bits. Values are kept bit-exactly (NaN payloads and +-Inf included).
 *
 * The blob is self-describing: it starts with the point count.
 */
#ifndef WB_TSZ_H
#define WB_TSZ_H

#include <stddef.h>
#include <stdint.h>

#define WB__TSZ_CHUNK_POINTS 2048u

/* Worst-case encoded size of n points. */
size_t wb__tsz_bound(uint32_t n);

/*
 * Encode n points (steps non-decreasing) into out[0..cap). Returns the
 * bytes written, or 0 when cap is too small, n is 0 or a step decreases.
 * cap >= wb__tsz_bound(n) always suffices. The layout is described at the
 * top of tsz.c.
 */
size_t wb__tsz_encode(const int64_t *steps, const double *values, uint32_t n, uint8_t *out, size_t cap);

/*
 * The point count of an encoded blob, or -1 if the blob is malformed. Only
 * the header is checked (cheaply, so the count can size a buffer: it is at
 * most 4 * len); wb__tsz_decode checks the rest.
 */
int64_t wb__tsz_count(const uint8_t *in, size_t len);

/*
 * Decode a blob into steps[]/values[] (each with room for cap points).
 * Returns the number of points, or -1 if the blob is malformed or has more
 * than cap points. Never reads outside in[0..len).
 */
int64_t wb__tsz_decode(const uint8_t *in, size_t len, int64_t *steps, double *values, uint32_t cap);

/* What the store knows of a chunk without decoding it. */
typedef struct wb__chunk_meta {
	int64_t step_min, step_max; /* first and last step in the chunk */
	uint32_t n;
	double vmin, vmax; /* over non-NaN values; NaN if all values are NaN */
	double vlast;      /* value of the last point (may be NaN) */
} wb__chunk_meta;

/* The meta of points steps/values[0, n) (n >= 1), as the store records it
 * with each chunk it writes. */
void wb__chunk_meta_of(const int64_t *steps, const double *values, uint32_t n, wb__chunk_meta *m);

/*
 * Fetch the blob of chunk i for decoding. Returns 0 and sets *blob and *len
 * (valid until the next call), or -1 on error.
 */
typedef int (*wb__chunk_fetch_fn)(void *ctx, size_t i, const uint8_t **blob, size_t *len);

/* Downsampled result: up to nbuckets rows, empty buckets omitted. Arrays
 * are malloc'ed by wb__downsample; free with wb__buckets_free. */
typedef struct wb__buckets {
	size_t len;
	int64_t *step;   /* step of the last point in the bucket */
	double *min;     /* min over non-NaN values (NaN if none) */
	double *max;
	double *last;    /* value of the last point in the bucket */
	uint32_t *count; /* points in the bucket */
	uint64_t total;  /* points in [start, end] */
} wb__buckets;

/*
 * M4-style downsampling of one series over the step range [start, end]
 * into nbuckets equal-width step buckets. chunks[] are in step order and do
 * not overlap except at a shared boundary step. A chunk lying entirely
 * within one bucket is used through its meta, without fetching; other
 * chunks in range are fetched and decoded. Returns 0, or -1 on a fetch or
 * decode error or out of memory (out is then zeroed).
 *
 * Step s falls in bucket floor((s - start) * nbuckets / (end - start + 1)).
 * out is overwritten, not freed first; nbuckets == 0 or start > end give an
 * empty result. A fetched chunk must decode to exactly its meta's n,
 * step_min and step_max, or the call fails (the meta is trusted for the
 * chunks that are not fetched). Bucket counts saturate at UINT32_MAX.
 */
int wb__downsample(const wb__chunk_meta *chunks, size_t nchunks, wb__chunk_fetch_fn fetch, void *ctx,
		   int64_t start, int64_t end, uint32_t nbuckets, wb__buckets *out);

/* Free the arrays and zero *b. Accepts NULL and a zeroed struct. */
void wb__buckets_free(wb__buckets *b);

/*
 * The bucket, in [0, nbuckets), of step s in [start, end] under the same
 * mapping wb__downsample uses: floor((s - start) * nbuckets / (end - start
 * + 1)), exact over the whole int64 range. Lets results of several series
 * downsampled over one range be lined up bucket by bucket.
 */
uint32_t wb__bucket_of(int64_t start, int64_t end, uint32_t nbuckets, int64_t s);

#endif /* WB_TSZ_H */
