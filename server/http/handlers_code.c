/*
 * handlers_code.c — the routes of a run's code capture:
 *
 *   GET .../runs/{id}/code          the capture's JSON (metadata.code)
 *   GET .../runs/{id}/code/{name}   one patch, as a text/x-diff download
 *
 * The JSON is kept in the run's metadata, so the run page has it with the
 * run; the patches can be megabytes and are only read when asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/batch.h"
#include "model/fields.h"
#include "wire.h"

void wbs__h_code(wbs__req *q)
{
	wbs__run_row row;
	wbs__err e = {0};
	const cJSON *code;
	cJSON *meta = NULL;
	wbs__buf b;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (wbs__store_run_get(q->store, &q->ref, &row, &e)) {
		wbs__send_store_error(q, &e);
		wbs__buf_free(&b);
		return;
	}
	meta = row.metadata ? wbs__json_parse_stored(row.metadata, strlen(row.metadata)) : NULL;
	code = cJSON_GetObjectItemCaseSensitive(meta, "code");
	if (!cJSON_IsObject(code)) {
		wbs__send_error(q, 404, "not_found", "run %s has no code capture", q->ref.run_id);
	} else {
		wbs__json_tree(&b, code);
		wbs__send_json(q, 200, &b);
	}
	cJSON_Delete(meta);
	wbs__buf_free(&b);
	wbs__run_row_free(&row);
}

/* A patch name as the SDK sends them: [A-Za-z0-9._-]{1,64}, not starting with '.'. */
static int patch_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > WBS__PATCH_NAME_MAX || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

void wbs__h_code_patch(wbs__req *q)
{
	const char *name = q->path.seg[6];
	char disp[200], clen[24];
	wbs__err e = {0};
	wbs__buf b;

	if (!patch_name_ok(name)) {
		wbs__send_error(q, 400, "invalid_argument", "a patch name matches [A-Za-z0-9._-]{1,64}");
		return;
	}
	wbs__buf_init(&b, WB__FRAME_MAX_PAYLOAD + 1);
	if (wbs__store_code_patch(q->store, &q->ref, name, &b, &e)) {
		wbs__send_store_error(q, &e);
		wbs__buf_free(&b);
		return;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s-%s\"", q->ref.run_id, name);
	snprintf(clen, sizeof(clen), "%zu", b.len);
	q->status = 200;
	mg_response_header_start(q->conn, 200);
	mg_response_header_add(q->conn, "Content-Type", "text/x-diff", -1);
	mg_response_header_add(q->conn, "Content-Length", clen, -1);
	mg_response_header_add(q->conn, "Content-Disposition", disp, -1);
	mg_response_header_add(q->conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
	mg_response_header_send(q->conn);
	if (b.len && strcmp(q->ri->request_method, "HEAD") != 0)
		mg_write(q->conn, b.p, b.len);
	wbs__buf_free(&b);
}
