/*
 * handlers_sweep.c — the sweep routes: /api/v1/projects/{e}/{p}/sweeps...
 *
 * A sweep is created from its spec (JSON or YAML, parsed and normalised by
 * server/sweep/), driven by agents (next, heartbeat, finish) and read by
 * the UI and the CLI. The store keeps the state and hands trials out; the
 * spec's sampler chooses each new trial's parameters inside the store's
 * writer transaction (next_suggest below), so the choice sees every trial
 * issued before it and two agents never get the same trial.
 *
 * Access (the route table in server.c): a viewer of the project reads
 * sweeps and trials; an editor creates, pauses, stops and runs them (an
 * agent runs with its user's key). A trial's run is an ordinary run of the
 * same project, so whoever may write the project may also write the run
 * the server named for a trial; nothing here reaches outside the project.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dynarr.h"
#include "http/http_int.h"
#include "store/store_sweep.h"
#include "sweep/stop.h"
#include "sweep/sweep.h"
#include "util/log.h"

/* ---- JSON answers ---- */

static void trial_json(wbs__buf *b, const wbs__trial_row *t)
{
	wbs__buf_printf(b, "{\"num\":%lld,\"run_id\":", (long long)t->num);
	wbs__json_cstr(b, t->run_id);
	wbs__buf_puts(b, ",\"state\":");
	wbs__json_cstr(b, wbs__trial_state_names[t->state]);
	wbs__buf_puts(b, ",\"params\":");
	wbs__buf_puts(b, t->params); /* JSON the server wrote (the sampler's) */
	wbs__buf_puts(b, ",\"value\":");
	wbs__json_num_or_null(b, t->value);
	wbs__buf_puts(b, ",\"agent\":");
	wbs__json_cstr(b, t->agent);
	wbs__buf_puts(b, ",\"reissue_of\":");
	if (t->reissue_of >= 0)
		wbs__json_i64(b, t->reissue_of);
	else
		wbs__buf_puts(b, "null");
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num_or_null(b, t->created_at);
	wbs__buf_puts(b, ",\"started_at\":");
	wbs__json_num_or_null(b, t->started_at);
	wbs__buf_puts(b, ",\"finished_at\":");
	wbs__json_num_or_null(b, t->finished_at);
	wbs__buf_puts(b, ",\"exit_code\":");
	if (t->has_exit_code)
		wbs__json_i64(b, t->exit_code);
	else
		wbs__buf_puts(b, "null");
	wbs__buf_puts(b, ",\"run_state\":");
	wbs__json_cstr(b, t->run_state);
	if (!isnan(t->stopped_at)) { /* told to stop early: "stopped early at rung N" */
		wbs__buf_puts(b, ",\"stop_rung\":");
		if (t->stop_rung >= 0)
			wbs__json_i64(b, t->stop_rung);
		else
			wbs__buf_puts(b, "null");
		wbs__buf_puts(b, ",\"stop_iter\":");
		wbs__json_i64(b, t->stop_iter);
		wbs__buf_puts(b, ",\"stopped_at\":");
		wbs__json_num_or_null(b, t->stopped_at);
	}
	wbs__buf_putc(b, '}');
}

/*
 * The sweep's early-stopping figures, when its spec has early_terminate and
 * its curves were read (wbs__store_sweep_get): "rungs" (each bracket's
 * rungs with the trials that reached them and the cut-off) and "compute"
 * (steps run against the full budget). Recomputed from the stored curves on
 * every read, as the decisions are: nothing to keep in step.
 */
static void stop_json(wbs__buf *b, const wbs__sweep_row *r)
{
	wbs__sweep_spec *spec = NULL;
	wbs__stop_rule rule;
	wbs__stop_rung *rungs = NULL;
	wbs__stop_saved saved;
	size_t nr = 0;
	char why[256];

	if (!r->has_curves)
		return;
	if (wbs__sweep_spec_parse(r->spec, strlen(r->spec), &spec, why, sizeof(why)) ||
	    wbs__stop_rule_of(spec, &rule) == WBS__STOP_NONE)
		goto done;
	if (wbs__stop_rungs(&rule, r->curves, r->ncurves, &rungs, &nr, why, sizeof(why))) {
		wbs__log(WBS__LOG_WARN, "sweep rungs not computed", "sweep=%s error=%s", r->sweep_id, why);
		goto done;
	}
	wbs__buf_puts(b, ",\"rungs\":[");
	for (size_t i = 0; i < nr; i++) {
		wbs__buf_printf(b, "%s{\"bracket\":%d,\"rung\":%d,\"iter\":", i ? "," : "", rungs[i].bracket,
				rungs[i].rung);
		wbs__json_i64(b, rungs[i].iter);
		wbs__buf_printf(b, ",\"trials\":%zu,\"cutoff\":", rungs[i].trials);
		wbs__json_num_or_null(b, rungs[i].cutoff);
		wbs__buf_putc(b, '}');
	}
	wbs__stop_compute_saved(&rule, r->curves, r->ncurves, &saved);
	wbs__buf_printf(b, "],\"compute\":{\"steps_run\":%llu,\"steps_full\":%llu,\"saved\":",
			(unsigned long long)saved.steps_run, (unsigned long long)saved.steps_full);
	wbs__json_num_or_null(b, saved.saved);
	wbs__buf_putc(b, '}');
done:
	free(rungs);
	wbs__sweep_spec_free(spec);
}

/* The sweep object (schema/api.md, "Sweeps"); the spec only when with_spec. */
static void sweep_json(wbs__buf *b, const wbs__req *q, const wbs__sweep_row *r, int with_spec)
{
	wbs__buf_puts(b, "{\"id\":");
	wbs__json_cstr(b, r->sweep_id);
	wbs__buf_puts(b, ",\"name\":");
	wbs__json_cstr(b, r->name);
	wbs__buf_puts(b, ",\"state\":");
	wbs__json_cstr(b, r->state);
	wbs__buf_puts(b, ",\"method\":");
	wbs__json_cstr(b, r->method);
	wbs__buf_puts(b, ",\"metric\":");
	if (r->metric) {
		wbs__buf_puts(b, "{\"name\":");
		wbs__json_cstr(b, r->metric);
		wbs__buf_puts(b, ",\"goal\":");
		wbs__json_cstr(b, r->goal);
		wbs__buf_putc(b, '}');
	} else {
		wbs__buf_puts(b, "null");
	}
	wbs__buf_puts(b, ",\"url\":");
	{
		char url[512];
		snprintf(url, sizeof(url), "/%s/%s/sweeps/%s", q->ref.entity, q->ref.project, r->sweep_id);
		wbs__json_cstr(b, url);
	}
	wbs__buf_puts(b, ",\"run_cap\":");
	if (r->cap)
		wbs__json_i64(b, (int64_t)r->cap);
	else
		wbs__buf_puts(b, "null");
	wbs__buf_printf(b, ",\"lease_seconds\":%g,\"reissue\":%d,\"counts\":{\"issued\":%llu", r->lease_seconds,
			r->reissue, (unsigned long long)r->issued);
	for (int i = 0; i < WBS__TS__COUNT; i++)
		wbs__buf_printf(b, ",\"%s\":%llu", wbs__trial_state_names[i], (unsigned long long)r->counts[i]);
	wbs__buf_puts(b, "},\"best\":");
	if (r->has_best) {
		wbs__buf_printf(b, "{\"trial\":%lld,\"run_id\":", (long long)r->best_num);
		wbs__json_cstr(b, r->best_run_id);
		wbs__buf_puts(b, ",\"value\":");
		wbs__json_num_or_null(b, r->best_value);
		wbs__buf_puts(b, ",\"params\":");
		wbs__buf_puts(b, r->best_params);
		wbs__buf_putc(b, '}');
	} else {
		wbs__buf_puts(b, "null");
	}
	if (with_spec) {
		wbs__buf_puts(b, ",\"spec\":");
		wbs__buf_puts(b, r->spec); /* normalised JSON the server wrote */
	}
	stop_json(b, r);
	wbs__buf_puts(b, ",\"created_at\":");
	wbs__json_num_or_null(b, r->created_at);
	wbs__buf_puts(b, ",\"updated_at\":");
	wbs__json_num_or_null(b, r->updated_at);
	wbs__buf_putc(b, '}');
}

/* The sweep id of the route (segment 4): [a-z0-9]{8}, else 404 sent and 0. */
static const char *sweep_id(wbs__req *q)
{
	const char *id = q->path.nseg > 4 ? q->path.seg[4] : "";
	size_t n = strlen(id);

	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
			n = 0;
	if (n != WBS__SWEEP_ID_LEN) {
		wbs__send_error(q, 404, "not_found", "sweep %s/%s/%.64s not found", q->ref.entity, q->ref.project, id);
		return NULL;
	}
	return id;
}

static void send_sweep(wbs__req *q, int status, const char *id)
{
	wbs__sweep_row r;
	wbs__err e = {0};
	wbs__buf b;
	int st;

	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	st = wbs__store_sweep_get(q->store, q->ref.entity, q->ref.project, id, &r, &e);
	if (st) {
		wbs__send_store_error(q, &e);
	} else {
		sweep_json(&b, q, &r, 1);
		wbs__send_json(q, status, &b);
	}
	wbs__sweep_row_free(&r);
	wbs__buf_free(&b);
}

/* ---- create and list ---- */

/* 8 characters of [a-z0-9] from getrandom(2). 0, or -1 when it fails. */
static int new_sweep_id(char out[WBS__SWEEP_ID_LEN + 1])
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t r[WBS__SWEEP_ID_LEN];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (size_t i = 0; i < sizeof(r); i++)
		out[i] = digits[r[i] % 36u];
	out[WBS__SWEEP_ID_LEN] = '\0';
	return 0;
}

static void sweep_create(wbs__req *q)
{
	const char *ct = mg_get_header(q->conn, "Content-Type");
	uint8_t *body = NULL;
	size_t len = 0;
	wbs__sweep_spec *spec = NULL;
	char *norm = NULL, why[512], id[WBS__SWEEP_ID_LEN + 1];
	wbs__err e = {0};
	int st = WBS__ST_CONFLICT;

	if (!ct || !(wbs__media_type_is(ct, "application/json") || wbs__media_type_is(ct, "application/yaml") ||
		     wbs__media_type_is(ct, "application/x-yaml") || wbs__media_type_is(ct, "text/yaml"))) {
		wbs__send_error(q, 415, "unsupported_media_type",
				"a sweep spec is application/json or application/yaml (text/yaml)");
		goto done;
	}
	if (wbs__read_body(q, 1, WBS__SWEEP_SPEC_MAX, WBS__SWEEP_SPEC_MAX, "invalid_spec", &body, &len))
		goto done;
	if (wbs__sweep_spec_parse((const char *)body, len, &spec, why, sizeof(why))) {
		wbs__send_error(q, 400, "invalid_spec", "%s", why);
		goto done;
	}
	if (!(norm = wbs__sweep_spec_json(spec))) {
		wbs__send_error(q, 500, "internal", "out of memory");
		goto done;
	}
	/* an id is 36^8 ≈ 2.8e12 wide: a clash is rare, two in a row rarer still */
	for (int tries = 0; tries < 4 && st == WBS__ST_CONFLICT; tries++) {
		wbs__sweep_new n = {.sweep_id = id,
				    .name = wbs__sweep_spec_name(spec),
				    .spec = norm,
				    .method = wbs__sweep_spec_method(spec),
				    .metric = wbs__sweep_spec_metric(spec),
				    .maximize = wbs__sweep_spec_maximize(spec),
				    .cap = wbs__sweep_spec_cap(spec),
				    .lease_seconds = wbs__sweep_spec_lease_seconds(spec),
				    .reissue = wbs__sweep_spec_reissue(spec),
				    .user_id = q->user_id};
		if (new_sweep_id(id)) {
			wbs__send_error(q, 500, "internal", "no random bytes for a sweep id");
			goto done;
		}
		st = wbs__store_sweep_create(q->store, q->ref.entity, q->ref.project, &n, &e);
	}
	if (st) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__log(WBS__LOG_INFO, "sweep created", "sweep=%s/%s/%s method=%s", q->ref.entity, q->ref.project, id,
		 wbs__sweep_spec_method(spec));
	send_sweep(q, 201, id);
done:
	free(body);
	free(norm);
	wbs__sweep_spec_free(spec);
}

void wbs__h_sweeps(wbs__req *q)
{
	wbs__sweep_row *rows = NULL;
	size_t n = 0;
	wbs__err e = {0};
	wbs__buf b;
	int st;

	if (strcmp(q->ri->request_method, "POST") == 0) {
		sweep_create(q);
		return;
	}
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	st = wbs__store_sweeps_list(q->store, q->ref.entity, q->ref.project, &rows, &n, &e);
	if (st) {
		wbs__send_store_error(q, &e);
	} else {
		wbs__buf_puts(&b, "{\"sweeps\":[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				wbs__buf_putc(&b, ',');
			sweep_json(&b, q, &rows[i], 0);
		}
		wbs__buf_puts(&b, "]}");
		wbs__send_json(q, 200, &b);
	}
	wbs__sweep_rows_free(rows, n);
	wbs__buf_free(&b);
}

/* ---- one sweep ---- */

void wbs__h_sweep_get(wbs__req *q)
{
	const char *id = sweep_id(q);

	if (id)
		send_sweep(q, 200, id);
}

void wbs__h_sweep_patch(wbs__req *q)
{
	static const char *const states[] = {"running", "paused", "stopped", "canceled"};
	const char *id = sweep_id(q), *state = NULL;
	cJSON *j = NULL;
	wbs__err e = {0};
	size_t i;

	if (!id || wbs__body_object(q, 0, &j) || wbs__str_member(q, j, "state", 16, 1, 0, &state) < 0)
		goto done;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			break;
	if (i == sizeof(states) / sizeof(states[0]) || cJSON_GetArraySize(j) != 1) {
		wbs__send_error(q, 400, "invalid_argument",
				"a sweep's patch is {\"state\": \"running\"|\"paused\"|\"stopped\"|\"canceled\"}");
		goto done;
	}
	if (wbs__store_sweep_set_state(q->store, q->ref.entity, q->ref.project, id, state, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__log(WBS__LOG_INFO, "sweep state set", "sweep=%s/%s/%s state=%s", q->ref.entity, q->ref.project, id,
		 state);
	send_sweep(q, 200, id);
done:
	cJSON_Delete(j);
}

void wbs__h_sweep_trials(wbs__req *q)
{
	const char *id = sweep_id(q);
	wbs__sweep_row r;
	wbs__err e = {0};
	wbs__buf b;
	int64_t limit = 1000, offset = 0;
	char v[32];
	int got;

	memset(&r, 0, sizeof(r));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (!id)
		goto done;
	if ((got = wbs__query_param(q, "limit", 0, v, sizeof(v))) < 0)
		goto done;
	if (got && wbs__parse_i64(v, 1, 100000, &limit)) {
		wbs__send_error(q, 400, "invalid_argument", "limit must be 1..100000");
		goto done;
	}
	if ((got = wbs__query_param(q, "offset", 0, v, sizeof(v))) < 0)
		goto done;
	if (got && wbs__parse_i64(v, 0, INT64_MAX, &offset)) {
		wbs__send_error(q, 400, "invalid_argument", "offset must be a whole number >= 0");
		goto done;
	}
	if (wbs__store_sweep_get(q->store, q->ref.entity, q->ref.project, id, &r, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__buf_puts(&b, "{\"trials\":[");
	for (size_t i = (size_t)offset, k = 0; i < r.ntrials && k < (size_t)limit; i++, k++) {
		if (k)
			wbs__buf_putc(&b, ',');
		trial_json(&b, &r.trials[i]);
	}
	wbs__buf_printf(&b, "],\"total\":%zu}", r.ntrials);
	wbs__send_json(q, 200, &b);
done:
	wbs__sweep_row_free(&r);
	wbs__buf_free(&b);
}

/* ---- agents ---- */

struct suggest_ctx {
	const wbs__sweep_spec *spec;
	wbs__sweep_trial *buf;
	size_t cap;
};

/* The store's suggest callback (writer thread): the store's trials as the sampler sees them. */
static int next_suggest(void *ctx, const wbs__trial_row *t, size_t n, uint64_t issued, char **params, wbs__err *err)
{
	struct suggest_ctx *c = ctx;
	char why[256];
	int rc;

	if (wb__dynarr_reserve(&c->buf, &c->cap, 0, n, sizeof(*c->buf), WBS__TRIALS_MAX)) {
		wbs__err_set(err, WBS__ST_NOMEM, "out of memory for %zu trials", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		wbs__sweep_trial *s = &c->buf[i];
		s->params = t[i].params;
		s->value = t[i].value;
		switch (t[i].state) {
		case WBS__TS_PENDING:
		case WBS__TS_LEASED:
		case WBS__TS_RUNNING:
			s->state = WBS__TRIAL_RUNNING; /* the constant liar's: chosen, not known yet */
			break;
		case WBS__TS_FINISHED:
			s->state = isfinite(t[i].value) ? WBS__TRIAL_DONE : WBS__TRIAL_FAILED;
			break;
		default:
			s->state = WBS__TRIAL_FAILED;
		}
	}
	rc = wbs__sweep_suggest(c->spec, c->buf, n, issued, params, why, sizeof(why));
	if (rc < 0)
		wbs__err_set(err, WBS__ST_INTERNAL, "choosing a trial: %s", why);
	return rc;
}

/*
 * The store's early-stopping judge (writer thread, inside the ingest's
 * transaction): the sweep's rule from its stored spec, then trial which
 * judged at each new iteration its[0..nits) in turn, as if each had been
 * reported alone, up to the first stop. The spec is parsed per call: only
 * ingests of trial runs come here, and a parse is microseconds.
 */
int wbs__sweep_judge(void *ctx, const char *spec, const wbs__stop_trial *t, size_t n, size_t which,
		     const int64_t *its, size_t nits, wbs__stop_decision *out, wbs__err *err)
{
	wbs__sweep_spec *sp = NULL;
	wbs__stop_rule rule;
	char why[256];
	int ret = 0;

	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (wbs__sweep_spec_parse(spec, strlen(spec), &sp, why, sizeof(why))) {
		wbs__err_set(err, WBS__ST_INTERNAL, "stored sweep spec: %s", why);
		ret = -1;
		goto done;
	}
	if (wbs__stop_rule_of(sp, &rule) == WBS__STOP_NONE)
		goto done;
	for (size_t i = 0; i < nits && !out->stop; i++) {
		if (wbs__stop_decide(&rule, t, n, which, its[i], out, why, sizeof(why))) {
			wbs__err_set(err, WBS__ST_INTERNAL, "%s", why);
			ret = -1;
			goto done;
		}
	}
done:
	wbs__sweep_spec_free(sp);
	return ret;
}

/* The agent member of an agent's body: 1..WBS__AGENT_MAX bytes of text. NULL with the 400 sent. */
static const char *agent_of(wbs__req *q, const cJSON *j)
{
	const char *agent = NULL;

	if (wbs__str_member(q, j, "agent", WBS__AGENT_MAX, 1, 0, &agent) < 0)
		return NULL;
	if (!agent[0]) {
		wbs__send_error(q, 400, "invalid_argument", "agent must not be empty");
		return NULL;
	}
	return agent;
}

/* The command an agent runs when it was given none: the spec's, else the program alone. */
static void command_json(wbs__buf *b, const cJSON *spec)
{
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(spec, "command");
	const cJSON *prog = cJSON_GetObjectItemCaseSensitive(spec, "program");

	if (cJSON_IsArray(cmd))
		wbs__json_tree(b, cmd);
	else if (cJSON_IsString(prog))
		wbs__buf_puts(b, "[\"${env}\",\"${interpreter}\",\"${program}\"]");
	else
		wbs__buf_puts(b, "null");
	wbs__buf_puts(b, ",\"program\":");
	if (cJSON_IsString(prog))
		wbs__json_tree(b, prog);
	else
		wbs__buf_puts(b, "null");
}

void wbs__h_sweep_next(wbs__req *q)
{
	const char *id = sweep_id(q), *agent;
	wbs__sweep_row head;
	wbs__sweep_spec *spec = NULL;
	struct suggest_ctx ctx = {0};
	wbs__sweep_next nx;
	cJSON *j = NULL, *specj = NULL;
	wbs__err e = {0};
	wbs__buf b;
	char why[512];

	memset(&head, 0, sizeof(head));
	memset(&nx, 0, sizeof(nx));
	wbs__buf_init(&b, WBS__RESPONSE_MAX);
	if (!id || wbs__body_object(q, 0, &j) || !(agent = agent_of(q, j)))
		goto done;
	if (wbs__store_sweep_head(q->store, q->ref.entity, q->ref.project, id, &head, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (wbs__sweep_spec_parse(head.spec, strlen(head.spec), &spec, why, sizeof(why)) ||
	    !(specj = cJSON_Parse(head.spec))) {
		/* the server wrote it: only a spec from an older, laxer server could fail here */
		wbs__send_error(q, 500, "internal", "the stored spec of sweep %s does not parse: %s", id, why);
		goto done;
	}
	ctx.spec = spec;
	{
		wbs__sweep_next_opts o = {.agent = agent, .suggest = next_suggest, .ctx = &ctx};
		if (wbs__store_sweep_next(q->store, q->ref.entity, q->ref.project, id, &o, &nx, &e)) {
			wbs__send_store_error(q, &e);
			goto done;
		}
	}
	if (nx.kind == WBS__NEXT_TRIAL) {
		wbs__buf_printf(&b, "{\"trial\":{\"num\":%lld,\"run_id\":", (long long)nx.num);
		wbs__json_cstr(&b, nx.run_id);
		wbs__buf_puts(&b, ",\"params\":");
		wbs__buf_puts(&b, nx.params);
		wbs__buf_printf(&b, "},\"lease_seconds\":%g,\"command\":", head.lease_seconds);
		command_json(&b, specj);
		wbs__buf_putc(&b, '}');
		wbs__log(WBS__LOG_INFO, "sweep trial leased", "sweep=%s/%s/%s trial=%lld agent=%s", q->ref.entity,
			 q->ref.project, id, (long long)nx.num, agent);
	} else if (nx.kind == WBS__NEXT_WAIT) {
		wbs__buf_puts(&b, "{\"wait\":true,\"retry_seconds\":2,\"state\":");
		wbs__json_cstr(&b, nx.state);
		wbs__buf_putc(&b, '}');
	} else {
		wbs__buf_puts(&b, "{\"done\":true,\"state\":");
		wbs__json_cstr(&b, nx.state);
		wbs__buf_putc(&b, '}');
	}
	wbs__send_json(q, 200, &b);
done:
	wbs__sweep_next_free(&nx);
	free(ctx.buf);
	wbs__sweep_spec_free(spec);
	cJSON_Delete(specj);
	wbs__sweep_row_free(&head);
	cJSON_Delete(j);
	wbs__buf_free(&b);
}

/* The trial number of the route (segment 6). -1 with 404 sent. */
static int64_t trial_num(wbs__req *q)
{
	int64_t num = -1;

	if (q->path.nseg <= 6 || wbs__parse_i64(q->path.seg[6], 0, INT64_MAX, &num)) {
		wbs__send_error(q, 404, "not_found", "no such trial");
		return -1;
	}
	return num;
}

void wbs__h_trial_heartbeat(wbs__req *q)
{
	const char *id = sweep_id(q), *agent;
	int64_t num;
	cJSON *j = NULL;
	wbs__err e = {0};
	wbs__buf b;
	wbs__trial_beat beat;

	wbs__buf_init(&b, 256);
	if (!id || (num = trial_num(q)) < 0 || wbs__body_object(q, 0, &j) || !(agent = agent_of(q, j)))
		goto done;
	if (wbs__store_trial_heartbeat(q->store, q->ref.entity, q->ref.project, id, num, agent, &beat, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	if (!beat.stop) {
		wbs__buf_puts(&b, "{\"stop\":false}");
	} else if (!beat.early) {
		wbs__buf_puts(&b, "{\"stop\":true,\"reason\":\"canceled\"}");
	} else {
		wbs__buf_puts(&b, "{\"stop\":true,\"reason\":\"early\",\"rung\":");
		if (beat.rung >= 0)
			wbs__json_i64(&b, beat.rung);
		else
			wbs__buf_puts(&b, "null");
		wbs__buf_puts(&b, ",\"iter\":");
		wbs__json_i64(&b, beat.rung_iter);
		wbs__buf_printf(&b, ",\"grace_seconds\":%g}", beat.grace_seconds);
	}
	wbs__send_json(q, 200, &b);
done:
	cJSON_Delete(j);
	wbs__buf_free(&b);
}

void wbs__h_trial_finish(wbs__req *q)
{
	const char *id = sweep_id(q), *agent;
	const cJSON *code, *stopped;
	int64_t num;
	cJSON *j = NULL;
	wbs__err e = {0};
	wbs__buf b;
	char state[16];

	wbs__buf_init(&b, 256);
	if (!id || (num = trial_num(q)) < 0 || wbs__body_object(q, 0, &j) || !(agent = agent_of(q, j)))
		goto done;
	code = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
	stopped = cJSON_GetObjectItemCaseSensitive(j, "stopped");
	if (!cJSON_IsNumber(code) || code->valuedouble != (double)(int)code->valuedouble || code->valuedouble < 0 ||
	    code->valuedouble > 255) {
		wbs__send_error(q, 400, "invalid_argument", "exit_code must be a whole number 0..255");
		goto done;
	}
	if (stopped && !cJSON_IsBool(stopped)) {
		wbs__send_error(q, 400, "invalid_argument", "stopped must be true or false");
		goto done;
	}
	if (wbs__store_trial_finish(q->store, q->ref.entity, q->ref.project, id, num, agent, (int)code->valuedouble,
				    cJSON_IsTrue(stopped), state, &e)) {
		wbs__send_store_error(q, &e);
		goto done;
	}
	wbs__log(WBS__LOG_INFO, "sweep trial ended", "sweep=%s/%s/%s trial=%lld state=%s", q->ref.entity,
		 q->ref.project, id, (long long)num, state);
	wbs__buf_puts(&b, "{\"state\":");
	wbs__json_cstr(&b, state);
	wbs__buf_putc(&b, '}');
	wbs__send_json(q, 200, &b);
done:
	cJSON_Delete(j);
	wbs__buf_free(&b);
}
