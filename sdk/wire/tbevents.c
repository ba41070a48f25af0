/*
 * tbevents.c — TFRecord framing and the Event protobuf, read by hand (see
 * tbevents.h for the format and what is imported).
 *
 * The protobuf reader is a cursor over bytes: read a key (field number and
 * wire type), then a varint, a fixed32, a fixed64 or a length-delimited
 * slice, each bounds-checked; unknown fields are skipped by wire type.
 * Groups (wire types 3 and 4, deprecated) are refused. Nothing is
 * allocated for the structure itself: sub-messages are slices of the
 * record, walked when needed. Only repeated numbers (histogram buckets,
 * tensor values) are gathered into arrays.
 */
#include "tbevents.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "wire_media.h"

#include <cjson/cJSON.h>

const char *const wb__tb_skip_name[WB__TB_SKIP_COUNT] = {
	"truncated", "length_crc", "data_crc", "bad_event", "bad_step", "bad_tag", "bad_value", "unsupported",
};

#define VALUES_MAX (1u << 22) /* numbers gathered from one tensor or histogram */

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t wb__crc32c(const void *p, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const uint8_t *b = p;
	uint32_t c = 0xFFFFFFFFu;

	pthread_once(&once, crc_init);
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ b[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

/* ---- protobuf wire format ---- */

typedef struct pb {
	const uint8_t *p, *end;
} pb;

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* One field: its number, wire type, and value (varint/fixed in *v, a LEN slice in *sub). 1, 0 at the end, -1 malformed. */
static int pb_next(pb *b, uint32_t *field, int *wt, uint64_t *v, pb *sub)
{
	uint64_t key = 0;

	if (b->p == b->end)
		return 0;
	for (int shift = 0;; shift += 7) {
		if (b->p == b->end || shift > 63)
			return -1;
		key |= (uint64_t)(*b->p & 0x7F) << shift;
		if (!(*b->p++ & 0x80))
			break;
	}
	*field = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	if (*field == 0 || key >> 3 > 0x1FFFFFFFu)
		return -1;
	switch (*wt) {
	case WT_VARINT:
		*v = 0;
		for (int shift = 0;; shift += 7) {
			if (b->p == b->end || shift > 63)
				return -1;
			*v |= (uint64_t)(*b->p & 0x7F) << shift;
			if (!(*b->p++ & 0x80))
				break;
		}
		return 1;
	case WT_I64:
		if (b->end - b->p < 8)
			return -1;
		*v = wb__get_u64(b->p);
		b->p += 8;
		return 1;
	case WT_I32:
		if (b->end - b->p < 4)
			return -1;
		*v = wb__get_u32(b->p);
		b->p += 4;
		return 1;
	case WT_LEN: {
		uint64_t n = 0;
		for (int shift = 0;; shift += 7) {
			if (b->p == b->end || shift > 63)
				return -1;
			n |= (uint64_t)(*b->p & 0x7F) << shift;
			if (!(*b->p++ & 0x80))
				break;
		}
		if (n > (uint64_t)(b->end - b->p))
			return -1;
		sub->p = b->p;
		sub->end = b->p + n;
		b->p += n;
		return 1;
	}
	default:
		return -1;
	}
}

static double f32(uint64_t v)
{
	uint32_t u = (uint32_t)v;
	float f;
	memcpy(&f, &u, 4);
	return (double)f;
}

/* A growing array of doubles, bounded by VALUES_MAX. */
typedef struct dvec {
	double *v;
	size_t n, cap;
	int oom, toobig;
} dvec;

static void dvec_push(dvec *d, double x)
{
	if (d->oom || d->toobig)
		return;
	if (d->n >= VALUES_MAX) {
		d->toobig = 1;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		double *p = realloc(d->v, cap * sizeof(*p));
		if (!p) {
			d->oom = 1;
			return;
		}
		d->v = p;
		d->cap = cap;
	}
	d->v[d->n++] = x;
}

/* A repeated double (fixed64) or float (fixed32) field, packed or not, into d. 0 or -1. */
static int pb_reals(int wt, uint64_t v, const pb *sub, int is_float, dvec *d)
{
	size_t w = is_float ? 4 : 8;

	if (wt == (is_float ? WT_I32 : WT_I64)) {
		dvec_push(d, is_float ? f32(v) : wb__bits_f64(v));
		return 0;
	}
	if (wt != WT_LEN || (size_t)(sub->end - sub->p) % w)
		return -1;
	for (const uint8_t *q = sub->p; q < sub->end; q += w)
		dvec_push(d, is_float ? f32(wb__get_u32(q)) : wb__bits_f64(wb__get_u64(q)));
	return 0;
}

/* ---- values ---- */

typedef struct reader {
	const wb__tb_sink *sink;
	wb__tb_report *rep;
	double wall;
	int64_t step;
	int oom;
	const char *tag, *plugin; /* of the value being read, for naming what is skipped */
	size_t tlen, plen;
} reader;

/* Printable and short: what a message can show of a tag or plugin name. */
static void printable(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = 0, max = cap > 4 ? cap - 4 : 0;

	for (size_t i = 0; i < n && k < max; i++)
		out[k++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (k < n && k == max && cap >= 4)
		memcpy(out + k, "...", 3), k += 3;
	out[k] = '\0';
}

/* Count a skipped value and name it (tag, plugin) to the sink. */
static void skip_named(reader *r, enum wb__tb_skip why, const char *tag, size_t tlen, const char *plugin,
		       size_t plen)
{
	char t[68], p[68];

	r->rep->skipped[why]++;
	if (!r->sink->skipped)
		return;
	printable(t, sizeof t, tag ? tag : "", tag ? tlen : 0);
	printable(p, sizeof p, plugin ? plugin : "", plugin ? plen : 0);
	r->sink->skipped(r->sink->arg, why, t, p);
}

static void skip(reader *r, enum wb__tb_skip why) { skip_named(r, why, r->tag, r->tlen, r->plugin, r->plen); }

/* Report a histogram, merging neighbouring bins down to WB__HIST_BINS_MAX. */
static int emit_histogram(reader *r, const char *tag, double *edges, double *counts, size_t n)
{
	if (n == 0) {
		skip(r, WB__TB_BAD_VALUE);
		return 0;
	}
	for (size_t i = 0; i <= n; i++)
		if (!isfinite(edges[i]) || (i && edges[i] < edges[i - 1])) {
			skip(r, WB__TB_BAD_VALUE);
			return 0;
		}
	for (size_t i = 0; i < n; i++)
		if (!isfinite(counts[i]) || counts[i] < 0) {
			skip(r, WB__TB_BAD_VALUE);
			return 0;
		}
	if (n > WB__HIST_BINS_MAX) {
		size_t k = (n + WB__HIST_BINS_MAX - 1) / WB__HIST_BINS_MAX, m = 0;
		for (size_t i = 0; i < n; i += k, m++) {
			double c = 0;
			for (size_t j = i; j < n && j < i + k; j++)
				c += counts[j];
			counts[m] = c;
			edges[m] = edges[i];
		}
		edges[m] = edges[n];
		n = m;
	}
	r->rep->histograms++;
	return r->sink->histogram ? r->sink->histogram(r->sink->arg, r->wall, r->step, tag, edges, counts, n) : 0;
}

/* HistogramProto: bucket i covers (bucket_limit[i-1], bucket_limit[i]]; the first starts at min, the
 * last (whose limit is often DBL_MAX) ends at max. */
static int do_histo(reader *r, const char *tag, pb h)
{
	dvec lim = {0}, cnt = {0};
	double lo = NAN, hi = NAN, *edges = NULL;
	uint32_t f;
	int wt, rc, ret = 0;
	uint64_t v;
	pb sub;

	while ((rc = pb_next(&h, &f, &wt, &v, &sub)) == 1) {
		if (f == 1 && wt == WT_I64)
			lo = wb__bits_f64(v);
		else if (f == 2 && wt == WT_I64)
			hi = wb__bits_f64(v);
		else if (f == 6 && pb_reals(wt, v, &sub, 0, &lim))
			rc = -1;
		else if (f == 7 && pb_reals(wt, v, &sub, 0, &cnt))
			rc = -1;
		if (rc < 0)
			break;
	}
	if (lim.oom || cnt.oom) {
		ret = -1;
		goto done;
	}
	if (rc < 0 || lim.toobig || cnt.toobig || lim.n != cnt.n || lim.n == 0) {
		skip(r, WB__TB_BAD_VALUE);
		goto done;
	}
	if (!isfinite(lo))
		lo = lim.v[0];
	if (!isfinite(hi))
		hi = lim.v[lim.n - 1];
	if (!(lo <= hi)) {
		skip(r, WB__TB_BAD_VALUE);
		goto done;
	}
	if (!(edges = malloc((lim.n + 1) * sizeof(*edges)))) {
		ret = -1;
		goto done;
	}
	edges[0] = lo;
	for (size_t i = 1; i < lim.n; i++)
		edges[i] = lim.v[i - 1] < lo ? lo : lim.v[i - 1] > hi ? hi : lim.v[i - 1];
	edges[lim.n] = hi;
	ret = emit_histogram(r, tag, edges, cnt.v, cnt.n);
done:
	free(edges);
	free(lim.v);
	free(cnt.v);
	return ret;
}

static int emit_image(reader *r, const char *tag, const uint8_t *p, size_t n)
{
	if (n == 0 || n > WB__IMAGE_MAX || !wb__image_sniff(p, n, NULL, NULL)) {
		skip(r, WB__TB_BAD_VALUE);
		return 0;
	}
	r->rep->images++;
	return r->sink->image ? r->sink->image(r->sink->arg, r->wall, r->step, tag, p, n) : 0;
}

static int do_image(reader *r, const char *tag, pb im)
{
	const uint8_t *bytes = NULL;
	size_t n = 0;
	uint32_t f;
	int wt, rc;
	uint64_t v;
	pb sub;

	while ((rc = pb_next(&im, &f, &wt, &v, &sub)) == 1)
		if (f == 4 && wt == WT_LEN) {
			bytes = sub.p;
			n = (size_t)(sub.end - sub.p);
		}
	if (rc < 0 || !bytes) {
		skip(r, WB__TB_BAD_VALUE);
		return 0;
	}
	return emit_image(r, tag, bytes, n);
}

/* A TensorProto, as far as wb reads one. */
typedef struct tensor {
	int dtype;
	int64_t dims[8];
	int ndims;
	dvec vals;
	const uint8_t *content;
	size_t content_len;
	int nstrings; /* string_val entries (read again where they are wanted) */
} tensor;

enum { DT_FLOAT = 1, DT_DOUBLE = 2, DT_STRING = 7 };

static int tensor_parse(pb t, tensor *out)
{
	uint32_t f;
	int wt, rc;
	uint64_t v;
	pb sub;

	while ((rc = pb_next(&t, &f, &wt, &v, &sub)) == 1) {
		if (f == 1 && wt == WT_VARINT) {
			out->dtype = (int)v;
		} else if (f == 2 && wt == WT_LEN) { /* TensorShapeProto: 2 dim { 1 size } */
			uint32_t f2, f3;
			int wt2, wt3, rc2, rc3;
			uint64_t v2, v3;
			pb d, s3;
			while ((rc2 = pb_next(&sub, &f2, &wt2, &v2, &d)) == 1) {
				int64_t size = 0;
				if (f2 != 2 || wt2 != WT_LEN)
					continue;
				while ((rc3 = pb_next(&d, &f3, &wt3, &v3, &s3)) == 1)
					if (f3 == 1 && wt3 == WT_VARINT)
						size = (int64_t)v3;
				if (rc3 < 0 || out->ndims == 8)
					return -1;
				out->dims[out->ndims++] = size;
			}
			if (rc2 < 0)
				return -1;
		} else if (f == 4 && wt == WT_LEN) {
			out->content = sub.p;
			out->content_len = (size_t)(sub.end - sub.p);
		} else if (f == 5 || f == 6) {
			if (pb_reals(wt, v, &sub, f == 5, &out->vals))
				return -1;
		} else if (f == 8 && wt == WT_LEN) {
			out->nstrings++;
		}
	}
	return rc < 0 ? -1 : 0;
}

/* The numbers of a float or double tensor (tensor_content, else float_val/double_val) into t->vals. 0 or -1. */
static int tensor_numbers(tensor *t)
{
	size_t w;

	if (t->dtype != DT_FLOAT && t->dtype != DT_DOUBLE)
		return -1;
	if (!t->content)
		return 0;
	w = t->dtype == DT_FLOAT ? 4 : 8;
	if (t->content_len % w)
		return -1;
	t->vals.n = 0;
	for (size_t i = 0; i < t->content_len; i += w)
		dvec_push(&t->vals, w == 4 ? f32(wb__get_u32(t->content + i)) : wb__bits_f64(wb__get_u64(t->content + i)));
	return 0;
}

/*
 * A TF2 image tensor [width, height, image 0, image 1, ...] (string_val, field 8): image 0 under tag, image i
 * under "tag/i", as TF1 writes one value per image.
 */
static int emit_tensor_images(reader *r, const char *tag, pb tp)
{
	uint32_t f;
	int wt, ret = 0;
	uint64_t v;
	pb sub;
	size_t i = 0;

	/* tensor_parse read the same bytes whole: no decoding error here */
	while (!ret && pb_next(&tp, &f, &wt, &v, &sub) == 1) {
		char key[300];
		if (f != 8 || wt != WT_LEN || i++ < 2)
			continue;
		if (i == 3)
			snprintf(key, sizeof(key), "%s", tag);
		else if ((size_t)snprintf(key, sizeof(key), "%s/%zu", tag, i - 3) >= sizeof(key) ||
			 !wb__key_valid(key, strlen(key))) {
			skip(r, WB__TB_BAD_TAG); /* the tag is too long for a "/i" */
			continue;
		}
		ret = emit_image(r, key, sub.p, (size_t)(sub.end - sub.p));
	}
	return ret;
}

/*
 * A text tensor (plugin "text": add_text, tf.summary.text) as a wb table of one column "text" and one row per
 * string, so every step's text is kept and shown as the web shows tables. Strings must be UTF-8 without NUL
 * and the table within wb's limits, else the value is skipped as bad_value.
 */
static int emit_text(reader *r, const char *tag, pb tp)
{
	cJSON *t = NULL, *data, *row;
	char *json = NULL, *cell = NULL, why[200];
	uint32_t f;
	int wt, ret = 0, bad = 0;
	uint64_t v;
	pb sub;

	if (!(t = cJSON_CreateObject()) || !cJSON_AddItemToObject(t, "columns", cJSON_CreateStringArray((const char *[]){"text"}, 1)) ||
	    !(data = cJSON_AddArrayToObject(t, "data"))) {
		ret = -1;
		goto done;
	}
	while (!bad && pb_next(&tp, &f, &wt, &v, &sub) == 1) {
		size_t n = (size_t)(sub.end - sub.p);
		if (f != 8 || wt != WT_LEN)
			continue;
		if (n > WB__TABLE_MAX || memchr(sub.p, 0, n) || !wb__utf8_valid((const char *)sub.p, n)) {
			bad = 1;
			break;
		}
		if (!(cell = malloc(n + 1))) {
			ret = -1;
			goto done;
		}
		memcpy(cell, sub.p, n);
		cell[n] = '\0';
		if (!(row = cJSON_CreateArray()) || !cJSON_AddItemToArray(data, row) ||
		    !cJSON_AddItemToArray(row, cJSON_CreateString(cell))) {
			ret = -1;
			goto done;
		}
		free(cell);
		cell = NULL;
	}
	if (bad || wb__table_check(t, why, sizeof why)) {
		skip(r, WB__TB_BAD_VALUE);
		goto done;
	}
	if (!(json = cJSON_PrintUnformatted(t))) {
		ret = -1;
		goto done;
	}
	if (strlen(json) > WB__TABLE_MAX) {
		skip(r, WB__TB_BAD_VALUE);
		goto done;
	}
	r->rep->texts++;
	if (r->sink->text)
		ret = r->sink->text(r->sink->arg, r->wall, r->step, tag, json, strlen(json));
done:
	free(cell);
	free(json);
	cJSON_Delete(t);
	return ret;
}

static int do_tensor(reader *r, const char *tag, pb tp, const char *plugin, size_t plen)
{
	tensor t;
	int ret = 0;

	memset(&t, 0, sizeof(t));
	if (tensor_parse(tp, &t)) {
		skip(r, WB__TB_BAD_VALUE);
		goto done;
	}
	if (plen == 6 && memcmp(plugin, "images", 6) == 0) {
		if (t.dtype != DT_STRING || t.nstrings < 3) {
			skip(r, WB__TB_BAD_VALUE);
			goto done;
		}
		ret = emit_tensor_images(r, tag, tp);
		goto done;
	}
	if (plen == 4 && memcmp(plugin, "text", 4) == 0) {
		ret = t.dtype == DT_STRING && t.nstrings > 0 ? emit_text(r, tag, tp) : (skip(r, WB__TB_BAD_VALUE), 0);
		goto done;
	}
	if (tensor_numbers(&t) || t.vals.toobig) {
		skip(r, t.dtype == DT_FLOAT || t.dtype == DT_DOUBLE ? WB__TB_BAD_VALUE : WB__TB_UNSUPPORTED);
		goto done;
	}
	if (t.vals.oom) {
		ret = -1;
		goto done;
	}
	if (plen == 10 && memcmp(plugin, "histograms", 10) == 0) {
		size_t k = t.vals.n / 3;
		double *edges, *counts;
		if (t.ndims != 2 || t.dims[1] != 3 || t.dims[0] < 0 || (uint64_t)t.dims[0] != k || t.vals.n != 3 * k) {
			skip(r, WB__TB_BAD_VALUE);
			goto done;
		}
		edges = malloc((k + 1) * sizeof(*edges));
		counts = malloc((k + 1) * sizeof(*counts));
		if (!edges || !counts) {
			free(edges);
			free(counts);
			ret = -1;
			goto done;
		}
		for (size_t i = 0; i < k; i++) {
			edges[i] = t.vals.v[3 * i];
			counts[i] = t.vals.v[3 * i + 2];
		}
		if (k)
			edges[k] = t.vals.v[3 * k - 2];
		ret = emit_histogram(r, tag, edges, counts, k);
		free(edges);
		free(counts);
		goto done;
	}
	if (plen == 0 || (plen == 7 && memcmp(plugin, "scalars", 7) == 0)) {
		if (t.vals.n != 1) {
			skip(r, WB__TB_BAD_VALUE);
			goto done;
		}
		r->rep->scalars++;
		if (r->sink->scalar)
			ret = r->sink->scalar(r->sink->arg, r->wall, r->step, tag, t.vals.v[0]);
		goto done;
	}
	skip(r, WB__TB_UNSUPPORTED);
done:
	free(t.vals.v);
	return ret;
}

/* The plugin name and content of a SummaryMetadata (1 plugin_data { 1 plugin_name 2 content }). 0 or -1. */
static int plugin_data(pb m, const char **name, size_t *len, pb *content)
{
	uint32_t f, f2;
	int wt, wt2, rc, rc2;
	uint64_t v, v2;
	pb sub, s2;

	while ((rc = pb_next(&m, &f, &wt, &v, &sub)) == 1) {
		if (f != 1 || wt != WT_LEN)
			continue;
		while ((rc2 = pb_next(&sub, &f2, &wt2, &v2, &s2)) == 1)
			if (f2 == 1 && wt2 == WT_LEN) {
				*name = (const char *)s2.p;
				*len = (size_t)(s2.end - s2.p);
			} else if (f2 == 2 && wt2 == WT_LEN) {
				*content = s2;
			}
		if (rc2 < 0)
			return -1;
	}
	return rc < 0 ? -1 : 0;
}

/* One hparams map entry (1 key, 2 google.protobuf.Value: 1 null 2 number 3 string 4 bool 5 struct 6 list). */
static int do_hparam(reader *r, pb e)
{
	const char *name = NULL;
	size_t nlen = 0;
	pb val = {0}, sub;
	int has_val = 0, kind = 0, ret = 0;
	char key[WB__CONFIG_KEY_MAX + 1], *str = NULL;
	wb__tb_hparam hp = {0};
	uint32_t f;
	int wt;
	uint64_t v;

	while (pb_next(&e, &f, &wt, &v, &sub) == 1) {
		if (f == 1 && wt == WT_LEN) {
			name = (const char *)sub.p;
			nlen = (size_t)(sub.end - sub.p);
		} else if (f == 2 && wt == WT_LEN) {
			val = sub;
			has_val = 1;
		}
	}
	if (!name || !wb__config_key_valid(name, nlen, NULL, 0)) {
		skip_named(r, WB__TB_BAD_TAG, name, nlen, "hparams", 7);
		return 0;
	}
	memcpy(key, name, nlen);
	key[nlen] = '\0';
	while (has_val && pb_next(&val, &f, &wt, &v, &sub) == 1) {
		if (f == 2 && wt == WT_I64) {
			hp.type = WB__TB_HP_NUMBER;
			hp.number = wb__bits_f64(v);
			kind = isfinite(hp.number) ? 1 : -1; /* JSON has no NaN or infinity */
		} else if (f == 3 && wt == WT_LEN) {
			size_t n = (size_t)(sub.end - sub.p);
			hp.type = WB__TB_HP_STRING;
			kind = -1;
			if (memchr(sub.p, 0, n) || !wb__utf8_valid((const char *)sub.p, n))
				continue;
			free(str);
			if (!(str = malloc(n + 1))) {
				ret = -1;
				goto done;
			}
			memcpy(str, sub.p, n);
			str[n] = '\0';
			hp.string = str;
			kind = 1;
		} else if (f == 4 && wt == WT_VARINT) {
			hp.type = WB__TB_HP_BOOL;
			hp.boolean = v != 0;
			kind = 1;
		} else if (f == 1 || f == 5 || f == 6) {
			kind = 0; /* null, struct, list: nothing a config value here holds */
		}
	}
	if (kind <= 0) {
		skip_named(r, kind < 0 ? WB__TB_BAD_VALUE : WB__TB_UNSUPPORTED, key, nlen, "hparams", 7);
		goto done;
	}
	r->rep->hparams++;
	if (r->sink->hparam)
		ret = r->sink->hparam(r->sink->arg, key, &hp);
done:
	free(str);
	return ret;
}

/*
 * The hparams plugin's data (HParamsPluginData: 1 version, 2 experiment, 3 session_start_info, 4
 * session_end_info): the hyperparameters of session_start_info (1 hparams, a map) to the sink; experiment and
 * session_end_info only describe TensorBoard's view and are read without a word.
 */
static int do_hparams(reader *r, pb content)
{
	uint32_t f, f2;
	int wt, wt2, ret = 0;
	uint64_t v, v2;
	pb sub, s2;

	while (!ret && pb_next(&content, &f, &wt, &v, &sub) == 1) {
		if (f != 3 || wt != WT_LEN)
			continue;
		while (!ret && pb_next(&sub, &f2, &wt2, &v2, &s2) == 1)
			if (f2 == 1 && wt2 == WT_LEN)
				ret = do_hparam(r, s2);
	}
	return ret;
}

/* One Summary.Value, already walked once (so its fields parse). */
static int do_value(reader *r, pb val)
{
	const char *tag = NULL, *plugin = "";
	size_t tlen = 0, plen = 0;
	pb image = {0}, histo = {0}, tens = {0}, content = {0}, sub;
	int has_simple = 0, has_image = 0, has_histo = 0, has_tensor = 0, other = 0;
	double simple = 0;
	char key[WB__KEY_MAX + 1];
	uint32_t f;
	int wt;
	uint64_t v;

	while (pb_next(&val, &f, &wt, &v, &sub) == 1) {
		if (f == 1 && wt == WT_LEN) {
			tag = (const char *)sub.p;
			tlen = (size_t)(sub.end - sub.p);
		} else if (f == 2 && wt == WT_I32) {
			has_simple = 1;
			simple = f32(v);
		} else if (f == 4 && wt == WT_LEN) {
			has_image = 1;
			image = sub;
		} else if (f == 5 && wt == WT_LEN) {
			has_histo = 1;
			histo = sub;
		} else if (f == 8 && wt == WT_LEN) {
			has_tensor = 1;
			tens = sub;
		} else if (f == 9 && wt == WT_LEN) {
			if (plugin_data(sub, &plugin, &plen, &content))
				other = 1;
		} else if (f == 3 || f == 6) {
			other = 1; /* an old-style histogram string, audio */
		}
	}
	r->tag = tag;
	r->tlen = tlen;
	r->plugin = plugin;
	r->plen = plen;
	/* hparams come before the tag rule: their tags ("_hparams_/...") are the plugin's, not keys */
	if (plen == 7 && memcmp(plugin, "hparams", 7) == 0)
		return do_hparams(r, content);
	if (r->step < 0) {
		skip(r, WB__TB_BAD_STEP);
		return 0;
	}
	if (!tag || !wb__key_valid(tag, tlen) || !wb__utf8_valid(tag, tlen) ||
	    (tlen >= 7 && memcmp(tag, WB__SYSTEM_PREFIX, 7) == 0)) {
		skip(r, WB__TB_BAD_TAG);
		return 0;
	}
	memcpy(key, tag, tlen);
	key[tlen] = '\0';
	if (has_simple) {
		r->rep->scalars++;
		return r->sink->scalar ? r->sink->scalar(r->sink->arg, r->wall, r->step, key, simple) : 0;
	}
	if (has_histo)
		return do_histo(r, key, histo);
	if (has_image)
		return do_image(r, key, image);
	if (has_tensor && !other)
		return do_tensor(r, key, tens, plugin, plen);
	skip(r, WB__TB_UNSUPPORTED);
	return 0;
}

/* Check that a message's fields all parse. */
static int pb_valid(pb m)
{
	uint32_t f;
	int wt, rc;
	uint64_t v;
	pb sub;

	while ((rc = pb_next(&m, &f, &wt, &v, &sub)) == 1)
		;
	return rc;
}

/* One Event. 0, -1 out of memory, a sink's return, or 1 when the event does not decode. */
static int do_event(reader *r, const uint8_t *data, size_t len)
{
	pb ev = {data, data + len}, summary = {0}, sub, s;
	int has_summary = 0, wt, rc;
	uint32_t f;
	uint64_t v;

	r->wall = 0;
	r->step = 0;
	while ((rc = pb_next(&ev, &f, &wt, &v, &sub)) == 1) {
		if (f == 1 && wt == WT_I64)
			r->wall = wb__bits_f64(v);
		else if (f == 2 && wt == WT_VARINT)
			r->step = (int64_t)v;
		else if (f == 5 && wt == WT_LEN) {
			summary = sub;
			has_summary = 1;
		}
	}
	if (rc < 0)
		return 1;
	/* walk the summary and its values once before reporting anything from them */
	s = summary;
	while (has_summary && (rc = pb_next(&s, &f, &wt, &v, &sub)) == 1)
		if (f == 1 && (wt != WT_LEN || pb_valid(sub) < 0))
			return 1;
	if (rc < 0)
		return 1;
	r->rep->events++;
	if (!isfinite(r->wall) || r->wall < 0)
		r->wall = 0;
	s = summary;
	while (has_summary && pb_next(&s, &f, &wt, &v, &sub) == 1) {
		if (f != 1)
			continue;
		if ((rc = do_value(r, sub)))
			return rc;
	}
	return 0;
}

static int read_records(const uint8_t *buf, size_t len, const wb__tb_sink *sink, wb__tb_report *rep, int partial,
			size_t *consumed)
{
	reader r = {.sink = sink, .rep = rep};
	size_t off = 0;
	int ret = 0;

	while (off < len) {
		uint64_t n;
		const uint8_t *data;
		int rc;

		if (len - off < 12) {
			if (!partial)
				rep->skipped[WB__TB_TRUNCATED]++;
			break;
		}
		if (wb__crc32c_mask(wb__crc32c(buf + off, 8)) != wb__get_u32(buf + off + 8)) {
			rep->skipped[WB__TB_LENGTH_CRC]++;
			off = len;
			break;
		}
		n = wb__get_u64(buf + off);
		if (n > len - off - 12 || len - off - 12 - n < 4) {
			if (!partial) {
				rep->records++;
				rep->skipped[WB__TB_TRUNCATED]++;
			}
			break;
		}
		rep->records++;
		data = buf + off + 12;
		off += 12 + (size_t)n + 4;
		if (wb__crc32c_mask(wb__crc32c(data, (size_t)n)) != wb__get_u32(data + n)) {
			rep->skipped[WB__TB_DATA_CRC]++;
			continue;
		}
		rc = do_event(&r, data, (size_t)n);
		if (rc == 1) {
			rep->skipped[WB__TB_BAD_EVENT]++;
			continue;
		}
		if (rc) {
			ret = rc;
			break;
		}
	}
	if (consumed)
		*consumed = off;
	return ret;
}

int wb__tb_read(const uint8_t *buf, size_t len, const wb__tb_sink *sink, wb__tb_report *rep)
{
	return read_records(buf, len, sink, rep, 0, NULL);
}

int wb__tb_read_some(const uint8_t *buf, size_t len, const wb__tb_sink *sink, wb__tb_report *rep, size_t *consumed)
{
	return read_records(buf, len, sink, rep, 1, consumed);
}

int wb__tb_series_key(char *key, const char *subdir, const char *tag, int hparams)
{
	size_t dl = strlen(subdir), tl = strlen(tag), n;

	if (hparams || dl == 0)
		n = (size_t)snprintf(key, WB__KEY_MAX + 1, "%s", tag);
	else if (dl > tl + 1 && memcmp(subdir, tag, tl) == 0 && subdir[tl] == '/')
		n = (size_t)snprintf(key, WB__KEY_MAX + 1, "%s", subdir); /* tensorboardX: <main_tag>/<tag>/ */
	else {
		size_t i = 0;
		for (; i < tl && (subdir[i] == tag[i] || (tag[i] == '/' && subdir[i] == '_')); i++)
			;
		if (i == tl && dl > tl + 1 && subdir[tl] == '_' && !strchr(subdir + tl + 1, '/'))
			/* torch.utils.tensorboard: <main_tag, '/' as '_'>_<tag>/ */
			n = (size_t)snprintf(key, WB__KEY_MAX + 1, "%s/%s", tag, subdir + tl + 1);
		else
			n = (size_t)snprintf(key, WB__KEY_MAX + 1, "%s/%s", subdir, tag);
	}
	return n > WB__KEY_MAX || !wb__key_valid(key, n) ? -1 : 0;
}
