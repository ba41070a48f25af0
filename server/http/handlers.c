/*
 * handlers.c — one function per route of schema/api.md.
 *
 * Each handler validates everything it can before calling the store (a
 * request that fails writes nothing), makes one store call, and renders
 * the answer with the JSON writer of util/buf.h (exact numbers, non-finite
 * values as strings). Run objects are assembled from the stored JSON text
 * of config/summary/metadata directly, without re-parsing it: the store
 * only ever holds JSON that this server wrote.
 *
 * Export streams with chunked transfer encoding: a full-resolution series
 * can be tens of millions of points, more than we want to hold in memory.
 * The JSON form makes one pass over the chunks per array (step, value,
 * bits), all inside one read snapshot.
 */
#include "http_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/ops.h"
#include "model/batch.h"
#include "model/fields.h"
#include "model/query.h"
#include "util/log.h"
#include "wire.h"

#define STREAM_FLUSH (64u * 1024u)

/* ---- rendering ---- */

/* Stored JSON text, or fallback if the column is empty. */
static void put_raw(wbs__buf *b, const char *json, const char *fallback)
{
	wbs__buf_puts(b, json && *json ? json : fallback);
}

void wbs__render_run(wbs__buf *b, const wbs__run_row *r)
{
	wbs__buf_puts(b, "{\"id\":");
	wbs__json_cstr(b, r->run_id);
	wbs__buf_puts(b, ",\"entity\":");
	wbs__json_cstr(b, r->entity);
	wbs__buf_puts(b, ",\"project\":");
	wbs__json_cstr(b, r->project);
	wbs__buf_puts(b, ",\"name\":");
	wbs__json_cstr(b, r->name);
	wbs__buf_puts(b, ",\"group\":");
	wbs__json_cstr(b, r->group);
	wbs__buf_puts(b, ",\"job_type\":");
	wbs__json_cstr(b, r->job_type);
	wbs__buf_puts(b, ",\"notes\":");
	wbs__json_cstr(b, r->notes ? r->notes : "");
	wbs__buf_puts(b, ",\"tags\":");
	put_raw(b, r->tags, "[]");
	wbs__buf_puts(b, ",\"state\":");
	wbs__json_cstr(b, r->state);
	wbs__buf_puts(b, ",\"exit_code\":");
	if (r->has_exit_code)
		wbs__json_i64(b, r->exit_code);
	else
		wbs__buf_puts(b, "null");
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num_or_null(b, r->created_at);
	wbs__buf_puts(b, ",\"updated_at\":");
	wbs__json_num_or_null(b, r->updated_at);
	wbs__buf_puts(b, ",\"heartbeat_at\":");
	wbs__json_num_or_null(b, r->heartbeat_at);
	wbs__buf_puts(b, ",\"finished_at\":");
	wbs__json_num_or_null(b, r->finished_at);
	wbs__buf_puts(b, ",\"config\":");
	put_raw(b, r->config, "{}");
	wbs__buf_puts(b, ",\"summary\":");
	put_raw(b, r->summary, "{}");
	wbs__buf_puts(b, ",\"metadata\":");
	put_raw(b, r->metadata, "{}");
	wbs__buf_puts(b, ",\"metric_defs\":");
	put_raw(b, r->metric_defs, "[]");
	wbs__buf_puts(b, ",\"last_seq\":");
	wbs__json_i64(b, (int64_t)r->last_seq);
	wbs__buf_puts(b, ",\"last_step\":");
	if (r->last_step >= 0)
		wbs__json_i64(b, r->last_step);
	else
		wbs__buf_puts(b, "null");
	wbs__buf_puts(b, ",\"url\":\"/");
	/* names are [A-Za-z0-9_.-]: nothing to escape */
	wbs__buf_puts(b, r->entity);
	wbs__buf_putc(b, '/');
	wbs__buf_puts(b, r->project);
	wbs__buf_puts(b, "/runs/");
	wbs__buf_puts(b, r->run_id);
	wbs__buf_puts(b, "\"}");
}

/* Answer with the run object of q->ref. */
static void send_run(wbs__req *q, int status)
{
	wbs__run_row row;
	wbs__err e = {0};
	wbs__buf b;

	if (wbs__store_run_get(q->store, &q->ref, &row, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	wbs__render_run(&b, &row);
	wbs__send_json(q, status, &b);
	wbs__buf_free(&b);
	wbs__run_row_free(&row);
}

/* ---- runs ---- */

void wbs__h_run_put(wbs__req *q)
{
	cJSON *j = NULL;
	wbs__run_fields f;
	wbs__err e = {0};
	char why[256];
	int created = 0;

	memset(&f, 0, sizeof(f));
	if (wbs__read_json(q, 0, WBS__JSON_BODY_MAX, WBS__JSON_BODY_MAX, &j))
		goto done;
	if (wbs__run_fields_parse(&f, j, why, sizeof(why))) {
		wbs__send_error(q, 400, "invalid_argument", "%s", why);
		goto done;
	}
	if (wbs__store_run_put(q->store, &q->ref, &f, q->user_id, &created, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	send_run(q, created ? 201 : 200);
done:
	wbs__run_fields_free(&f);
	cJSON_Delete(j);
}

void wbs__h_run_get(wbs__req *q) { send_run(q, 200); }

void wbs__h_records(wbs__req *q)
{
	const char *ct = mg_get_header(q->conn, "Content-Type");
	uint8_t *body = NULL;
	size_t len = 0;
	wbs__batch b;
	wbs__err e = {0};
	wbs__buf out;
	char why[256];
	uint64_t last_seq = 0, applied = 0;
	int rc, should_stop = 0;

	memset(&b, 0, sizeof(b));
	wbs__buf_init(&out, 256);
	if (!wbs__media_type_is(ct, "application/x-wb-frames")) {
		wbs__send_error(q, 415, "unsupported_media_type", "content-type must be application/x-wb-frames");
		goto done;
	}
	if (wbs__read_body(q, 1, WBS__RECORDS_BODY_MAX, WBS__RECORDS_INFLATED_MAX, "invalid_record", &body, &len))
		goto done;
	if (len == 0) {
		wbs__send_error(q, 400, "invalid_record", "body holds no frames");
		goto done;
	}
	rc = wbs__batch_decode(&b, body, len, why, sizeof(why));
	if (rc == WBS__BATCH_NOMEM) {
		wbs__send_error(q, 500, "internal", "out of memory");
		goto done;
	}
	if (rc != WBS__BATCH_OK) {
		wbs__send_error(q, 400, "invalid_record", "%s", why);
		goto done;
	}
	/* The body is decoded into b; free it before waiting on the writer. */
	free(body);
	body = NULL;
	if (wbs__store_ingest(q->store, &q->ref, &b, &last_seq, &applied, &should_stop, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__ops_count_ingest(q->ops, applied ? b.npoints : 0, applied);
	wbs__buf_puts(&out, "{\"last_seq\":");
	wbs__json_i64(&out, (int64_t)last_seq);
	wbs__buf_puts(&out, ",\"applied\":");
	wbs__json_i64(&out, (int64_t)applied);
	if (should_stop) /* a sweep trial told to stop early: the SDK's wb_run_should_stop */
		wbs__buf_puts(&out, ",\"should_stop\":true");
	wbs__buf_putc(&out, '}');
	wbs__send_json(q, 200, &out);
done:
	wbs__buf_free(&out);
	wbs__batch_free(&b);
	free(body);
}

void wbs__h_heartbeat(wbs__req *q)
{
	char state[16] = "";
	wbs__err e = {0};
	wbs__buf b;
	int should_stop = 0;

	if (wbs__store_heartbeat(q->store, &q->ref, state, &should_stop, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, 256);
	wbs__buf_puts(&b, "{\"state\":");
	wbs__json_cstr(&b, state);
	if (should_stop)
		wbs__buf_puts(&b, ",\"should_stop\":true");
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

void wbs__h_finish(wbs__req *q)
{
	cJSON *j = NULL;
	const cJSON *ec, *cr, *ha;
	wbs__err e = {0};
	int crashed = 0, exit_code = 0;

	if (wbs__read_json(q, WBS__BODY_REQUIRED | WBS__BODY_OBJECT, WBS__JSON_BODY_MAX, WBS__JSON_BODY_MAX, &j))
		goto done;
	ec = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
	cr = cJSON_GetObjectItemCaseSensitive(j, "crashed");
	if (cr && !cJSON_IsBool(cr)) {
		wbs__send_error(q, 400, "invalid_argument", "crashed must be a boolean");
		goto done;
	}
	crashed = cJSON_IsTrue(cr);
	if (ec && (!cJSON_IsNumber(ec) || ec->valuedouble != floor(ec->valuedouble) ||
		   ec->valuedouble < -2147483648.0 || ec->valuedouble > 2147483647.0)) {
		wbs__send_error(q, 400, "invalid_argument", "exit_code must be an integer");
		goto done;
	}
	if (crashed && ec) {
		wbs__send_error(q, 400, "invalid_argument", "give exit_code or crashed, not both");
		goto done;
	}
	if (!crashed && !ec) {
		wbs__send_error(q, 400, "invalid_argument", "exit_code (integer) or crashed (true) is required");
		goto done;
	}
	ha = cJSON_GetObjectItemCaseSensitive(j, "heartbeat_at");
	if (ha && (!crashed || !cJSON_IsNumber(ha) || !isfinite(ha->valuedouble) || ha->valuedouble < 0)) {
		wbs__send_error(q, 400, "invalid_argument", "heartbeat_at must be a time (unix seconds) and goes with crashed");
		goto done;
	}
	if (ec)
		exit_code = (int)ec->valuedouble;
	if (wbs__store_finish(q->store, &q->ref, crashed, exit_code, ha ? ha->valuedouble : NAN, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	send_run(q, 200);
done:
	cJSON_Delete(j);
}

void wbs__h_runs_list(wbs__req *q)
{
	wbs__runs_query rq;
	wbs__run_row *rows = NULL;
	size_t n = 0;
	uint64_t total = 0;
	wbs__err e = {0};
	wbs__buf b;
	char val[WBS__FILTER_VALUE_MAX * 2 + 64], why[256];
	int64_t v;
	int r;

	wbs__runs_query_init(&rq);
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	for (int i = 0;; i++) {
		r = wbs__query_param(q, "filter", i, val, sizeof(val));
		if (r < 0)
			goto done;
		if (r == 0)
			break;
		if (rq.nfilters == WBS__FILTERS_MAX) {
			wbs__send_error(q, 400, "invalid_argument", "at most %u filters", WBS__FILTERS_MAX);
			goto done;
		}
		if (wbs__filter_parse(&rq.filters[rq.nfilters], val, why, sizeof(why))) {
			wbs__send_error(q, 400, "invalid_argument", "%s", why);
			goto done;
		}
		rq.nfilters++;
	}
	if ((r = wbs__query_param(q, "sort", 0, val, sizeof(val))) < 0)
		goto done;
	if (r) {
		wbs__sort_free(&rq.sort);
		if (wbs__sort_parse(&rq.sort, val, why, sizeof(why))) {
			wbs__send_error(q, 400, "invalid_argument", "%s", why);
			goto done;
		}
	}
	if ((r = wbs__query_param(q, "limit", 0, val, sizeof(val))) < 0)
		goto done;
	if (r) {
		if (wbs__parse_i64(val, 1, WBS__RUNS_LIMIT_MAX, &v)) {
			wbs__send_error(q, 400, "invalid_argument", "limit must be an integer from 1 to %u",
				       WBS__RUNS_LIMIT_MAX);
			goto done;
		}
		rq.limit = (uint32_t)v;
	}
	if ((r = wbs__query_param(q, "offset", 0, val, sizeof(val))) < 0)
		goto done;
	if (r) {
		if (wbs__parse_i64(val, 0, (int64_t)WBS__RUNS_OFFSET_MAX, &v)) {
			wbs__send_error(q, 400, "invalid_argument", "offset must be an integer from 0 to %llu",
				       WBS__RUNS_OFFSET_MAX);
			goto done;
		}
		rq.offset = (uint64_t)v;
	}
	if (wbs__runs_grouped(q, &rq))
		goto done;
	if (wbs__store_runs_list(q->store, q->ref.entity, q->ref.project, &rq, &rows, &n, &total, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"runs\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			wbs__buf_putc(&b, ',');
		wbs__render_run(&b, &rows[i]);
	}
	wbs__buf_puts(&b, "],\"total\":");
	wbs__json_i64(&b, (int64_t)total);
	wbs__buf_puts(&b, ",\"limit\":");
	wbs__json_i64(&b, rq.limit);
	wbs__buf_puts(&b, ",\"offset\":");
	wbs__json_i64(&b, (int64_t)rq.offset);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
done:
	wbs__run_rows_free(rows, n);
	wbs__runs_query_free(&rq);
	wbs__buf_free(&b);
}

void wbs__h_projects(wbs__req *q)
{
	wbs__project_row *rows = NULL;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_projects_list(q->store, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"projects\":[");
	for (size_t i = 0, k = 0; i < n; i++) {
		/* Only what the caller may read (the route itself is public). */
		wbs__access a;
		if (wbs__store_access(q->store, q->user_id, rows[i].entity, rows[i].name, &a, &e)) {
			wbs__send_store_error(q, &e);
			goto done;
		}
		if (a.role < WBS__ROLE_VIEWER && !a.is_public)
			continue;
		if (k++)
			wbs__buf_putc(&b, ',');
		wbs__buf_puts(&b, "{\"entity\":");
		wbs__json_cstr(&b, rows[i].entity);
		wbs__buf_puts(&b, ",\"name\":");
		wbs__json_cstr(&b, rows[i].name);
		wbs__buf_puts(&b, ",\"run_count\":");
		wbs__json_i64(&b, (int64_t)rows[i].run_count);
		wbs__buf_puts(&b, ",\"created_at\":");
		wbs__json_num_or_null(&b, rows[i].created_at);
		wbs__buf_puts(&b, ",\"updated_at\":");
		wbs__json_num_or_null(&b, rows[i].updated_at);
		wbs__buf_puts(&b, a.is_public ? ",\"visibility\":\"public\",\"role\":" : ",\"visibility\":\"private\",\"role\":");
		wbs__json_cstr(&b, wbs__role_name(a.role));
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
done:
	wbs__project_rows_free(rows, n);
	wbs__buf_free(&b);
}

/* ---- metrics ---- */

void wbs__h_metrics(wbs__req *q)
{
	wbs__metric_row *rows = NULL;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_metrics_list(q->store, &q->ref, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"metrics\":[");
	for (size_t i = 0; i < n; i++) {
		const wbs__metric_row *m = &rows[i];
		if (i)
			wbs__buf_putc(&b, ',');
		wbs__buf_puts(&b, "{\"key\":");
		wbs__json_cstr(&b, m->key);
		wbs__buf_puts(&b, ",\"count\":");
		wbs__json_i64(&b, (int64_t)m->count);
		wbs__buf_puts(&b, ",\"first_step\":");
		wbs__json_i64(&b, m->first_step);
		wbs__buf_puts(&b, ",\"last_step\":");
		wbs__json_i64(&b, m->last_step);
		wbs__buf_puts(&b, ",\"min\":");
		wbs__json_num(&b, m->min);
		wbs__buf_puts(&b, ",\"max\":");
		wbs__json_num(&b, m->max);
		wbs__buf_puts(&b, ",\"mean\":");
		wbs__json_num(&b, m->mean);
		wbs__buf_puts(&b, ",\"last\":");
		wbs__json_num(&b, m->last);
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
done:
	wbs__metric_rows_free(rows, n);
	wbs__buf_free(&b);
}

/* The key query parameter: 1..255 bytes, no control characters. 1 ok, 0 absent, -1 error sent. */
int wbs__key_param(wbs__req *q, char *key, size_t cap, int required)
{
	size_t n;
	int r = wbs__query_param(q, "key", 0, key, cap);

	if (r < 0)
		return -1;
	if (r == 0) {
		if (!required)
			return 0;
		wbs__send_error(q, 400, "invalid_argument", "query parameter key is required");
		return -1;
	}
	n = strlen(key);
	if (n == 0 || n > WB__KEY_MAX || !wbs__text_valid(key, n, 0)) {
		wbs__send_error(q, 400, "invalid_argument", "key must be 1 to 255 bytes without control characters");
		return -1;
	}
	return 1;
}

int wbs__range_params(wbs__req *q, int64_t *start, int64_t *end, uint32_t *nbuckets)
{
	char val[64];
	int64_t nb = 1000;
	int r;

	*start = INT64_MIN;
	*end = INT64_MAX;
	if ((r = wbs__query_param(q, "buckets", 0, val, sizeof(val))) < 0)
		return -1;
	if (r && wbs__parse_i64(val, 1, 10000, &nb)) {
		wbs__send_error(q, 400, "invalid_argument", "buckets must be an integer from 1 to 10000");
		return -1;
	}
	if ((r = wbs__query_param(q, "start", 0, val, sizeof(val))) < 0)
		return -1;
	if (r && wbs__parse_i64(val, INT64_MIN, INT64_MAX, start)) {
		wbs__send_error(q, 400, "invalid_argument", "start must be an integer step");
		return -1;
	}
	if ((r = wbs__query_param(q, "end", 0, val, sizeof(val))) < 0)
		return -1;
	if (r && wbs__parse_i64(val, INT64_MIN, INT64_MAX, end)) {
		wbs__send_error(q, 400, "invalid_argument", "end must be an integer step");
		return -1;
	}
	if (*start > *end) {
		wbs__send_error(q, 400, "invalid_argument", "start must not be after end");
		return -1;
	}
	*nbuckets = (uint32_t)nb;
	return 0;
}

int wbs__series_params(wbs__req *q, char *key, size_t cap, int64_t *start, int64_t *end, uint32_t *nbuckets)
{
	if (wbs__key_param(q, key, cap, 1) < 0 || wbs__range_params(q, start, end, nbuckets) < 0)
		return -1;
	return 0;
}

void wbs__json_array(wbs__buf *b, const void *rows, size_t n, size_t size, wbs__row_json_fn fn)
{
	wbs__buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			wbs__buf_putc(b, ',');
		fn(b, (const char *)rows + i * size);
	}
	wbs__buf_putc(b, ']');
}

void wbs__json_cols_end(wbs__buf *b, const wbs__json_col *cols, size_t n, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		wbs__buf_printf(b, ",\"%s\":", cols[i].name);
		if (cols[i].type == WBS__COL_I64)
			wbs__json_i64s(b, cols[i].v, len);
		else if (cols[i].type == WBS__COL_U32)
			wbs__json_u32s(b, cols[i].v, len);
		else
			wbs__json_nums(b, cols[i].v, len);
	}
	wbs__buf_putc(b, '}');
}

void wbs__h_history(wbs__req *q)
{
	char key[WBS__KEY_PARAM_MAX];
	int64_t start, end;
	uint32_t nb;
	wbs__history h;
	wbs__err e = {0};
	wbs__buf b;

	memset(&h, 0, sizeof(h));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__series_params(q, key, sizeof(key), &start, &end, &nb) < 0)
		goto done;
	if (wbs__store_history(q->store, &q->ref, key, start, end, nb, &h, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	{
		const wbs__json_col cols[] = {{"step", WBS__COL_I64, h.step}, {"min", WBS__COL_NUM, h.min},
					      {"max", WBS__COL_NUM, h.max},   {"last", WBS__COL_NUM, h.last},
					      {"count", WBS__COL_U32, h.count}};
		wbs__buf_puts(&b, "{\"key\":");
		wbs__json_cstr(&b, key);
		wbs__buf_puts(&b, ",\"total\":");
		wbs__json_i64(&b, (int64_t)h.total);
		wbs__buf_puts(&b, h.downsampled ? ",\"downsampled\":true" : ",\"downsampled\":false");
		wbs__json_cols_end(&b, cols, sizeof(cols) / sizeof(cols[0]), h.len);
	}
	wbs__send_json(q, 200, &b);
done:
	wbs__history_free(&h);
	wbs__buf_free(&b);
}

/* ---- export (streamed) ---- */

typedef struct stream {
	wbs__req *q;
	wbs__buf b;
	int started, failed;
} stream;

static void stream_begin(stream *s, const char *type)
{
	s->q->status = 200;
	mg_response_header_start(s->q->conn, 200);
	mg_response_header_add(s->q->conn, "Content-Type", type, -1);
	mg_response_header_add(s->q->conn, "Transfer-Encoding", "chunked", -1);
	mg_response_header_add(s->q->conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(s->q->conn, "X-Request-Id", s->q->id, -1);
	mg_response_header_send(s->q->conn);
	s->started = 1;
}

/* Send what is buffered if it is more than min bytes. */
static void stream_flush(stream *s, size_t min)
{
	if (s->failed || s->b.len <= min)
		return;
	if (s->b.err || mg_send_chunk(s->q->conn, s->b.p, (unsigned)s->b.len) < 0)
		s->failed = 1;
	wbs__buf_reset(&s->b);
}

static void stream_end(stream *s)
{
	stream_flush(s, 0);
	if (!s->failed)
		mg_send_chunk(s->q->conn, "", 0);
}

enum { COL_STEP, COL_VALUE, COL_BITS };

/* One JSON array of a series' column, streamed chunk by chunk. 0 or -1. */
static int stream_column(stream *s, wbs__series_it *it, int col, wbs__err *e)
{
	const int64_t *st;
	const double *va;
	uint32_t n;
	int first = 1, r;

	wbs__series_it_rewind(it);
	wbs__buf_putc(&s->b, '[');
	while ((r = wbs__series_it_next(it, &st, &va, &n, e)) == 1) {
		for (uint32_t i = 0; i < n; i++) {
			if (!first)
				wbs__buf_putc(&s->b, ',');
			first = 0;
			if (col == COL_STEP) {
				wbs__json_i64(&s->b, st[i]);
			} else if (col == COL_VALUE) {
				wbs__json_num17(&s->b, va[i]);
			} else {
				char hex[24];
				snprintf(hex, sizeof(hex), "\"%016llx\"", (unsigned long long)wb__f64_bits(va[i]));
				wbs__buf_puts(&s->b, hex);
			}
		}
		stream_flush(s, STREAM_FLUSH);
		if (s->failed)
			return -1;
	}
	wbs__buf_putc(&s->b, ']');
	return r < 0 ? -1 : 0;
}

/* Append a CSV field, quoted if it needs to be. */
static void csv_field(wbs__buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		wbs__buf_puts(b, s);
		return;
	}
	wbs__buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			wbs__buf_putc(b, '"');
		wbs__buf_putc(b, *s);
	}
	wbs__buf_putc(b, '"');
}

static int stream_csv(stream *s, wbs__series_it *it, const char *key, wbs__err *e)
{
	const int64_t *st;
	const double *va;
	uint32_t n;
	int r;

	while ((r = wbs__series_it_next(it, &st, &va, &n, e)) == 1) {
		for (uint32_t i = 0; i < n; i++) {
			char num[32];
			if (key) {
				csv_field(&s->b, key);
				wbs__buf_putc(&s->b, ',');
			}
			wbs__json_i64(&s->b, st[i]);
			wbs__buf_putc(&s->b, ',');
			wbs__fmt_double17(num, va[i]);
			wbs__buf_puts(&s->b, num);
			wbs__buf_putc(&s->b, '\n');
		}
		stream_flush(s, STREAM_FLUSH);
		if (s->failed)
			return -1;
	}
	return r < 0 ? -1 : 0;
}

static int stream_json_series(stream *s, wbs__series_it *it, const char *key, int bits, wbs__err *e)
{
	wbs__buf_puts(&s->b, "{\"key\":");
	wbs__json_cstr(&s->b, key);
	wbs__buf_puts(&s->b, ",\"step\":");
	if (stream_column(s, it, COL_STEP, e))
		return -1;
	wbs__buf_puts(&s->b, ",\"value\":");
	if (stream_column(s, it, COL_VALUE, e))
		return -1;
	if (bits) {
		wbs__buf_puts(&s->b, ",\"bits\":");
		if (stream_column(s, it, COL_BITS, e))
			return -1;
	}
	wbs__buf_putc(&s->b, '}');
	return 0;
}

void wbs__h_export(wbs__req *q)
{
	char key[WBS__KEY_PARAM_MAX], fmt[16], bits_s[8];
	wbs__metric_row *rows = NULL;
	size_t nrows = 0;
	wbs__series_it *it = NULL;
	wbs__err e = {0};
	stream s;
	int have_key, csv = 0, bits = 0, r;

	memset(&s, 0, sizeof(s));
	s.q = q;
	wbs__buf_init(&s.b, 4 * STREAM_FLUSH);
	if ((have_key = wbs__key_param(q, key, sizeof(key), 0)) < 0)
		goto done;
	if ((r = wbs__query_param(q, "format", 0, fmt, sizeof(fmt))) < 0)
		goto done;
	if (r && strcmp(fmt, "csv") == 0)
		csv = 1;
	else if (r && strcmp(fmt, "json") != 0) {
		wbs__send_error(q, 400, "invalid_argument", "format must be json or csv");
		goto done;
	}
	if ((r = wbs__query_param(q, "bits", 0, bits_s, sizeof(bits_s))) < 0)
		goto done;
	if (r) {
		if (strcmp(bits_s, "1") != 0 && strcmp(bits_s, "0") != 0 && strcmp(bits_s, "true") != 0 &&
		    strcmp(bits_s, "false") != 0) {
			wbs__send_error(q, 400, "invalid_argument", "bits must be 0 or 1");
			goto done;
		}
		bits = strcmp(bits_s, "1") == 0 || strcmp(bits_s, "true") == 0;
	}

	if (have_key) {
		if (wbs__store_series_open(q->store, &q->ref, key, &it, &e)) {
			wbs__send_store_error(q, &e);
			goto done;
		}
		stream_begin(&s, csv ? "text/csv; charset=utf-8" : "application/json");
		if (csv) {
			wbs__buf_puts(&s.b, "step,value\n");
			r = stream_csv(&s, it, NULL, &e);
		} else {
			r = stream_json_series(&s, it, key, bits, &e);
		}
		if (r)
			goto fail_stream;
		stream_end(&s);
		goto done;
	}

	if (wbs__store_metrics_list(q->store, &q->ref, &rows, &nrows, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	stream_begin(&s, csv ? "text/csv; charset=utf-8" : "application/json");
	wbs__buf_puts(&s.b, csv ? "key,step,value\n" : "{\"metrics\":[");
	for (size_t i = 0; i < nrows; i++) {
		if (wbs__store_series_open(q->store, &q->ref, rows[i].key, &it, &e))
			goto fail_stream;
		if (!csv && i)
			wbs__buf_putc(&s.b, ',');
		r = csv ? stream_csv(&s, it, rows[i].key, &e) : stream_json_series(&s, it, rows[i].key, bits, &e);
		wbs__series_it_close(it);
		it = NULL;
		if (r)
			goto fail_stream;
	}
	if (!csv)
		wbs__buf_puts(&s.b, "]}");
	stream_end(&s);
	goto done;
fail_stream:
	/* Headers are out: all we can do is cut the stream short and log why. */
	{
		char qe[600];
		wbs__log(WBS__LOG_ERROR, "export stream failed", "req=%s error=%s", q->id,
			 wbs__log_quote(qe, sizeof(qe), s.failed ? "client went away" : e.msg));
	}
	s.failed = 1;
done:
	wbs__series_it_close(it);
	wbs__metric_rows_free(rows, nrows);
	wbs__buf_free(&s.b);
}
