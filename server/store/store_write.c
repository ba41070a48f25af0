/*
 * store_write.c — what the writer thread does with each job (see store.c
 * for the transaction around it). Runs on the writer thread only, so it
 * may use the writer's statements and scratch buffers freely.
 *
 * Appending points to a series: the last chunk of the key is read back if
 * it is not full, decoded into the scratch arrays, the new points appended,
 * and the chunk re-encoded and written over its row; when a chunk reaches
 * WB__TSZ_CHUNK_POINTS a new one starts. So per key and job there is one
 * aggregate read, one tail read, one aggregate write and one chunk write
 * per 2048 points, however many points the job carries.
 *
 * JSON columns (config, summary_explicit, metric_defs, metadata) are
 * loaded at most once per job, changed in memory by the job's records in
 * log order, and written back once at the end.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/summary.h"
#include "store/store_notify.h"
#include "store/store_artifact.h"
#include "store/store_sweep.h"
#include "util/buf.h"
#include "util/log.h"
#include "wb.h"
#include "wire.h"
#include "wire_media.h"

#define SUMMARY_MAX (16u * 1024u * 1024u)
#define DEFS_JSON_MAX (1024u * 1024u)

static const char *const writer_sql[WS__COUNT] = {
	[WS_PROJECT_UPSERT] = "INSERT INTO projects (entity, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?3) "
			      "ON CONFLICT (entity, name) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
	[WS_RUN_FIND] = "SELECT r.id, r.state, r.last_seq, r.last_step, r.project_id FROM runs r "
			"JOIN projects p ON p.id = r.project_id WHERE p.entity = ?1 AND p.name = ?2 AND r.run_id = ?3",
	[WS_RUN_INSERT] = "INSERT INTO runs (project_id, run_id, name, state, created_at, updated_at, heartbeat_at, "
			  "user_id) VALUES (?1, ?2, ?2, 'running', ?3, ?3, ?3, ?4) RETURNING id",
	[WS_RUN_RESUME] = "UPDATE runs SET state = 'running', exit_code = NULL, finished_at = NULL, heartbeat_at = ?2, "
			  "updated_at = ?2 WHERE id = ?1",
	[WS_RUN_FIELDS] = "UPDATE runs SET name = CASE WHEN ?2 THEN ?3 ELSE name END, "
			  "grp = CASE WHEN ?4 THEN ?5 ELSE grp END, job_type = CASE WHEN ?6 THEN ?7 ELSE job_type END, "
			  "notes = CASE WHEN ?8 THEN ?9 ELSE notes END, tags = CASE WHEN ?10 THEN ?11 ELSE tags END, "
			  "created_at = CASE WHEN ?12 THEN ?13 ELSE created_at END, updated_at = ?14 WHERE id = ?1",
	[WS_RUN_GET_JSON] = "SELECT config, summary_explicit, metric_defs, metadata FROM runs WHERE id = ?1",
	[WS_RUN_SET_JSON] = "UPDATE runs SET config = coalesce(?2, config), "
			    "summary_explicit = coalesce(?3, summary_explicit), metric_defs = coalesce(?4, metric_defs), "
			    "metadata = coalesce(?5, metadata), summary = coalesce(?6, summary) WHERE id = ?1",
	[WS_RUN_TOUCH] = "UPDATE runs SET heartbeat_at = ?2, updated_at = ?2, "
			 "state = CASE WHEN state = 'crashed' THEN 'running' ELSE state END WHERE id = ?1 RETURNING state",
	[WS_RUN_FINISH] = "UPDATE runs SET state = ?2, exit_code = ?3, finished_at = ?4, updated_at = ?5, "
			  "heartbeat_at = coalesce(?6, heartbeat_at) WHERE id = ?1",
	[WS_RUN_PROGRESS] = "UPDATE runs SET last_seq = ?2, last_step = coalesce(?3, last_step) WHERE id = ?1",
	[WS_PROJECT_TOUCH] = "UPDATE projects SET updated_at = ?2 WHERE id = ?1",
	[WS_KEY_GET] = "SELECT id, count, first_step, last_step, vmin, vmax, vsum, nvalid FROM metric_keys "
		       "WHERE run_id = ?1 AND key = ?2",
	[WS_KEY_INSERT] = "INSERT INTO metric_keys (run_id, key) VALUES (?1, ?2)",
	[WS_KEY_UPDATE] = "UPDATE metric_keys SET count = ?2, first_step = ?3, last_step = ?4, vmin = ?5, vmax = ?6, "
			  "vsum = ?7, nvalid = ?8, last_bits = ?9 WHERE id = ?1",
	[WS_TAIL_GET] = "SELECT chunk_no, n, data FROM chunks WHERE key_id = ?1 ORDER BY chunk_no DESC LIMIT 1",
	[WS_CHUNK_PUT] = "INSERT INTO chunks (key_id, chunk_no, step_min, step_max, n, vmin, vmax, vlast_bits, data) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (key_id, chunk_no) DO UPDATE SET "
			 "step_min = excluded.step_min, step_max = excluded.step_max, n = excluded.n, "
			 "vmin = excluded.vmin, vmax = excluded.vmax, vlast_bits = excluded.vlast_bits, "
			 "data = excluded.data",
	[WS_STATS] = "SELECT key, count, nvalid, vmin, vmax, vsum, last_bits FROM metric_keys "
		     "WHERE run_id = ?1 AND substr(key, 1, 1) <> '_' AND substr(key, 1, 7) <> 'system/' ORDER BY key",
	[WS_SWEEP] = "UPDATE runs SET state = 'crashed', updated_at = ?1 WHERE state = 'running' AND heartbeat_at < ?2",
	[WS_USER_UPSERT] = "INSERT INTO users (name, created_at) VALUES (?1, ?2) "
			   "ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
	[WS_APIKEY_INSERT] = "INSERT INTO api_keys (user_id, hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4)",
	[WS_CODE_CLEAR] = "DELETE FROM code_patches WHERE run_id = ?1",
	[WS_PATCH_SIZE] = "SELECT coalesce(sum(length(data)), 0) FROM code_patches WHERE run_id = ?1 AND name = ?2",
	[WS_PATCH_PUT] = "INSERT INTO code_patches (run_id, name, data) VALUES (?1, ?2, ?3)",
};

int wbs__writer_prepare(wbs__store *s, wbs__err *err)
{
	for (int i = 0; i < WS__COUNT; i++) {
		int rc = sqlite3_prepare_v3(s->wdb, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->ws[i], NULL);
		if (rc != SQLITE_OK)
			return wbs__store_sqlerr(err, s->wdb, rc, "prepare writer statement");
	}
	return WBS__ST_OK;
}

/* The writer statement which, reset with its bindings cleared. */
static sqlite3_stmt *W(wbs__store *s, int which)
{
	sqlite3_reset(s->ws[which]);
	sqlite3_clear_bindings(s->ws[which]);
	return s->ws[which];
}

/* Step a statement that returns no row (or whose rows are ignored). */
static int step_done(wbs__store *s, sqlite3_stmt *st, wbs__err *err, const char *what)
{
	int ret = wbs__sql_exec(s->wdb, st, what, err);
	sqlite3_reset(st);
	return ret;
}

/* ---- the run being changed by a job ---- */

typedef struct runctx {
	int64_t id, project_id;
	char state[16];
	uint64_t last_seq;
	int has_step;
	int64_t last_step;
	int loaded;
	cJSON *config, *expl, *defs, *metadata;
	int config_dirty, expl_dirty, defs_dirty, meta_dirty, summary_dirty;
	int bad; /* the wbs__st for a value that does not fit: BADARG (PUT) or BADRECORD (ingest) */
} runctx;

static void runctx_free(runctx *c)
{
	cJSON_Delete(c->config);
	cJSON_Delete(c->expl);
	cJSON_Delete(c->defs);
	cJSON_Delete(c->metadata);
}

/* Find the run named by ref. WBS__ST_NOTFOUND if it does not exist. */
static int run_find(wbs__store *s, const wbs__run_ref *ref, runctx *c, wbs__err *err)
{
	sqlite3_stmt *st = W(s, WS_RUN_FIND);
	int rc;

	sqlite3_bind_text(st, 1, ref->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ref->run_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return wbs__err_set(err, WBS__ST_NOTFOUND, "run %s/%s/%s not found", ref->entity, ref->project,
				   ref->run_id);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return wbs__store_sqlerr(err, s->wdb, rc, "find run");
	}
	c->id = sqlite3_column_int64(st, 0);
	snprintf(c->state, sizeof(c->state), "%s", (const char *)sqlite3_column_text(st, 1));
	c->last_seq = (uint64_t)sqlite3_column_int64(st, 2);
	c->has_step = sqlite3_column_type(st, 3) != SQLITE_NULL;
	c->last_step = c->has_step ? sqlite3_column_int64(st, 3) : -1;
	c->project_id = sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	return WBS__ST_OK;
}

static cJSON *parse_col(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? wbs__json_parse_stored(t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

/* Load the run's JSON columns into c (once). */
static int run_load_json(wbs__store *s, runctx *c, wbs__err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (c->loaded)
		return WBS__ST_OK;
	st = W(s, WS_RUN_GET_JSON);
	sqlite3_bind_int64(st, 1, c->id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return wbs__store_sqlerr(err, s->wdb, rc, "load run json");
	}
	c->config = parse_col(st, 0);
	c->expl = parse_col(st, 1);
	c->defs = parse_col(st, 2);
	c->metadata = parse_col(st, 3);
	sqlite3_reset(st);
	if (!cJSON_IsObject(c->config) || !cJSON_IsObject(c->expl) || !cJSON_IsArray(c->defs) ||
	    !cJSON_IsObject(c->metadata))
		return wbs__err_set(err, WBS__ST_INTERNAL, "stored json of run %lld is damaged", (long long)c->id);
	c->loaded = 1;
	return WBS__ST_OK;
}

/* Serialise j into *out if dirty (max bytes). */
static int json_col(char **out, const cJSON *j, int dirty, size_t max, const char *what, int bad, wbs__err *err)
{
	wbs__buf b;

	*out = NULL;
	if (!dirty)
		return WBS__ST_OK;
	wbs__buf_init(&b, max);
	wbs__json_tree(&b, j);
	if (b.err) {
		int nomem = b.err == WBS__BUF_NOMEM;
		wbs__buf_free(&b);
		return nomem ? wbs__err_set(err, WBS__ST_NOMEM, "out of memory")
			     : wbs__err_set(err, bad, "%s is over %zu bytes as json", what, max);
	}
	*out = wbs__buf_take(&b);
	wbs__buf_free(&b);
	return *out ? WBS__ST_OK : wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
}

/* Recompute the run's summary from its metric aggregates, defines and explicit values into *out. */
static int summary_compute(wbs__store *s, runctx *c, char **out, wbs__err *err)
{
	sqlite3_stmt *st;
	wbs__key_stats *keys = NULL;
	size_t n = 0, cap = 0;
	wbs__buf b;
	int rc, ret;

	*out = NULL;
	wbs__buf_init(&b, SUMMARY_MAX);
	if ((ret = run_load_json(s, c, err)))
		goto done;
	st = W(s, WS_STATS);
	sqlite3_bind_int64(st, 1, c->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wbs__key_stats *k;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			wbs__key_stats *p = realloc(keys, ncap * sizeof(*p));
			if (!p) {
				ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
				goto done;
			}
			keys = p;
			cap = ncap;
		}
		k = &keys[n];
		k->key = strdup((const char *)sqlite3_column_text(st, 0));
		if (!k->key) {
			ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			goto done;
		}
		n++;
		k->count = (uint64_t)sqlite3_column_int64(st, 1);
		k->nvalid = (uint64_t)sqlite3_column_int64(st, 2);
		k->min = wbs__sql_col_real(st, 3);
		k->max = wbs__sql_col_real(st, 4);
		k->sum = wbs__sql_col_real(st, 5);
		k->last = wb__bits_f64((uint64_t)sqlite3_column_int64(st, 6));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		ret = wbs__store_sqlerr(err, s->wdb, rc, "read metric aggregates");
		goto done;
	}
	wbs__summary_build(&b, keys, n, c->defs, c->expl);
	if (b.err) {
		ret = b.err == WBS__BUF_NOMEM ? wbs__err_set(err, WBS__ST_NOMEM, "out of memory")
					     : wbs__err_set(err, c->bad, "summary is over %u bytes as json", SUMMARY_MAX);
		goto done;
	}
	*out = wbs__buf_take(&b);
	ret = *out ? WBS__ST_OK : wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
done:
	for (size_t i = 0; i < n; i++)
		free((char *)keys[i].key);
	free(keys);
	wbs__buf_free(&b);
	return ret;
}

/* Write back whatever JSON the job changed, and the summary if it is stale. */
static int run_save_json(wbs__store *s, runctx *c, wbs__err *err)
{
	char *config = NULL, *expl = NULL, *defs = NULL, *meta = NULL, *summary = NULL;
	sqlite3_stmt *st;
	int ret;

	if (!c->config_dirty && !c->expl_dirty && !c->defs_dirty && !c->meta_dirty && !c->summary_dirty)
		return WBS__ST_OK;
	if ((ret = json_col(&config, c->config, c->config_dirty, WBS__JSON_FIELD_MAX, "config", c->bad, err)) ||
	    (ret = json_col(&expl, c->expl, c->expl_dirty, WBS__JSON_FIELD_MAX, "explicit summary", c->bad, err)) ||
	    (ret = json_col(&defs, c->defs, c->defs_dirty, DEFS_JSON_MAX, "metric definitions", c->bad, err)) ||
	    (ret = json_col(&meta, c->metadata, c->meta_dirty, WBS__JSON_FIELD_MAX, "metadata", c->bad, err)))
		goto done;
	if (c->summary_dirty && (ret = summary_compute(s, c, &summary, err)))
		goto done;
	st = W(s, WS_RUN_SET_JSON);
	sqlite3_bind_int64(st, 1, c->id);
	wbs__sql_bind_text(st, 2, config);
	wbs__sql_bind_text(st, 3, expl);
	wbs__sql_bind_text(st, 4, defs);
	wbs__sql_bind_text(st, 5, meta);
	wbs__sql_bind_text(st, 6, summary);
	ret = step_done(s, st, err, "save run json");
done:
	free(config);
	free(expl);
	free(defs);
	free(meta);
	free(summary);
	return ret;
}

/* Apply validated run fields (PUT body or RUN record). */
static int run_apply_fields(wbs__store *s, runctx *c, const wbs__run_fields *f, double now, wbs__err *err)
{
	sqlite3_stmt *st;
	int ret;

	if (!f || !f->set)
		return WBS__ST_OK;
	st = W(s, WS_RUN_FIELDS);
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_int(st, 2, !!(f->set & WBS__F_NAME));
	wbs__sql_bind_text(st, 3, f->name);
	sqlite3_bind_int(st, 4, !!(f->set & WBS__F_GROUP));
	wbs__sql_bind_text(st, 5, f->group);
	sqlite3_bind_int(st, 6, !!(f->set & WBS__F_JOB_TYPE));
	wbs__sql_bind_text(st, 7, f->job_type);
	sqlite3_bind_int(st, 8, !!(f->set & WBS__F_NOTES));
	sqlite3_bind_text(st, 9, f->notes ? f->notes : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, !!(f->set & WBS__F_TAGS));
	sqlite3_bind_text(st, 11, f->tags ? f->tags : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 12, !!(f->set & WBS__F_CREATED_AT));
	sqlite3_bind_double(st, 13, f->created_at);
	sqlite3_bind_double(st, 14, now);
	if ((ret = step_done(s, st, err, "set run fields")))
		return ret;
	if (f->set & WBS__F_METADATA) {
		if ((ret = run_load_json(s, c, err)))
			return ret;
		if (wbs__json_merge(c->metadata, f->metadata))
			return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		c->meta_dirty = 1;
	}
	return WBS__ST_OK;
}

/* ---- series ---- */

/* Write scratch points [0, n) as chunk chunk_no of key_id. */
static int chunk_write(wbs__store *s, int64_t key_id, int64_t chunk_no, uint32_t n, wbs__err *err)
{
	wbs__wscratch *w = s->scratch;
	wb__chunk_meta m;
	sqlite3_stmt *st;
	size_t len;

	wb__chunk_meta_of(w->steps, w->values, n, &m);
	len = wb__tsz_encode(w->steps, w->values, n, w->enc, w->enc_cap);
	if (len == 0)
		return wbs__err_set(err, WBS__ST_INTERNAL, "chunk encoding failed");
	st = W(s, WS_CHUNK_PUT);
	sqlite3_bind_int64(st, 1, key_id);
	sqlite3_bind_int64(st, 2, chunk_no);
	sqlite3_bind_int64(st, 3, m.step_min);
	sqlite3_bind_int64(st, 4, m.step_max);
	sqlite3_bind_int64(st, 5, m.n);
	wbs__sql_bind_real(st, 6, m.vmin);
	wbs__sql_bind_real(st, 7, m.vmax);
	sqlite3_bind_int64(st, 8, (int64_t)wb__f64_bits(m.vlast));
	sqlite3_bind_blob(st, 9, w->enc, (int)len, SQLITE_STATIC);
	return step_done(s, st, err, "write chunk");
}

/*
 * Append points (steps non-decreasing, and not below the series' last
 * step — the caller has checked the run's last step) to the series key of
 * run run_id, creating it if new, and update its aggregates.
 */
static int series_append(wbs__store *s, int64_t run_id, const char *key, const int64_t *steps, const double *values,
			 uint32_t n, wbs__err *err)
{
	wbs__wscratch *w = s->scratch;
	sqlite3_stmt *st;
	int64_t key_id, chunk_no = 0, first_step = 0, count = 0, nvalid = 0;
	double vmin = NAN, vmax = NAN, vsum = 0;
	uint32_t have = 0, i = 0;
	int rc, ret;

	if (n == 0)
		return WBS__ST_OK;
	st = W(s, WS_KEY_GET);
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		key_id = sqlite3_column_int64(st, 0);
		count = sqlite3_column_int64(st, 1);
		first_step = sqlite3_column_int64(st, 2);
		/* Per key, x never goes back (for METRICS the run's step rule
		 * already ensures it; SYSTEM series have only this one). */
		if (count && sqlite3_column_type(st, 3) != SQLITE_NULL && steps[0] < sqlite3_column_int64(st, 3)) {
			int64_t last = sqlite3_column_int64(st, 3);
			if (strncmp(key, WB__SYSTEM_PREFIX, 7) != 0) {
				sqlite3_reset(st);
				return wbs__err_set(err, WBS__ST_BADRECORD, "%s: step %lld is below its last %lld", key,
						   (long long)steps[0], (long long)last);
			}
			/* A system sample from before the series' end (a resumed run
			 * whose clock origin moved) is dropped, not an error: one
			 * late sample must not stop the upload of the whole run. */
			while (n && steps[0] < last) {
				steps++;
				values++;
				n--;
			}
			if (n == 0) {
				sqlite3_reset(st);
				return WBS__ST_OK;
			}
		}
		vmin = wbs__sql_col_real(st, 4);
		vmax = wbs__sql_col_real(st, 5);
		vsum = wbs__sql_col_real(st, 6);
		nvalid = sqlite3_column_int64(st, 7);
		sqlite3_reset(st);
	} else if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		st = W(s, WS_KEY_INSERT);
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		if ((ret = step_done(s, st, err, "create metric key")))
			return ret;
		key_id = sqlite3_last_insert_rowid(s->wdb);
		first_step = steps[0];
	} else {
		sqlite3_reset(st);
		return wbs__store_sqlerr(err, s->wdb, rc, "read metric key");
	}
	if (count == 0)
		first_step = steps[0];

	/* Reopen the tail chunk if it has room. */
	st = W(s, WS_TAIL_GET);
	sqlite3_bind_int64(st, 1, key_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t tn = sqlite3_column_int64(st, 1);
		chunk_no = sqlite3_column_int64(st, 0);
		if (tn < WB__TSZ_CHUNK_POINTS) {
			const uint8_t *blob = sqlite3_column_blob(st, 2);
			int64_t got = wb__tsz_decode(blob, (size_t)sqlite3_column_bytes(st, 2), w->steps, w->values,
						     WB__TSZ_CHUNK_POINTS);
			if (got != tn) {
				sqlite3_reset(st);
				return wbs__err_set(err, WBS__ST_INTERNAL, "stored chunk %lld of key %lld is damaged",
						   (long long)chunk_no, (long long)key_id);
			}
			have = (uint32_t)tn;
		} else {
			chunk_no++;
		}
	} else if (rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return wbs__store_sqlerr(err, s->wdb, rc, "read tail chunk");
	}
	sqlite3_reset(st);

	while (i < n) {
		uint32_t m = WB__TSZ_CHUNK_POINTS - have;
		if (m > n - i)
			m = n - i;
		memcpy(w->steps + have, steps + i, (size_t)m * sizeof(*steps));
		memcpy(w->values + have, values + i, (size_t)m * sizeof(*values));
		have += m;
		i += m;
		if ((ret = chunk_write(s, key_id, chunk_no, have, err)))
			return ret;
		if (have == WB__TSZ_CHUNK_POINTS) {
			chunk_no++;
			have = 0;
		}
	}

	for (i = 0; i < n; i++) {
		double v = values[i];
		if (isnan(v))
			continue;
		if (nvalid == 0 || v < vmin)
			vmin = v;
		if (nvalid == 0 || v > vmax)
			vmax = v;
		vsum = nvalid == 0 ? v : vsum + v;
		nvalid++;
	}
	st = W(s, WS_KEY_UPDATE);
	sqlite3_bind_int64(st, 1, key_id);
	sqlite3_bind_int64(st, 2, count + n);
	sqlite3_bind_int64(st, 3, first_step);
	sqlite3_bind_int64(st, 4, steps[n - 1]);
	wbs__sql_bind_real(st, 5, nvalid ? vmin : NAN);
	wbs__sql_bind_real(st, 6, nvalid ? vmax : NAN);
	wbs__sql_bind_real(st, 7, nvalid ? vsum : NAN);
	sqlite3_bind_int64(st, 8, nvalid);
	sqlite3_bind_int64(st, 9, (int64_t)wb__f64_bits(values[n - 1]));
	return step_done(s, st, err, "update metric key");
}

/* ---- jobs ---- */

static int project_upsert(wbs__store *s, const wbs__run_ref *ref, double now, int64_t *id, wbs__err *err)
{
	sqlite3_stmt *st = W(s, WS_PROJECT_UPSERT);
	int rc;

	sqlite3_bind_text(st, 1, ref->entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->project, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return wbs__store_sqlerr(err, s->wdb, rc, "create project");
	}
	*id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return WBS__ST_OK;
}

static int apply_put(wbs__store *s, wbs__job *j, runctx *c)
{
	double now = wbs__store_now(s);
	sqlite3_stmt *st;
	int ret, rc;

	c->bad = WBS__ST_BADARG;
	ret = run_find(s, j->ref, c, &j->err);
	if (ret == WBS__ST_NOTFOUND) {
		int64_t pid = 0;
		if ((ret = project_upsert(s, j->ref, now, &pid, &j->err)))
			return ret;
		st = W(s, WS_RUN_INSERT);
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_text(st, 2, j->ref->run_id, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 3, now);
		if (j->user_id > 0)
			sqlite3_bind_int64(st, 4, j->user_id);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			return wbs__store_sqlerr(&j->err, s->wdb, rc, "create run");
		}
		c->id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		c->project_id = pid;
		j->created = 1;
		memset(&j->err, 0, sizeof(j->err));
	} else if (ret != WBS__ST_OK) {
		return ret;
	} else {
		st = W(s, WS_RUN_RESUME);
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_double(st, 2, now);
		if ((ret = step_done(s, st, &j->err, "resume run")))
			return ret;
		st = W(s, WS_PROJECT_TOUCH);
		sqlite3_bind_int64(st, 1, c->project_id);
		sqlite3_bind_double(st, 2, now);
		if ((ret = step_done(s, st, &j->err, "touch project")))
			return ret;
	}
	if ((ret = run_apply_fields(s, c, j->fields, now, &j->err)))
		return ret;
	return run_save_json(s, c, &j->err);
}

/* Replace the DEFINE entry with the same key, or append it. */
static int defs_put(runctx *c, const cJSON *def, wbs__err *err)
{
	const char *key = cJSON_GetObjectItemCaseSensitive(def, "key")->valuestring;
	cJSON *d, *copy = cJSON_Duplicate(def, 1);
	int i = 0;

	if (!copy)
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	cJSON_ArrayForEach(d, c->defs)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(d, "key");
		if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0) {
			if (!cJSON_ReplaceItemInArray(c->defs, i, copy)) {
				cJSON_Delete(copy);
				return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
			}
			return WBS__ST_OK;
		}
		i++;
	}
	if (i >= (int)WBS__DEFS_MAX) {
		cJSON_Delete(copy);
		return wbs__err_set(err, WBS__ST_BADRECORD, "a run has at most %u metric definitions", WBS__DEFS_MAX);
	}
	if (!cJSON_AddItemToArray(c->defs, copy)) {
		cJSON_Delete(copy);
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	}
	return WBS__ST_OK;
}

/* Set explicit summary entries (each key replaced whole). */
static int expl_put(runctx *c, const cJSON *obj, wbs__err *err)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, obj)
	{
		cJSON *copy = cJSON_Duplicate(e, 1);
		int ok;
		if (!copy)
			return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		if (cJSON_GetObjectItemCaseSensitive(c->expl, e->string))
			ok = cJSON_ReplaceItemInObjectCaseSensitive(c->expl, e->string, copy);
		else
			ok = cJSON_AddItemToObject(c->expl, e->string, copy);
		if (!ok) {
			cJSON_Delete(copy);
			return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		}
	}
	return WBS__ST_OK;
}

/* seen_at: for a crashed run, when it was last seen alive (its heartbeat_at, kept as given when not in the
 * future: an import keeps the source's duration), or NaN to leave heartbeat_at as it is. */
static int apply_finish_state(wbs__store *s, runctx *c, int crashed, int exit_code, double at, double now,
			      double seen_at, wbs__err *err)
{
	sqlite3_stmt *st = W(s, WS_RUN_FINISH);

	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, crashed ? "crashed" : exit_code == 0 ? "finished" : "failed", -1, SQLITE_STATIC);
	if (crashed)
		sqlite3_bind_null(st, 3);
	else
		sqlite3_bind_int(st, 3, exit_code);
	if (crashed)
		sqlite3_bind_null(st, 4);
	else
		sqlite3_bind_double(st, 4, at);
	sqlite3_bind_double(st, 5, now);
	if (crashed && isfinite(seen_at))
		sqlite3_bind_double(st, 6, seen_at < now ? seen_at : now);
	else
		sqlite3_bind_null(st, 6);
	return step_done(s, st, err, "finish run");
}

static int run_touch(wbs__store *s, runctx *c, double now, wbs__err *err)
{
	sqlite3_stmt *st = W(s, WS_RUN_TOUCH);
	int rc;

	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_double(st, 2, now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return wbs__store_sqlerr(err, s->wdb, rc, "heartbeat");
	}
	snprintf(c->state, sizeof(c->state), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return WBS__ST_OK;
}

/* Append the derived _timestamp series: (step, time) for each METRICS record whose step differs from the previous one. */
static int timestamps_append(wbs__store *s, runctx *c, const wbs__batch *b, uint32_t skip, wbs__err *err)
{
	int64_t *steps = NULL;
	double *times = NULL;
	uint32_t n = 0;
	int64_t prev = c->has_step ? c->last_step : -1;
	int ret;

	if (b->nmrecs == 0)
		return WBS__ST_OK;
	steps = malloc(b->nmrecs * sizeof(*steps));
	times = malloc(b->nmrecs * sizeof(*times));
	if (!steps || !times) {
		ret = wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < b->nmrecs; i++) {
		const wbs__mrec *m = &b->mrecs[i];
		if (m->frame < skip || m->step == prev)
			continue;
		steps[n] = m->step;
		times[n] = m->time;
		n++;
		prev = m->step;
	}
	ret = series_append(s, c->id, "_timestamp", steps, times, n, err);
done:
	free(steps);
	free(times);
	return ret;
}

/* A CODE record: the capture's JSON becomes metadata.code, and the patches
 * of any earlier capture of the run are dropped (PATCH records follow). */
static int apply_code(wbs__store *s, runctx *c, const cJSON *code, wbs__err *err)
{
	cJSON *copy;
	sqlite3_stmt *st;
	int ret;

	if ((ret = run_load_json(s, c, err)))
		return ret;
	if (!(copy = cJSON_Duplicate(code, 1)))
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	cJSON_DeleteItemFromObjectCaseSensitive(c->metadata, "code");
	if (!cJSON_AddItemToObject(c->metadata, "code", copy)) {
		cJSON_Delete(copy);
		return wbs__err_set(err, WBS__ST_NOMEM, "out of memory");
	}
	c->meta_dirty = 1;
	st = W(s, WS_CODE_CLEAR);
	sqlite3_bind_int64(st, 1, c->id);
	return step_done(s, st, err, "clear code patches");
}

/* A PATCH record: one more chunk of the named patch, within WB__FRAME_MAX_PAYLOAD per patch. */
static int apply_patch(wbs__store *s, runctx *c, const wbs__jrec *r, uint64_t seq, wbs__err *err)
{
	sqlite3_stmt *st = W(s, WS_PATCH_SIZE);
	int64_t have = 0;
	int rc;

	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		have = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return wbs__store_sqlerr(err, s->wdb, rc, "size a patch");
	if ((uint64_t)have + r->len > WB__FRAME_MAX_PAYLOAD)
		return wbs__err_set(err, WBS__ST_BADRECORD, "frame seq %llu: patch %s grows past %u bytes",
				   (unsigned long long)seq, r->name, WB__FRAME_MAX_PAYLOAD);
	st = W(s, WS_PATCH_PUT);
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 3, r->data, r->len, SQLITE_STATIC);
	return step_done(s, st, err, "store a patch");
}

static int apply_ingest(wbs__store *s, wbs__job *j, runctx *c)
{
	const wbs__batch *b = j->batch;
	double now = wbs__store_now(s);
	uint64_t skip64;
	uint32_t skip;
	int64_t new_last_step = -1;
	sqlite3_stmt *st;
	int ret;

	c->bad = WBS__ST_BADRECORD;
	if ((ret = run_find(s, j->ref, c, &j->err)))
		return ret;
	j->last_seq = c->last_seq;
	if ((ret = run_touch(s, c, now, &j->err)))
		return ret;
	if (b->nframes == 0)
		return WBS__ST_OK;
	if (b->first_seq > c->last_seq + 1) {
		j->err.expected = c->last_seq + 1;
		return wbs__err_set(&j->err, WBS__ST_GAP, "first frame has seq %llu but the run expects seq %llu",
				   (unsigned long long)b->first_seq, (unsigned long long)(c->last_seq + 1));
	}
	skip64 = c->last_seq - b->first_seq + 1; /* >= 0 here; frames already applied */
	if (skip64 >= b->nframes)
		return WBS__ST_OK;
	skip = (uint32_t)skip64;

	for (size_t i = 0; i < b->nmrecs; i++) {
		if (b->mrecs[i].frame < skip)
			continue;
		if (c->has_step && b->mrecs[i].step < c->last_step)
			return wbs__err_set(&j->err, WBS__ST_BADRECORD,
					   "frame seq %llu: step %lld is below the run's last step %lld",
					   (unsigned long long)(b->first_seq + b->mrecs[i].frame),
					   (long long)b->mrecs[i].step, (long long)c->last_step);
		break;
	}

	for (size_t i = 0; i < b->njrecs; i++) {
		const wbs__jrec *r = &b->jrecs[i];
		if (r->frame < skip)
			continue;
		switch (r->type) {
		case WB__REC_RUN:
			ret = run_apply_fields(s, c, &r->fields, now, &j->err);
			break;
		case WB__REC_CONFIG:
			if (!(ret = run_load_json(s, c, &j->err))) {
				if (wbs__json_merge(c->config, r->json))
					ret = wbs__err_set(&j->err, WBS__ST_NOMEM, "out of memory");
				c->config_dirty = 1;
			}
			break;
		case WB__REC_SUMMARY:
			if (!(ret = run_load_json(s, c, &j->err)) && !(ret = expl_put(c, r->json, &j->err)))
				c->expl_dirty = c->summary_dirty = 1;
			break;
		case WB__REC_DEFINE:
			if (!(ret = run_load_json(s, c, &j->err)) && !(ret = defs_put(c, r->json, &j->err)))
				c->defs_dirty = c->summary_dirty = 1;
			break;
		case WB__REC_FINISH:
			ret = apply_finish_state(s, c, 0, r->exit_code, isnan(r->time) ? now : r->time, now, NAN, &j->err);
			break;
		case WB__REC_CODE:
			ret = apply_code(s, c, r->json, &j->err);
			break;
		case WB__REC_PATCH:
			ret = apply_patch(s, c, r, b->first_seq + r->frame, &j->err);
			break;
		case WB__REC_HISTOGRAM:
		case WB__REC_IMAGE:
		case WB__REC_TABLE:
			ret = wbs__media_apply(s, c->id, r->media, &j->err);
			break;
		case WB__REC_ALERT: /* notifications: store_notify.c */
			ret = wbs__store_alert_apply(s, c->id, r->json, now, &j->err);
			break;
		case WB__REC_ARTIFACT_USE:
			ret = wbs__art_apply_use(s, c->project_id, c->id, r->json, now, &j->err);
			break;
		default:
			ret = WBS__ST_OK;
		}
		if (ret)
			return ret;
	}

	for (size_t i = 0; i < b->nseries; i++) {
		const wbs__series *se = &b->series[i];
		uint32_t from = wbs__series_from(se, skip);
		if (from >= se->n)
			continue;
		ret = series_append(s, c->id, se->key, se->steps + from, se->values + from, se->n - from, &j->err);
		if (ret)
			return ret;
		c->summary_dirty = 1;
	}
	if ((ret = timestamps_append(s, c, b, skip, &j->err)))
		return ret;
	/* a sweep trial's points of the metric, and its judgement (store_sweep.c) */
	if (b->nseries && (ret = wbs__sweep_ingest(s, c->project_id, j->ref->run_id, b, skip, &j->should_stop, &j->err)))
		return ret;
	if (b->nmrecs && b->mrecs[b->nmrecs - 1].frame >= skip)
		new_last_step = b->mrecs[b->nmrecs - 1].step;
	if ((ret = run_save_json(s, c, &j->err)))
		return ret;

	st = W(s, WS_RUN_PROGRESS);
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_int64(st, 2, (int64_t)(b->first_seq + b->nframes - 1));
	if (new_last_step >= 0)
		sqlite3_bind_int64(st, 3, new_last_step);
	if ((ret = step_done(s, st, &j->err, "record progress")))
		return ret;
	st = W(s, WS_PROJECT_TOUCH);
	sqlite3_bind_int64(st, 1, c->project_id);
	sqlite3_bind_double(st, 2, now);
	if ((ret = step_done(s, st, &j->err, "touch project")))
		return ret;
	j->last_seq = b->first_seq + b->nframes - 1;
	j->applied = b->nframes - skip;
	return WBS__ST_OK;
}

static int apply_sweep(wbs__store *s, wbs__job *j)
{
	double now = wbs__store_now(s);
	sqlite3_stmt *st = W(s, WS_SWEEP);
	uint64_t trials = 0;
	int ret;

	sqlite3_bind_double(st, 1, now);
	sqlite3_bind_double(st, 2, now - s->opts.crash_after);
	ret = step_done(s, st, &j->err, "crash sweep");
	if (!ret)
		j->count = (uint64_t)sqlite3_changes(s->wdb);
	/* and the sweep trials whose agent stopped heartbeating (store_sweep.c) */
	if (!ret)
		ret = wbs__sweep_expire(s, now, &trials, &j->err);
	return ret;
}

static int apply_key_add(wbs__store *s, wbs__job *j)
{
	double now = wbs__store_now(s);
	sqlite3_stmt *st = W(s, WS_USER_UPSERT);
	int64_t uid;
	int rc;

	sqlite3_bind_text(st, 1, j->user, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return wbs__store_sqlerr(&j->err, s->wdb, rc, "create user");
	}
	uid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	st = W(s, WS_APIKEY_INSERT);
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_blob(st, 2, j->hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->prefix, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, now);
	return step_done(s, st, &j->err, "create api key");
}

int wbs__job_apply(wbs__store *s, wbs__job *j)
{
	runctx c;
	int ret;

	memset(&c, 0, sizeof(c));
	switch (j->kind) {
	case JOB_PUT:
		ret = apply_put(s, j, &c);
		break;
	case JOB_INGEST:
		ret = apply_ingest(s, j, &c);
		break;
	case JOB_HEARTBEAT:
		if (!(ret = run_find(s, j->ref, &c, &j->err)) && !(ret = run_touch(s, &c, wbs__store_now(s), &j->err)) &&
		    !(ret = wbs__sweep_told(s, c.project_id, j->ref->run_id, &j->should_stop, &j->err)))
			memcpy(j->state, c.state, sizeof(j->state));
		break;
	case JOB_FINISH: {
		double now = wbs__store_now(s);
		if (!(ret = run_find(s, j->ref, &c, &j->err)))
			ret = apply_finish_state(s, &c, j->crashed, j->exit_code, now, now, j->seen_at, &j->err);
		break;
	}
	case JOB_SWEEP:
		ret = apply_sweep(s, j);
		break;
	case JOB_FN:
		ret = j->fn(s, j);
		break;
	case JOB_KEY_ADD:
		ret = apply_key_add(s, j);
		break;
	case JOB_PATCH:
		c.bad = WBS__ST_BADARG;
		if (!(ret = run_find(s, j->ref, &c, &j->err)) &&
		    !(ret = run_apply_fields(s, &c, j->fields, wbs__store_now(s), &j->err)))
			ret = run_save_json(s, &c, &j->err);
		break;
	default:
		ret = wbs__err_set(&j->err, WBS__ST_INTERNAL, "unknown job");
	}
	runctx_free(&c);
	return ret;
}
