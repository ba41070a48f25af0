/*
 * sync.c — wb_sync: upload a run directory after the fact.
 *
 * For offline runs, runs whose wb_run_finish timed out, and runs whose trainer
 * died. The run directory says everything needed: run.json names the run
 * and its server, records.wbl holds the records, and the lock file tells
 * whether a live process still owns the run (flock is released by the
 * kernel when the process dies, however it dies).
 *
 * Steps: scan the log (read-only: a live writer may still be appending,
 * so nothing is repaired here; a torn tail is simply not sent), ask the
 * server how far it has the run (GET), and only if it lacks something
 * open the run (PUT) and send the rest with the uploader's own batch code
 * (upload.c), so a repeated sync sends nothing and leaves the run's state
 * alone. If the log has no FINISH and the lock is free, the trainer died
 * without finishing: mark the run crashed. Transient failures are retried
 * with the uploader's backoff until the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "error.h"
#include "json.h"
#include "run.h"
#include "runlog.h"
#include "settings.h"
#include "upload.h"
#include "util.h"

#define RUN_JSON_MAX (64u * 1024u)
#define DEFAULT_SYNC_TIMEOUT_MS 600000u

typedef struct sync_ctx {
	char *base_url;
	char *api_key;
	char *entity, *project, *run_id;
	double created_at;
	int has_created_at;
} sync_ctx;

static void sync_ctx_free(sync_ctx *c)
{
	free(c->base_url);
	if (c->api_key) {
		memset(c->api_key, 0, strlen(c->api_key));
		free(c->api_key);
	}
	free(c->entity);
	free(c->project);
	free(c->run_id);
}

/* After a failed request: sleep a backoff step and return 1 if it is worth
 * another try before the deadline, else 0. */
static int sync_retry(wb__http *h, int rc, int64_t *delay, int64_t deadline)
{
	return wb__http_retryable(h, rc) && wb__http_retry_wait(h, delay, deadline);
}

/* The key owner's entity: the one the settings file records beside that
 * key for url's origin, else the server's answer (asked until deadline). */
static int owner_entity(const char *url, const char *key, int64_t deadline, char **entity)
{
	int rc = wb__settings_entity_for(url, key, entity);
	if (rc || *entity)
		return rc;
	return wb__whoami(url, key, NULL, deadline, 1, entity);
}

int wb__owner_entity(const char *url, const char *key, int64_t timeout_ms, char **entity)
{
	*entity = NULL;
	return owner_entity(url, key, wb__mono_ms() + timeout_ms, entity);
}

/* Read run.json and resolve the server (options, environment, settings
 * file, then the base_url recorded in run.json), then the key that may go
 * to it (wb__settings_key_for). A run.json without an entity was started
 * without one while nobody could say who owns the key (offline, or the
 * server down): the entity is the key owner's, from the settings file or
 * the server (asked until deadline), exactly as wb_run_init would have chosen. */
static int sync_load(const char *run_dir, const wb_sync_options *o, int64_t deadline, sync_ctx *c)
{
	char *path = NULL, *text = NULL, *file_url = NULL;
	const char *url, *v;
	cJSON *json = NULL;
	size_t len;
	int rc;

	if ((rc = wb__asprintf(&path, "%s/" WB__RUN_JSON, run_dir)))
		return rc;
	rc = wb__file_read(path, RUN_JSON_MAX, &text, &len);
	if (rc)
		goto done;
	json = wb__json_parse(text, len);
	v = wb__json_get_str(json, "entity");
	if (!json || !wb__name_valid(wb__json_get_str(json, "run_id")) ||
	    (cJSON_GetObjectItemCaseSensitive(json, "entity") && !wb__name_valid(v)) ||
	    !wb__name_valid(wb__json_get_str(json, "project"))) {
		rc = wb__error(WB_ECORRUPT, "%s is not a valid run.json", path);
		goto done;
	}
	c->run_id = strdup(wb__json_get_str(json, "run_id"));
	c->entity = v ? strdup(v) : NULL;
	c->project = strdup(wb__json_get_str(json, "project"));
	if (!c->run_id || (v && !c->entity) || !c->project) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	{
		const cJSON *ca = cJSON_GetObjectItemCaseSensitive(json, "created_at");
		if (cJSON_IsNumber(ca)) {
			c->created_at = ca->valuedouble;
			c->has_created_at = 1;
		}
	}
	url = wb__setting_str(o->base_url, "WB_BASE_URL");
	if (!url && (rc = wb__settings_file_read(&file_url)))
		goto done;
	if (!url)
		url = file_url;
	if (!url && (v = wb__json_get_str(json, "base_url")))
		url = v;
	if (!url) {
		rc = wb__error(WB_EINVAL, "no server: set base_url, WB_BASE_URL or the settings file");
		goto done;
	}
	if (!(c->base_url = strdup(url))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = wb__base_url_check(c->base_url)))
		goto done;
	if ((rc = wb__settings_key_for(c->base_url, o->api_key, &c->api_key)))
		goto done;
	if (!c->entity && !c->api_key)
		rc = wb__error(WB_EAUTH, "%s names no entity: the run belongs to its api key's owner, and no key is "
					 "given for %s (--api-key, WB_API_KEY, wb login)", path, c->base_url);
	else if (!c->entity)
		rc = owner_entity(c->base_url, c->api_key, deadline, &c->entity);
done:
	free(file_url);
	cJSON_Delete(json);
	free(text);
	free(path);
	return rc;
}

/* 1 if no live process holds the run (its lock is free or gone). */
static int trainer_dead(const char *run_dir)
{
	char *path = NULL;
	int fd, dead;

	if (wb__asprintf(&path, "%s/" WB__RUN_LOCK, run_dir))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT;
	dead = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd); /* releases the lock if we took it */
	return dead;
}

/* Tell opts' progress callback (version 2 options) how far the upload is. */
static void sync_progress(const wb_sync_options *o, uint64_t done, uint64_t total)
{
	wb_progress p = {"uploading", done, total};

	if (o->version >= 2 && o->progress)
		o->progress(&p, o->progress_arg);
}

int wb_sync(const char *run_dir, const wb_sync_options *opts, uint64_t *out_sent)
{
	static const wb_sync_options none = WB_SYNC_OPTIONS_INIT;
	sync_ctx c = {0};
	wb__runlog_info info;
	wb__run_state st = {0};
	wb__upload up;
	wb__http *h = NULL;
	char *log_path = NULL, *body = NULL;
	int64_t deadline, delay = 0;
	uint64_t server_last = 0, start_acked, start_off;
	struct stat sb;
	int fd = -1, up_ready = 0, known, rc;

	if (out_sent)
		*out_sent = 0;
	if (!run_dir)
		return wb__error(WB_EINVAL, "run_dir must not be NULL");
	if (!opts)
		opts = &none;
	if (opts->version < 1 || opts->version > WB_SYNC_OPTIONS_VERSION)
		return wb__error(WB_EINVAL, "wb_sync_options.version %u is not supported", opts->version);
	deadline = wb__mono_ms() + (int64_t)(opts->timeout_ms ? opts->timeout_ms : DEFAULT_SYNC_TIMEOUT_MS);
	if (stat(run_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return wb__error(WB_ENOTFOUND, "%s is not a run directory", run_dir);
	if ((rc = sync_load(run_dir, opts, deadline, &c)))
		goto done;
	if ((rc = wb__asprintf(&log_path, "%s/" WB__RUNLOG_FILE, run_dir)))
		goto done;
	fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? wb__error(WB_ENOTFOUND, "%s does not exist", log_path)
				     : wb__error(WB_EIO, "cannot open %s: %s", log_path, strerror(errno));
		goto done;
	}
	if ((rc = wb__runlog_scan(fd, &info, NULL, NULL)))
		goto done;
	if ((rc = wb__http_new(&h, c.base_url, c.api_key, c.entity, c.project, c.run_id)))
		goto done;

	/* How far does the server have the run? */
	for (;;) {
		rc = wb__http_get_run(h, deadline, &st);
		wb__run_state_free(&st);
		if (rc == WB_OK || (rc == WB_ENOTFOUND && wb__http_status(h) == 404) || !sync_retry(h, rc, &delay, deadline))
			break;
	}
	known = rc == WB_OK;
	if (rc != WB_OK && rc != WB_ENOTFOUND)
		goto done;
	server_last = known ? st.last_seq : 0;

	if (!known || server_last < info.last_seq) {
		cJSON *obj = cJSON_CreateObject();
		if (!obj || (c.has_created_at && !cJSON_AddItemToObject(obj, "created_at", wb__json_double(c.created_at)))) {
			cJSON_Delete(obj);
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		rc = wb__json_print(obj, &body, NULL);
		cJSON_Delete(obj);
		if (rc)
			goto done;
		delay = 0;
		for (;;) {
			rc = wb__http_put_run(h, body, strlen(body), deadline, &st);
			wb__run_state_free(&st);
			if (rc == WB_OK || !sync_retry(h, rc, &delay, deadline))
				break;
		}
		if (rc)
			goto done;
		server_last = st.last_seq;
	}

	wb__upload_init(&up, h, fd);
	up_ready = 1;
	if ((rc = wb__upload_seek(&up, info.valid_bytes, server_last)))
		goto done;
	start_acked = up.acked;
	start_off = up.off;
	sync_progress(opts, 0, info.valid_bytes - start_off);
	delay = 0;
	while (up.off < info.valid_bytes) {
		rc = wb__upload_send(&up, info.valid_bytes, deadline);
		if (out_sent)
			*out_sent = up.acked > start_acked ? up.acked - start_acked : 0;
		sync_progress(opts, up.off > start_off ? up.off - start_off : 0, info.valid_bytes - start_off);
		if (rc == WB_OK) {
			delay = 0;
			continue;
		}
		if (!sync_retry(h, rc, &delay, deadline))
			goto done;
	}

	/* Artifacts logged but not committed (ARTIFACT without ARTIFACT_DONE): finish them now that the run is there. */
	{
		uint64_t arts = 0;
		if ((rc = wb__artifact_sync(fd, info.valid_bytes, c.base_url, c.api_key, c.entity, c.project, c.run_id,
					    deadline, &arts)))
			goto done;
	}

	if (!info.finished && trainer_dead(run_dir)) {
		delay = 0;
		for (;;) {
			rc = wb__http_finish(h, "{\"crashed\":true}", deadline);
			if (rc == WB_OK || !sync_retry(h, rc, &delay, deadline))
				break;
		}
		if (rc)
			goto done;
	}
	if (info.tail == WB__TAIL_CORRUPT)
		rc = wb__error(WB_ECORRUPT, "%s is corrupt after seq %llu: the records before it were sent", log_path,
			       (unsigned long long)info.last_seq);
done:
	if (rc == WB_ETIMEOUT || (rc && h && wb__mono_ms() >= deadline && wb__http_retryable(h, rc))) {
		char msg[WB__ERRMSG_MAX];
		snprintf(msg, sizeof msg, "%s", wb_errmsg());
		rc = wb__error(WB_ETIMEOUT, "sync of %s ran out of time: %s", run_dir, msg);
	}
	if (up_ready)
		wb__upload_free(&up);
	wb__http_free(h);
	if (fd >= 0)
		close(fd);
	free(body);
	free(log_path);
	sync_ctx_free(&c);
	return rc;
}
