/*
 * handlers_group.c — the routes of groups of runs (distributed jobs):
 *
 *   GET /api/v1/projects/{e}/{p}/groups                  the groups, newest first
 *   GET /api/v1/projects/{e}/{p}/groups/{g}              state, ranks, stragglers
 *   GET /api/v1/projects/{e}/{p}/groups/{g}/history      cross-rank aggregates of a metric
 *
 * The route's third name segment is the group (it lands in q->ref.run_id,
 * validated like every name). Semantics are in store/store_group.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "store/store_group.h"

/* The members of a group object, without its braces. */
static void put_group_fields(wbs__buf *b, const wbs__group_row *g)
{
	wbs__buf_puts(b, "\"group\":");
	wbs__json_cstr(b, g->group);
	wbs__buf_puts(b, ",\"state\":");
	wbs__json_cstr(b, g->state);
	wbs__buf_puts(b, ",\"runs\":");
	wbs__json_i64(b, (int64_t)g->runs);
	wbs__buf_puts(b, ",\"running\":");
	wbs__json_i64(b, (int64_t)g->running);
	wbs__buf_puts(b, ",\"finished\":");
	wbs__json_i64(b, (int64_t)g->finished);
	wbs__buf_puts(b, ",\"failed\":");
	wbs__json_i64(b, (int64_t)g->failed);
	wbs__buf_puts(b, ",\"crashed\":");
	wbs__json_i64(b, (int64_t)g->crashed);
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num_or_null(b, g->created_at);
	wbs__buf_puts(b, ",\"updated_at\":");
	wbs__json_num_or_null(b, g->updated_at);
}

void wbs__h_groups_list(wbs__req *q)
{
	wbs__group_row *rows = NULL;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_groups_list(q->store, q->ref.entity, q->ref.project, &rows, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"groups\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			wbs__buf_putc(&b, ',');
		wbs__buf_putc(&b, '{');
		put_group_fields(&b, &rows[i]);
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "]}");
	wbs__send_json(q, 200, &b);
done:
	wbs__group_rows_free(rows, n);
	wbs__buf_free(&b);
}

void wbs__h_group_get(wbs__req *q)
{
	wbs__group_row g;
	wbs__group_member *m = NULL;
	size_t n = 0, slowest = 0;
	wbs__err e = {0};
	wbs__buf b;
	int have_slowest = 0;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_group_get(q->store, q->ref.entity, q->ref.project, q->ref.run_id, &g, &m, &n, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	/* the straggler: the rank furthest behind (smallest last step, then oldest last-step time) */
	for (size_t i = 0; i < n; i++) {
		if (isnan(m[i].last_step_time))
			continue;
		if (!have_slowest || m[i].last_step < m[slowest].last_step ||
		    (m[i].last_step == m[slowest].last_step && m[i].last_step_time < m[slowest].last_step_time)) {
			slowest = i;
			have_slowest = 1;
		}
	}
	wbs__buf_putc(&b, '{');
	put_group_fields(&b, &g);
	wbs__buf_puts(&b, ",\"ranks\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			wbs__buf_putc(&b, ',');
		wbs__buf_puts(&b, "{\"id\":");
		wbs__json_cstr(&b, m[i].run_id);
		wbs__buf_puts(&b, ",\"name\":");
		wbs__json_cstr(&b, m[i].name);
		wbs__buf_puts(&b, ",\"rank\":");
		if (m[i].rank < 0)
			wbs__buf_puts(&b, "null");
		else
			wbs__json_i64(&b, m[i].rank);
		wbs__buf_puts(&b, ",\"host\":");
		wbs__json_cstr(&b, m[i].host);
		wbs__buf_puts(&b, ",\"state\":");
		wbs__json_cstr(&b, m[i].state);
		wbs__buf_puts(&b, ",\"last_step\":");
		if (m[i].last_step < 0)
			wbs__buf_puts(&b, "null");
		else
			wbs__json_i64(&b, m[i].last_step);
		wbs__buf_puts(&b, ",\"last_step_time\":");
		wbs__json_num_or_null(&b, m[i].last_step_time);
		wbs__buf_puts(&b, ",\"step_rate\":");
		wbs__json_num_or_null(&b, m[i].step_rate);
		wbs__buf_puts(&b, ",\"heartbeat_at\":");
		wbs__json_num_or_null(&b, m[i].heartbeat_at);
		wbs__buf_puts(&b, ",\"url\":");
		wbs__buf_printf(&b, "\"/%s/%s/runs/%s\"", q->ref.entity, q->ref.project, m[i].run_id);
		wbs__buf_putc(&b, '}');
	}
	wbs__buf_puts(&b, "],\"straggler\":");
	if (have_slowest)
		wbs__json_cstr(&b, m[slowest].run_id);
	else
		wbs__buf_puts(&b, "null");
	wbs__buf_printf(&b, ",\"url\":\"/%s/%s/groups/%s\"}", q->ref.entity, q->ref.project, q->ref.run_id);
	wbs__send_json(q, 200, &b);
	free(g.group);
done:
	wbs__group_members_free(m, n);
	wbs__buf_free(&b);
}

void wbs__h_group_history(wbs__req *q)
{
	char key[WBS__KEY_PARAM_MAX];
	int64_t start, end;
	uint32_t nb;
	wbs__group_history h;
	wbs__err e = {0};
	wbs__buf b;

	memset(&h, 0, sizeof(h));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__series_params(q, key, sizeof(key), &start, &end, &nb) < 0)
		goto done;
	if (wbs__store_group_history(q->store, q->ref.entity, q->ref.project, q->ref.run_id, key, start, end, nb,
				     &h, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	{
		const wbs__json_col cols[] = {{"step", WBS__COL_I64, h.step}, {"mean", WBS__COL_NUM, h.mean},
					      {"std", WBS__COL_NUM, h.std},   {"min", WBS__COL_NUM, h.min},
					      {"max", WBS__COL_NUM, h.max},   {"count", WBS__COL_U32, h.count}};
		wbs__buf_puts(&b, "{\"group\":");
		wbs__json_cstr(&b, q->ref.run_id);
		wbs__buf_puts(&b, ",\"key\":");
		wbs__json_cstr(&b, key);
		wbs__buf_puts(&b, ",\"ranks\":");
		wbs__json_i64(&b, h.ranks);
		wbs__buf_puts(&b, h.downsampled ? ",\"downsampled\":true" : ",\"downsampled\":false");
		wbs__json_cols_end(&b, cols, sizeof(cols) / sizeof(cols[0]), h.len);
	}
	wbs__send_json(q, 200, &b);
done:
	wbs__group_history_free(&h);
	wbs__buf_free(&b);
}
