/*
 * handlers_report.c — the /api/v1 routes of reports (versioned markdown
 * pages with live panels):
 *
 *   GET|POST /projects/{e}/{p}/reports; GET|PUT|DELETE .../reports/{id};
 *   GET .../reports/{id}/versions[/{n}]
 *
 * As for every route, the route table declares the access each needs and
 * server.c checks it before the handler runs.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TITLE_MAX 256u /* bytes of a report title */

/* ---- reports ---- */

static int report_id(wbs__req *q, int64_t *id)
{
	if (wbs__parse_i64(q->path.seg[4], 1, INT64_MAX, id)) {
		wbs__send_error(q, 404, "not_found", "no report %s", q->path.seg[4]);
		return -1;
	}
	return 0;
}

static void send_report(wbs__req *q, int status, int64_t id, int64_t version)
{
	wbs__acct_rows t = {0};
	wbs__buf b;
	wbs__err e = {0};
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_report_get(q->store, q->ref.entity, q->ref.project, id, version, &t, &e)) {
		wbs__send_store_error(q, &e);
	} else {
		wbs__acct_object_json(&b, &t);
		wbs__send_json(q, status, &b);
	}
	wbs__buf_free(&b);
	wbs__acct_rows_free(&t);
}

/* The title and body members of a report: 0, or -1 with the 400 sent. */
static int report_members(wbs__req *q, const cJSON *j, const char **title, const char **body)
{
	if (wbs__str_member(q, j, "title", TITLE_MAX, 1, 0, title) < 0 ||
	    wbs__str_member(q, j, "body", WBS__JSON_BODY_MAX, 1, 1, body) < 0)
		return -1;
	if (!**title) {
		wbs__send_error(q, 400, "invalid_argument", "title must not be empty");
		return -1;
	}
	return 0;
}

void wbs__h_reports_list(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	wbs__send_list(q, "reports", wbs__store_reports_list(q->store, q->ref.entity, q->ref.project, &rows, &e), &rows, &e);
	wbs__acct_rows_free(&rows);
}

void wbs__h_report_create(wbs__req *q)
{
	cJSON *j = NULL;
	const char *title, *body;
	int64_t id = 0;
	wbs__err e = {0};

	if (wbs__body_object(q, 0, &j) || report_members(q, j, &title, &body))
		goto done;
	/* A report may be the first thing in a project (write access to the entity lets one create it). */
	if ((!q->acc.project_exists && wbs__store_project_upsert(q->store, q->ref.entity, q->ref.project, NULL, &e)) ||
	    wbs__store_report_create(q->store, q->ref.entity, q->ref.project, q->user_id, title, body, &id, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	send_report(q, 201, id, 0);
done:
	cJSON_Delete(j);
}

void wbs__h_report_get(wbs__req *q)
{
	int64_t id, version = 0;
	char v[32];
	int r;

	if (report_id(q, &id))
		return;
	if ((r = wbs__query_param(q, "version", 0, v, sizeof(v))) < 0)
		return;
	if (r && wbs__parse_i64(v, 1, INT64_MAX, &version)) {
		wbs__send_error(q, 400, "invalid_argument", "version must be a positive integer");
		return;
	}
	send_report(q, 200, id, version);
}

void wbs__h_report_put(wbs__req *q)
{
	cJSON *j = NULL;
	const cJSON *base;
	const char *title, *body;
	int64_t id, version = 0, basev = -1;
	wbs__err e = {0};

	if (report_id(q, &id) || wbs__body_object(q, 0, &j) || report_members(q, j, &title, &body))
		goto done;
	base = cJSON_GetObjectItemCaseSensitive(j, "base_version");
	if (base) {
		if (!cJSON_IsNumber(base) || base->valuedouble < 1 || base->valuedouble > 9e15 ||
		    base->valuedouble != (double)(int64_t)base->valuedouble) {
			wbs__send_error(q, 400, "invalid_argument", "base_version must be a positive integer");
			goto done;
		}
		basev = (int64_t)base->valuedouble;
	}
	if (wbs__store_report_update(q->store, q->ref.entity, q->ref.project, id, q->user_id, title, body, basev,
				     &version, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	send_report(q, 200, id, version);
done:
	cJSON_Delete(j);
}

void wbs__h_report_delete(wbs__req *q)
{
	int64_t id;
	wbs__err e = {0};
	if (report_id(q, &id))
		return;
	if (wbs__store_report_delete(q->store, q->ref.entity, q->ref.project, id, &e))
		wbs__send_store_error(q, &e);
	else
		wbs__send_ok(q, 200);
}

void wbs__h_report_versions(wbs__req *q)
{
	wbs__acct_rows rows = {0};
	wbs__err e = {0};
	int64_t id;

	if (report_id(q, &id))
		return;
	wbs__send_list(q, "versions", wbs__store_report_versions(q->store, q->ref.entity, q->ref.project, id, &rows, &e),
		  &rows, &e);
	wbs__acct_rows_free(&rows);
}

void wbs__h_report_version(wbs__req *q)
{
	int64_t id, version;

	if (report_id(q, &id))
		return;
	if (wbs__parse_i64(q->path.seg[6], 1, INT64_MAX, &version)) {
		wbs__send_error(q, 404, "not_found", "no version %s", q->path.seg[6]);
		return;
	}
	send_report(q, 200, id, version);
}
