/*
 * tsz.c — the metric chunk codec and M4 downsampling over chunks.
 *
 * A chart asks "this key, steps a..b, in N buckets", and at 10M points a row
 * per point is both too big (~23 bytes) and too slow (~1 us a row). So the
 * store keeps a series as chunks of up to WB__TSZ_CHUNK_POINTS points, each a
 * blob produced here plus a little meta (first/last step, count, min, max,
 * last value) kept next to it.
 *
 * The codec is Gorilla (Pelkonen et al., VLDB 2015), widened to 64-bit steps:
 *
 *   - Steps almost always advance by the same amount (+1, or +k when logging
 *     every k steps), so each step is stored as the change of the delta
 *     (delta-of-delta), zigzagged, in a prefix code whose shortest word is
 *     the single bit '0' for "same delta as before".
 *   - Values are XORed with the previous value. Equal values give 0 (one
 *     bit); close values share sign, exponent and the top of the mantissa, so
 *     the XOR has long runs of leading zeros, and float32 values widened to
 *     double have at least 29 trailing zeros. Only the bits in between are
 *     stored, either inside the window of the last explicit record ('10') or
 *     with a new window ('11' + leading zeros + length). Values are handled
 *     as bit patterns, never as numbers, so NaN payloads, -0.0 and the
 *     infinities come back bit for bit.
 *
 * Blob layout (bit fields are written most significant bit first):
 *
 *   count       uvarint, 1 .. 2^32-1 (LEB128, shortest form)
 *   step[0]     uvarint of zigzag(step[0]) (LEB128, shortest form, <= 10 bytes)
 *   bits        value[0] as 64 raw bits, then for each point i >= 1 a step
 *               record followed by a value record; zero bits pad the stream
 *               to a whole byte and the blob ends there.
 *
 *   step record, z = zigzag(delta[i] - delta[i-1]) with delta[i] =
 *   step[i] - step[i-1] taken mod 2^64 and delta[0] = 1 (the usual step):
 *     '0'                     z == 0
 *     '10'    z:7             z < 2^7
 *     '110'   z:9             z < 2^9
 *     '1110'  z:12            z < 2^12
 *     '11110' z:32            z < 2^32
 *     '11111' z:64
 *   value record, x = bits(value[i]) ^ bits(value[i-1]):
 *     '0'                     x == 0
 *     '10'    m:len           x == m << trail, using the window (len, trail)
 *                             of the last '11' record; invalid before one
 *     '11'    lead:6 (len-1):6 m:len
 *                             x == m << (64 - lead - len); lead + len <= 64;
 *                             (len, 64 - lead - len) becomes the window
 *
 * The encoder may pick '11' although '10' would fit, when the old window is
 * 13 or more bits wider than the new one: otherwise one sign change (XOR with
 * no leading zeros) would leave a 35-bit window in place for the rest of the
 * chunk. Decoders accept either choice.
 *
 * The decoder trusts nothing: every varint, window and step is checked, the
 * stream must end exactly at the end of the blob with zero padding, and the
 * step sequence must be non-decreasing without overflow. Reading past the
 * end of the input is made impossible rather than checked on every field:
 * the bit reader supplies zero bytes once the input is exhausted and counts
 * them, and the blob is rejected at the end if any were consumed. The header
 * check (64 + 2 bits per further point must fit) bounds the work a forged
 * count can cause to the size of the blob.
 *
 * Downsampling (M4): [start, end] is cut into nbuckets equal-width step
 * buckets; step s lands in bucket floor((s - start) * nbuckets / (end -
 * start + 1)), evaluated exactly in 64-bit integers (see span_map). Each
 * non-empty bucket keeps count, min, max, last value and the step of the
 * last point, which is what a line chart needs to draw the same picture as
 * the raw points. A chunk that lies inside a single bucket contributes its
 * meta without being fetched; only chunks straddling a bucket edge or the
 * range ends are decoded, so a full-range query of a 10M-point series with
 * 1000 buckets decodes about 1000 chunks, not 5000.
 */
#include "tsz.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest chunk wb__downsample will decode (16 bytes a point of buffer). */
#define DS_MAX_CHUNK_POINTS (1u << 24)

/* Longest records, in bits: step '11111' + 64, value '11' + 12 + 64. */
#define MAX_STEP_BITS 69u
#define MAX_VALUE_BITS 78u

static inline unsigned clz64(uint64_t x)
{
	assert(x != 0);
#if defined(__GNUC__) || defined(__clang__)
	return (unsigned)__builtin_clzll(x);
#else
	unsigned n = 0;
	while (!(x & (UINT64_C(1) << 63))) {
		x <<= 1;
		n++;
	}
	return n;
#endif
}

static inline unsigned ctz64(uint64_t x)
{
	assert(x != 0);
#if defined(__GNUC__) || defined(__clang__)
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned n = 0;
	while (!(x & 1)) {
		x >>= 1;
		n++;
	}
	return n;
#endif
}

static inline uint64_t zigzag(uint64_t v)
{
	return (v << 1) ^ (0 - (v >> 63));
}

static inline uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (0 - (z & 1));
}

static inline uint64_t double_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

/* ------------------------------------------------------------------------ */
/* varints */

/* LEB128 of v into p[0..cap). Returns the bytes written, 0 if it won't fit. */
static size_t put_uvarint(uint8_t *p, size_t cap, uint64_t v)
{
	size_t i = 0;

	do {
		uint8_t b = (uint8_t)(v & 0x7f);

		if (i == cap)
			return 0;
		v >>= 7;
		p[i++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	return i;
}

/*
 * Parse the shortest-form LEB128 varint of at most maxbytes bytes at
 * p[0..len). Returns the bytes used, or 0 if it is truncated, too long,
 * overlong (a redundant final zero byte) or does not fit 64 bits.
 */
static size_t get_uvarint(const uint8_t *p, size_t len, size_t maxbytes, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < len && i < maxbytes && i < 10; i++) {
		uint8_t b = p[i];

		if (i == 9 && b > 1)
			return 0;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return 0;
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* bit writer: a 64-bit accumulator flushed 32 bits at a time, big-endian */

typedef struct bitw {
	uint8_t *p, *end;
	uint64_t acc;  /* pending bits, right-aligned; only the low nacc count */
	unsigned nacc; /* < 32 between calls */
	int full;      /* a flush did not fit: the result is void */
} bitw;

/* Append the n low bits of v (v < 2^n, n <= 32). */
static inline void bw_put32(bitw *w, uint32_t v, unsigned n)
{
	assert(n <= 32 && w->nacc < 32);
	assert(n == 32 || (v >> n) == 0);
	w->acc = (w->acc << n) | v;
	w->nacc += n;
	if (w->nacc >= 32) {
		uint32_t word;

		w->nacc -= 32;
		word = (uint32_t)(w->acc >> w->nacc);
		if (w->end - w->p < 4) {
			w->full = 1;
			return;
		}
		w->p[0] = (uint8_t)(word >> 24);
		w->p[1] = (uint8_t)(word >> 16);
		w->p[2] = (uint8_t)(word >> 8);
		w->p[3] = (uint8_t)word;
		w->p += 4;
	}
}

/* Append the n low bits of v (v < 2^n, 1 <= n <= 64). */
static inline void bw_put(bitw *w, uint64_t v, unsigned n)
{
	assert(n >= 1 && n <= 64);
	if (n > 32) {
		bw_put32(w, (uint32_t)(v >> 32), n - 32);
		bw_put32(w, (uint32_t)v, 32);
	} else {
		bw_put32(w, (uint32_t)v, n);
	}
}

/* Flush the last partial word, zero-padded to a byte. 0 if it won't fit. */
static int bw_finish(bitw *w)
{
	uint64_t t;
	unsigned nbytes = (w->nacc + 7) / 8, i;

	if (w->full || (size_t)(w->end - w->p) < nbytes)
		return 0;
	if (w->nacc == 0)
		return 1;
	t = w->acc << (64 - w->nacc);
	for (i = 0; i < nbytes; i++)
		*w->p++ = (uint8_t)(t >> (56 - 8 * i));
	return 1;
}

/* ------------------------------------------------------------------------ */
/* encoder */

size_t wb__tsz_bound(uint32_t n)
{
	uint64_t bits, bytes;

	bits = 64 + (uint64_t)(n ? n - 1 : 0) * (MAX_STEP_BITS + MAX_VALUE_BITS);
	bytes = 5 + 10 + (bits + 7) / 8;
	return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

static inline void put_step(bitw *w, uint64_t z)
{
	if (z == 0) {
		bw_put32(w, 0, 1);
	} else if (z < (1u << 7)) {
		bw_put32(w, (UINT32_C(0x2) << 7) | (uint32_t)z, 2 + 7);
	} else if (z < (1u << 9)) {
		bw_put32(w, (UINT32_C(0x6) << 9) | (uint32_t)z, 3 + 9);
	} else if (z < (1u << 12)) {
		bw_put32(w, (UINT32_C(0xe) << 12) | (uint32_t)z, 4 + 12);
	} else if (z <= UINT32_MAX) {
		bw_put32(w, 0x1e, 5);
		bw_put32(w, (uint32_t)z, 32);
	} else {
		bw_put32(w, 0x1f, 5);
		bw_put(w, z, 64);
	}
}

/*
 * Encode per the layout in the essay above. Returns the blob size, or 0 if
 * n is 0, a step decreases, or the blob does not fit cap (out[] may then
 * hold partial output).
 */
size_t wb__tsz_encode(const int64_t *steps, const double *values, uint32_t n, uint8_t *out, size_t cap)
{
	bitw w;
	size_t hdr, k;
	uint64_t prev, prev_delta = 1;
	unsigned win_lead = 0, win_trail = 0, win_len = 0; /* win_len 0: no window yet */
	uint32_t i;

	if (n == 0 || !steps || !values || !out)
		return 0;
	hdr = put_uvarint(out, cap, n);
	if (!hdr)
		return 0;
	k = put_uvarint(out + hdr, cap - hdr, zigzag((uint64_t)steps[0]));
	if (!k)
		return 0;
	hdr += k;

	w.p = out + hdr;
	w.end = out + cap;
	w.acc = 0;
	w.nacc = 0;
	w.full = 0;
	prev = double_bits(values[0]);
	bw_put(&w, prev, 64);

	for (i = 1; i < n; i++) {
		uint64_t delta, cur, x;

		if (steps[i] < steps[i - 1])
			return 0;
		delta = (uint64_t)steps[i] - (uint64_t)steps[i - 1];
		put_step(&w, zigzag(delta - prev_delta));
		prev_delta = delta;

		cur = double_bits(values[i]);
		x = cur ^ prev;
		prev = cur;
		if (x == 0) {
			bw_put32(&w, 0, 1);
		} else {
			unsigned lead = clz64(x), trail = ctz64(x), len = 64 - lead - trail;

			if (win_len && lead >= win_lead && trail >= win_trail && win_len <= len + 12) {
				bw_put32(&w, 0x2, 2);
				bw_put(&w, x >> win_trail, win_len);
			} else {
				bw_put32(&w, (UINT32_C(0x3) << 12) | (uint32_t)(lead << 6) | (uint32_t)(len - 1), 14);
				bw_put(&w, x >> trail, len);
				win_lead = lead;
				win_trail = trail;
				win_len = len;
			}
		}
		if (w.full)
			return 0;
	}
	if (!bw_finish(&w))
		return 0;
	return (size_t)(w.p - out);
}

/* ------------------------------------------------------------------------ */
/* bit reader */

/*
 * buf holds the next cnt bits left-aligned. Bits of buf below those cnt are
 * either zero or a copy of the leading bits of *p (the branchless refill of
 * Giesen, "Reading bits in far too many ways"), so OR-ing *p in again is
 * harmless. Past the end it feeds zero bytes and counts them in pad; the
 * caller rejects the blob if it consumed any.
 */
typedef struct bitr {
	const uint8_t *p, *end;
	uint64_t buf;
	unsigned cnt;
	size_t pad;
} bitr;

/* Afterwards cnt >= 56. */
static inline void br_refill(bitr *r)
{
	if (r->end - r->p >= 8) {
		const uint8_t *q = r->p;
		uint64_t wv = (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 | (uint64_t)q[2] << 40 |
			      (uint64_t)q[3] << 32 | (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 |
			      (uint64_t)q[6] << 8 | (uint64_t)q[7];

		r->buf |= wv >> r->cnt;
		r->p += (63 - r->cnt) >> 3;
		r->cnt |= 56;
		return;
	}
	while (r->cnt <= 56) {
		uint64_t b = 0;

		if (r->p < r->end)
			b = *r->p++;
		else
			r->pad++;
		r->buf |= b << (56 - r->cnt);
		r->cnt += 8;
	}
}

/* Consume n bits (1 <= n <= 56) and return them. */
static inline uint64_t br_read(bitr *r, unsigned n)
{
	uint64_t v;

	assert(n >= 1 && n <= 56);
	if (r->cnt < n)
		br_refill(r);
	v = r->buf >> (64 - n);
	r->buf <<= n;
	r->cnt -= n;
	return v;
}

/* Consume n bits (1 <= n <= 64) and return them. */
static inline uint64_t br_read64(bitr *r, unsigned n)
{
	uint64_t hi;

	if (n <= 56)
		return br_read(r, n);
	hi = br_read(r, n - 32);
	return hi << 32 | br_read(r, 32);
}

/* ------------------------------------------------------------------------ */
/* decoder */

/*
 * Parse the header: count, first step, and check that the body can hold the
 * shortest possible stream for that count (64 bits + 2 per further point).
 */
static int parse_header(const uint8_t *in, size_t len, uint32_t *n, int64_t *first, size_t *hdr)
{
	uint64_t count, z, minbits;
	size_t a, b;

	if (!in)
		return -1;
	a = get_uvarint(in, len, 5, &count);
	if (!a || count == 0 || count > UINT32_MAX)
		return -1;
	b = get_uvarint(in + a, len - a, 10, &z);
	if (!b)
		return -1;
	minbits = 64 + 2 * (count - 1);
	if ((uint64_t)(len - a - b) < (minbits + 7) / 8)
		return -1;
	*n = (uint32_t)count;
	*first = (int64_t)unzigzag(z);
	*hdr = a + b;
	return 0;
}

int64_t wb__tsz_count(const uint8_t *in, size_t len)
{
	uint32_t n;
	int64_t first;
	size_t hdr;

	if (parse_header(in, len, &n, &first, &hdr) < 0)
		return -1;
	return n;
}

/* Prefix length and payload width of a step record, by its leading ones. */
static const uint8_t step_prefix[6] = {1, 2, 3, 4, 5, 5};
static const uint8_t step_payload[6] = {0, 7, 9, 12, 32, 64};

/*
 * Decode per the layout in the essay above. Every structural rule is
 * checked; the result is -1 unless the blob is exactly one valid stream of
 * at most cap points. steps[]/values[] may be partly written on failure.
 */
int64_t wb__tsz_decode(const uint8_t *in, size_t len, int64_t *steps, double *values, uint32_t cap)
{
	bitr r;
	uint32_t n, i;
	int64_t step;
	size_t hdr;
	uint64_t vbits, delta = 1, used, body;
	unsigned win_len = 0, win_trail = 0;

	if (parse_header(in, len, &n, &step, &hdr) < 0 || n > cap || !steps || !values)
		return -1;
	r.p = in + hdr;
	r.end = in + len;
	r.buf = 0;
	r.cnt = 0;
	r.pad = 0;

	vbits = br_read64(&r, 64);
	steps[0] = step;
	memcpy(&values[0], &vbits, sizeof vbits);

	for (i = 1; i < n; i++) {
		unsigned ones;

		if (r.cnt < 56)
			br_refill(&r);
		/* Leading ones of buf, at most 5: bit 58 caps the count. */
		ones = clz64(~r.buf | (UINT64_C(1) << 58));
		r.buf <<= step_prefix[ones];
		r.cnt -= step_prefix[ones];
		if (ones)
			delta += unzigzag(br_read64(&r, step_payload[ones]));
		if (delta > (uint64_t)INT64_MAX - (uint64_t)step)
			return -1;
		step = (int64_t)((uint64_t)step + delta);
		steps[i] = step;

		if (r.cnt < 2)
			br_refill(&r);
		if (!(r.buf >> 63)) {
			r.buf <<= 1;
			r.cnt -= 1;
		} else if (!(r.buf >> 62 & 1)) {
			r.buf <<= 2;
			r.cnt -= 2;
			if (!win_len)
				return -1;
			vbits ^= br_read64(&r, win_len) << win_trail;
		} else {
			unsigned w12, lead;

			r.buf <<= 2;
			r.cnt -= 2;
			w12 = (unsigned)br_read(&r, 12);
			lead = w12 >> 6;
			win_len = (w12 & 63) + 1;
			if (lead + win_len > 64)
				return -1;
			win_trail = 64 - lead - win_len;
			vbits ^= br_read64(&r, win_len) << win_trail;
		}
		memcpy(&values[i], &vbits, sizeof vbits);
	}

	/* The stream must end in the last byte, and its padding must be zero. */
	body = (uint64_t)(len - hdr);
	used = 8 * ((uint64_t)(r.p - (in + hdr)) + r.pad) - r.cnt;
	if (used > 8 * body || 8 * body - used >= 8)
		return -1;
	if (8 * body - used > 0 && br_read(&r, (unsigned)(8 * body - used)) != 0)
		return -1;
	return n;
}

/* ------------------------------------------------------------------------ */
/* downsampling */

/*
 * Maps a step offset off = s - start in [0, range] to its bucket
 * floor(off * nb / span), span = range + 1 <= 2^64, without 128-bit
 * arithmetic: with span = q * nb + r, bucket b begins at offset
 * ceil(b * span / nb) = b * q + ceil(b * r / nb), and b * r < nb^2 < 2^64.
 */
typedef struct span_map {
	uint64_t range;
	uint64_t q, r;
	uint32_t nb;
	long double span;
} span_map;

static void sm_init(span_map *m, int64_t start, int64_t end, uint32_t nb)
{
	m->range = (uint64_t)end - (uint64_t)start;
	m->nb = nb;
	m->q = m->range / nb;
	m->r = m->range % nb + 1; /* span = range + 1 */
	if (m->r == nb) {
		m->q++;
		m->r = 0;
	}
	m->span = (long double)m->range + 1.0L;
}

/* First offset of bucket b, 0 <= b < nb. */
static uint64_t sm_first(const span_map *m, uint64_t b)
{
	return b * m->q + (b * m->r + m->nb - 1) / m->nb;
}

/* Last offset of bucket b (first - 1 if the bucket is empty). */
static uint64_t sm_last(const span_map *m, uint64_t b)
{
	return b + 1 == m->nb ? m->range : sm_first(m, b + 1) - 1;
}

/*
 * The bucket of off. The floating-point estimate is within one of the
 * answer even where long double is only a double; the loops make it exact.
 */
static uint32_t sm_bucket(const span_map *m, uint64_t off)
{
	long double est = (long double)off * (long double)m->nb / m->span;
	uint64_t b = est >= (long double)m->nb ? m->nb - 1 : (uint64_t)est;

	while (b > 0 && sm_first(m, b) > off)
		b--;
	while (b + 1 < m->nb && sm_first(m, b + 1) <= off)
		b++;
	return (uint32_t)b;
}

uint32_t wb__bucket_of(int64_t start, int64_t end, uint32_t nbuckets, int64_t s)
{
	span_map m;

	if (nbuckets == 0 || start > end || s <= start)
		return 0;
	if (s > end)
		s = end;
	sm_init(&m, start, end, nbuckets);
	return sm_bucket(&m, (uint64_t)s - (uint64_t)start);
}

/* The bucket being filled, and where finished buckets go. */
typedef struct ds_state {
	wb__buckets *out;
	size_t rows; /* allocated rows */
	span_map m;
	int open;
	uint64_t hi; /* last offset of the open bucket */
	uint32_t count;
	double min, max, last;
	int64_t step;
} ds_state;

static void ds_emit(ds_state *s)
{
	size_t i;

	if (!s->open)
		return;
	i = s->out->len++;
	assert(i < s->rows);
	s->out->step[i] = s->step;
	s->out->min[i] = s->min;
	s->out->max[i] = s->max;
	s->out->last[i] = s->last;
	s->out->count[i] = s->count;
	s->open = 0;
}

/* Make the bucket holding off the open one (off beyond the open bucket). */
static void ds_open(ds_state *s, uint64_t off)
{
	ds_emit(s);
	s->hi = sm_last(&s->m, sm_bucket(&s->m, off));
	s->open = 1;
	s->count = 0;
	s->min = NAN;
	s->max = NAN;
}

static inline void ds_fold(ds_state *s, double lo, double hi)
{
	if (!isnan(lo) && (isnan(s->min) || lo < s->min))
		s->min = lo;
	if (!isnan(hi) && (isnan(s->max) || hi > s->max))
		s->max = hi;
}

static inline void ds_add(ds_state *s, uint64_t off, uint32_t n, double lo, double hi, double last, int64_t step)
{
	if (!s->open || off > s->hi)
		ds_open(s, off);
	s->count = n > UINT32_MAX - s->count ? UINT32_MAX : s->count + n; /* saturate */
	ds_fold(s, lo, hi);
	s->last = last;
	s->step = step;
	s->out->total += n;
}

/* Grow the decode buffers to hold n points (at least a full chunk). */
static int ds_reserve(int64_t **steps, double **values, uint32_t *cap, uint32_t n)
{
	int64_t *st;
	double *va;

	if (n <= *cap)
		return 0;
	if (n < WB__TSZ_CHUNK_POINTS)
		n = WB__TSZ_CHUNK_POINTS;
	if (n > DS_MAX_CHUNK_POINTS) /* which also keeps n * 8 far below SIZE_MAX */
		return -1;
	st = realloc(*steps, (size_t)n * sizeof(int64_t));
	if (!st)
		return -1;
	*steps = st;
	va = realloc(*values, (size_t)n * sizeof(double));
	if (!va)
		return -1;
	*values = va;
	*cap = n;
	return 0;
}

/*
 * out is overwritten (not freed first). nbuckets == 0 or start > end give
 * an empty result. Rows are allocated for at most min(nbuckets, points in
 * the chunks touching the range, steps in the range), so a huge nbuckets
 * over a short series costs nothing. A decoded chunk must agree with its
 * meta (count, first and last step) or the call fails: the fast path relies
 * on the meta, so a mismatch means the store is corrupt.
 */
void wb__chunk_meta_of(const int64_t *steps, const double *values, uint32_t n, wb__chunk_meta *m)
{
	m->step_min = steps[0];
	m->step_max = steps[n - 1];
	m->n = n;
	m->vmin = NAN;
	m->vmax = NAN;
	m->vlast = values[n - 1];
	for (uint32_t i = 0; i < n; i++) {
		if (isnan(values[i]))
			continue;
		if (isnan(m->vmin) || values[i] < m->vmin)
			m->vmin = values[i];
		if (isnan(m->vmax) || values[i] > m->vmax)
			m->vmax = values[i];
	}
}

int wb__downsample(const wb__chunk_meta *chunks, size_t nchunks, wb__chunk_fetch_fn fetch, void *ctx,
		   int64_t start, int64_t end, uint32_t nbuckets, wb__buckets *out)
{
	ds_state s;
	int64_t *dsteps = NULL;
	double *dvalues = NULL;
	uint32_t dcap = 0;
	size_t first, lo, hi, i;
	uint64_t sum = 0, rows;
	int rc = -1;

	if (!out)
		return -1;
	memset(out, 0, sizeof *out);
	if (nbuckets == 0 || start > end || nchunks == 0)
		return 0;
	if (!chunks)
		return -1;

	/* First chunk whose last step reaches start (step_max is sorted). */
	lo = 0;
	hi = nchunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (chunks[mid].step_max < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;

	for (i = first; i < nchunks && chunks[i].step_min <= end; i++)
		sum += chunks[i].n;
	rows = sum < nbuckets ? sum : nbuckets;
	memset(&s, 0, sizeof s);
	sm_init(&s.m, start, end, nbuckets);
	if (s.m.range != UINT64_MAX && rows > s.m.range + 1)
		rows = s.m.range + 1;
	if (rows == 0) {
		rc = 0;
		goto done;
	}
	if (rows > SIZE_MAX / sizeof(double))
		goto done;
	out->step = malloc((size_t)rows * sizeof(int64_t));
	out->min = malloc((size_t)rows * sizeof(double));
	out->max = malloc((size_t)rows * sizeof(double));
	out->last = malloc((size_t)rows * sizeof(double));
	out->count = malloc((size_t)rows * sizeof(uint32_t));
	if (!out->step || !out->min || !out->max || !out->last || !out->count)
		goto done;
	s.out = out;
	s.rows = (size_t)rows;

	for (i = first; i < nchunks && chunks[i].step_min <= end; i++) {
		const wb__chunk_meta *c = &chunks[i];
		const uint8_t *blob = NULL;
		size_t blen = 0;
		int64_t got, j;

		if (c->n == 0)
			continue;
		if (c->step_min > c->step_max)
			goto done;
		if (c->step_min >= start && c->step_max <= end) {
			uint64_t off_min = (uint64_t)c->step_min - (uint64_t)start;
			uint64_t off_max = (uint64_t)c->step_max - (uint64_t)start;
			uint64_t last;

			last = s.open && off_min <= s.hi ? s.hi : sm_last(&s.m, sm_bucket(&s.m, off_min));
			if (off_max <= last) {
				ds_add(&s, off_min, c->n, c->vmin, c->vmax, c->vlast, c->step_max);
				continue;
			}
		}

		if (!fetch || fetch(ctx, i, &blob, &blen) < 0)
			goto done;
		got = wb__tsz_count(blob, blen);
		if (got != (int64_t)c->n || ds_reserve(&dsteps, &dvalues, &dcap, c->n) < 0)
			goto done;
		got = wb__tsz_decode(blob, blen, dsteps, dvalues, dcap);
		if (got != (int64_t)c->n || dsteps[0] != c->step_min || dsteps[got - 1] != c->step_max)
			goto done;
		for (j = 0; j < got && dsteps[j] <= end; j++) {
			if (dsteps[j] < start)
				continue;
			ds_add(&s, (uint64_t)dsteps[j] - (uint64_t)start, 1, dvalues[j], dvalues[j], dvalues[j],
			       dsteps[j]);
		}
	}
	ds_emit(&s);
	rc = 0;

done:
	free(dsteps);
	free(dvalues);
	if (rc < 0)
		wb__buckets_free(out);
	return rc;
}

void wb__buckets_free(wb__buckets *b)
{
	if (!b)
		return;
	free(b->step);
	free(b->min);
	free(b->max);
	free(b->last);
	free(b->count);
	memset(b, 0, sizeof *b);
}
