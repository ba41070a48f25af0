/*
 * handlers_ops.c — retention routes (schema/api.md):
 *
 *   DELETE /api/v1/projects/{entity}/{project}/runs/{run}   a run and its series
 *   DELETE /api/v1/projects/{entity}/{project}              a project and all its runs
 *
 * Both answer 200 {"deleted": ...} once the delete is durable, or 404.
 * The space is reused by new data; `wb vacuum` gives it back to the file
 * system.
 */
#include "http_int.h"

#include "store/store_ops.h"

void wbs__h_run_delete(wbs__req *q)
{
	wbs__err e = {0};
	wbs__buf b;

	if (wbs__store_run_delete(q->store, &q->ref, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, 4096);
	wbs__buf_puts(&b, "{\"deleted\":{\"entity\":");
	wbs__json_cstr(&b, q->ref.entity);
	wbs__buf_puts(&b, ",\"project\":");
	wbs__json_cstr(&b, q->ref.project);
	wbs__buf_puts(&b, ",\"run_id\":");
	wbs__json_cstr(&b, q->ref.run_id);
	wbs__buf_puts(&b, "}}");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}

void wbs__h_project_delete(wbs__req *q)
{
	wbs__err e = {0};
	wbs__buf b;

	if (wbs__store_project_delete(q->store, q->ref.entity, q->ref.project, &e)) {
		wbs__send_store_error(q, &e);
		return;
	}
	wbs__buf_init(&b, 4096);
	wbs__buf_puts(&b, "{\"deleted\":{\"entity\":");
	wbs__json_cstr(&b, q->ref.entity);
	wbs__buf_puts(&b, ",\"project\":");
	wbs__json_cstr(&b, q->ref.project);
	wbs__buf_puts(&b, "}}");
	wbs__send_json(q, 200, &b);
	wbs__buf_free(&b);
}
