/*
 * uploader.c — the uploader thread: the live run log → the server.
 *
 * The thread reads only the run log, never the ring: what it sends is
 * exactly what is on disk, and "what the server has" is one number, the
 * acknowledged seq. It opens the run with a PUT (which tells it the
 * server's last_seq, so a resumed or restarted run continues where the
 * server stopped), then loops: if the writer has published frames past the
 * cursor, send a batch (upload.c); otherwise send a heartbeat when none was
 * sent for heartbeat_ms, and sleep until the writer says it appended
 * (notify) or 200 ms pass.
 *
 * A run whose entity is not known yet (none given, and the server did not
 * answer wb_run_init's question) starts by asking who owns the key, with the
 * same backoff, on the same handle: the handle is opened on the whoami URL
 * and pointed at the run once the answer is in, so the finisher's abort
 * always reaches the request in flight.
 *
 * Failures. Network errors, timeouts, 408/429/5xx: back off (100 ms
 * doubling to 5 s, jittered so a restarted server is not hit by every run
 * at once) and resend the same batch; the server skips seqs it has. 401:
 * stop uploading, keep writing the log. Any other 4xx: one stderr line with
 * the server's message, stop uploading. In both cases the data stays in the
 * run log for `wb sync`.
 *
 * Early stopping. The answers to records and heartbeats may say
 * "should_stop": true (the run is a sweep's trial that its controller
 * stopped); the thread then sets the run's flag, which wb_run_should_stop
 * reads. No request of its own: the decision rides on the answers the
 * thread reads anyway, so it is seen as soon as the next batch or
 * heartbeat is answered. The flag is only ever set, never cleared.
 *
 * Finishing. wb_run_finish sets a deadline; from then on every request is
 * bounded by it, and when it passes the finisher aborts the request in
 * flight (curl_multi_wakeup) and joins the thread, so wb_run_finish returns on
 * time even against a blackholed server.
 */
#include "uploader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "upload.h"
#include "util.h"

#define IDLE_WAIT_MS 200
#define ACKED_WRITE_MS 1000

struct wb__uploader {
	/* Copies of the configuration. */
	char *base_url, *api_key, *entity, *project, *run_id, *log_path, *acked_path, *run_json;
	unsigned int heartbeat_ms;
	_Atomic uint64_t *written_off;
	_Atomic int *should_stop;

	int fd;
	wb__http *http;
	wb__upload up;
	pthread_t thread;
	int started;

	pthread_mutex_t mu;
	pthread_cond_t cv;       /* wakes the thread */
	pthread_cond_t done_cv;  /* wakes the finisher */
	/* Guarded by mu. */
	int kicked;
	int finishing;
	uint64_t final_seq;
	int64_t deadline;
	int stop;
	int exited;
	uint64_t acked;
	int error;
	char errmsg[WB__ERRMSG_MAX];
	char lasterr[WB__ERRMSG_MAX];  /* the last transient failure, for the timeout message */

	uint64_t acked_written;  /* thread only: value last written to the acked file */
	int64_t acked_written_at;
};

void wb__uploader_notify(void *arg)
{
	wb__uploader *u = arg;

	pthread_mutex_lock(&u->mu);
	u->kicked = 1;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

/* The deadline of the next request: the request limit, or the finish
 * deadline when that is sooner. 0 when the thread must stop. */
static int64_t call_deadline(wb__uploader *u)
{
	int64_t d = wb__mono_ms() + WB__HTTP_TIMEOUT_MS;

	pthread_mutex_lock(&u->mu);
	if (u->stop)
		d = 0;
	else if (u->finishing && u->deadline < d)
		d = u->deadline;
	pthread_mutex_unlock(&u->mu);
	return d;
}

/* Sleep until notified, stopped, or ms pass. 0, or 1 when stopping. */
static int sleep_ms(wb__uploader *u, int64_t ms)
{
	int64_t until = wb__mono_ms() + ms;
	int stop;

	pthread_mutex_lock(&u->mu);
	while (!u->kicked && !u->stop)
		if (wb__cond_wait_until(&u->cv, &u->mu, until) == ETIMEDOUT)
			break;
	u->kicked = 0;
	stop = u->stop;
	pthread_mutex_unlock(&u->mu);
	return stop;
}

/* Sleep through a backoff step, or the server's Retry-After if longer (not
 * woken by the writer: more frames do not make the server reachable; the
 * finish deadline stops it). 1 when stopping. */
static int backoff(wb__uploader *u, int64_t *cur)
{
	int64_t until = wb__mono_ms() + wb__http_backoff(u->http, cur);
	int stop;

	pthread_mutex_lock(&u->mu);
	while (!u->stop)
		if (wb__cond_wait_until(&u->cv, &u->mu, until) == ETIMEDOUT)
			break;
	stop = u->stop;
	pthread_mutex_unlock(&u->mu);
	return stop;
}

static void write_acked(wb__uploader *u, uint64_t acked, int force)
{
	char text[32];
	int64_t now = wb__mono_ms();

	if (acked == u->acked_written || (!force && now - u->acked_written_at < ACKED_WRITE_MS))
		return;
	snprintf(text, sizeof text, "%" PRIu64 "\n", acked);
	/* A hint for people and tools; the server's last_seq is the truth. */
	if (wb__file_write_atomic(u->acked_path, text, strlen(text), 0) == WB_OK) {
		u->acked_written = acked;
		u->acked_written_at = now;
	}
}

static void publish_acked(wb__uploader *u, uint64_t acked)
{
	pthread_mutex_lock(&u->mu);
	u->acked = acked;
	pthread_cond_broadcast(&u->done_cv);
	pthread_mutex_unlock(&u->mu);
	write_acked(u, acked, 0);
}

/* Stop for good after rc: remember it and say it once. */
static void fatal(wb__uploader *u, int rc)
{
	pthread_mutex_lock(&u->mu);
	u->error = rc;
	snprintf(u->errmsg, sizeof u->errmsg, "%s", wb_errmsg());
	pthread_mutex_unlock(&u->mu);
	wb__warn("upload stopped: %s; the run log stays on disk for `wb sync`", wb_errmsg());
}

/* 1 if rc is worth another try after a backoff (and remember why). */
static int transient(wb__uploader *u, int rc)
{
	if (rc != WB_ETIMEOUT && !wb__http_retryable(u->http, rc))
		return 0;
	pthread_mutex_lock(&u->mu);
	snprintf(u->lasterr, sizeof u->lasterr, "%s", wb_errmsg());
	pthread_mutex_unlock(&u->mu);
	return 1;
}

/* Learn the run's entity (the key owner's) and point the handle at the
 * run. WB_OK, or a fatal error, or WB_ETIMEOUT when told to stop first. */
static int learn_entity(wb__uploader *u)
{
	int64_t delay = 0;

	for (;;) {
		int64_t deadline = call_deadline(u);
		int rc;

		if (!deadline)
			return WB_ETIMEOUT;
		rc = wb__http_whoami(u->http, deadline, &u->entity);
		if (rc == WB_OK)
			return wb__http_run_url(u->http, u->base_url, u->entity, u->project, u->run_id);
		if (!transient(u, rc))
			return rc;
		if (backoff(u, &delay))
			return WB_ETIMEOUT;
	}
}

/* PUT the run and position the cursor. WB_OK, or a fatal error, or
 * WB_ETIMEOUT when told to stop first. */
static int open_run(wb__uploader *u)
{
	int64_t delay = 0;

	for (;;) {
		wb__run_state st;
		int64_t deadline = call_deadline(u);
		int rc;

		if (!deadline)
			return WB_ETIMEOUT;
		rc = wb__http_put_run(u->http, u->run_json, strlen(u->run_json), deadline, &st);
		wb__run_state_free(&st);
		if (rc == WB_OK) {
			rc = wb__upload_seek(&u->up, atomic_load(u->written_off), st.last_seq);
			if (rc == WB_OK)
				publish_acked(u, st.last_seq);
			return rc;
		}
		if (!transient(u, rc))
			return rc;
		if (backoff(u, &delay))
			return WB_ETIMEOUT;
	}
}

/* Pass a "should_stop": true seen in an answer on to the run. Relaxed: the
 * flag publishes nothing else, and the reader only needs to see it soon. */
static void publish_stop(wb__uploader *u, int said)
{
	if (said && u->should_stop)
		atomic_store_explicit(u->should_stop, 1, memory_order_relaxed);
}

static void *uploader_main(void *arg)
{
	wb__uploader *u = arg;
	int64_t delay = 0, last_contact;
	int rc;

	rc = u->entity ? WB_OK : learn_entity(u);
	if (rc == WB_OK)
		rc = open_run(u);
	if (rc) {
		if (rc != WB_ETIMEOUT)
			fatal(u, rc);
		goto out;
	}
	last_contact = wb__mono_ms();
	for (;;) {
		uint64_t end = atomic_load_explicit(u->written_off, memory_order_acquire);
		int64_t deadline = call_deadline(u), now;
		int finishing, done;

		if (!deadline)
			break;
		if (u->up.off < end) {
			rc = wb__upload_send(&u->up, end, deadline);
			publish_stop(u, u->up.should_stop);
			if (rc == WB_OK) {
				delay = 0;
				last_contact = wb__mono_ms();
				publish_acked(u, u->up.acked);
				continue;
			}
			if (!transient(u, rc)) {
				fatal(u, rc);
				break;
			}
			if (backoff(u, &delay))
				break;
			continue;
		}
		pthread_mutex_lock(&u->mu);
		finishing = u->finishing;
		done = u->finishing && u->acked >= u->final_seq;
		pthread_mutex_unlock(&u->mu);
		if (done)
			break;
		now = wb__mono_ms();
		if (!finishing && now - last_contact >= (int64_t)u->heartbeat_ms) {
			int said = 0;
			rc = wb__http_heartbeat(u->http, deadline, &said);
			publish_stop(u, said);
			last_contact = wb__mono_ms();
			if (rc == WB_EAUTH) {
				fatal(u, rc);
				break;
			}
			continue;
		}
		{
			int64_t wait = IDLE_WAIT_MS;
			int64_t hb = last_contact + (int64_t)u->heartbeat_ms - now;
			if (!finishing && hb < wait)
				wait = hb > 0 ? hb : 0;
			if (sleep_ms(u, wait))
				break;
		}
	}
out:
	pthread_mutex_lock(&u->mu);
	u->exited = 1;
	pthread_cond_broadcast(&u->done_cv);
	pthread_mutex_unlock(&u->mu);
	write_acked(u, u->up.acked, 1);
	return NULL;
}

static void uploader_free(wb__uploader *u)
{
	if (!u)
		return;
	wb__upload_free(&u->up);
	wb__http_free(u->http);
	if (u->fd >= 0)
		close(u->fd);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	pthread_cond_destroy(&u->done_cv);
	free(u->base_url);
	if (u->api_key) {
		memset(u->api_key, 0, strlen(u->api_key));
		free(u->api_key);
	}
	free(u->entity);
	free(u->project);
	free(u->run_id);
	free(u->log_path);
	free(u->acked_path);
	free(u->run_json);
	free(u);
}

int wb__uploader_start(wb__uploader **out, const wb__uploader_config *cfg)
{
	wb__uploader *u;
	int rc;

	*out = NULL;
	u = calloc(1, sizeof *u);
	if (!u)
		return wb__error(WB_ENOMEM, "out of memory");
	u->fd = -1;
	if (pthread_mutex_init(&u->mu, NULL) || wb__cond_init(&u->cv) || wb__cond_init(&u->done_cv)) {
		free(u);
		return wb__error(WB_ENOMEM, "cannot initialise the uploader's locks");
	}
	u->base_url = wb__strdup(cfg->base_url);
	u->api_key = wb__strdup(cfg->api_key);
	u->entity = cfg->entity ? wb__strdup(cfg->entity) : NULL;
	u->project = wb__strdup(cfg->project);
	u->run_id = wb__strdup(cfg->run_id);
	u->log_path = wb__strdup(cfg->log_path);
	u->acked_path = wb__strdup(cfg->acked_path);
	u->run_json = wb__strdup(cfg->run_json);
	u->heartbeat_ms = cfg->heartbeat_ms;
	u->written_off = cfg->written_off;
	u->should_stop = cfg->should_stop;
	if (!u->base_url || (cfg->api_key && !u->api_key) || (cfg->entity && !u->entity) || !u->project || !u->run_id ||
	    !u->log_path || !u->acked_path || !u->run_json) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto fail;
	}
	u->fd = open(u->log_path, O_RDONLY | O_CLOEXEC);
	if (u->fd < 0) {
		rc = wb__error(WB_EIO, "cannot open %s: %s", u->log_path, strerror(errno));
		goto fail;
	}
	rc = u->entity ? wb__http_new(&u->http, u->base_url, u->api_key, u->entity, u->project, u->run_id)
		       : wb__whoami_open(&u->http, u->base_url, u->api_key, NULL);
	if (rc || (rc = wb__http_set_ca_file(u->http, cfg->ca_file)))
		goto fail;
	wb__upload_init(&u->up, u->http, u->fd);
	u->acked_written_at = wb__mono_ms();
	if ((rc = wb__thread_start(&u->thread, uploader_main, u, "uploader")))
		goto fail;
	u->started = 1;
	*out = u;
	return WB_OK;
fail:
	uploader_free(u);
	return rc;
}

int wb__uploader_finish(wb__uploader *u, uint64_t final_seq, int64_t deadline)
{
	uint64_t acked;
	int rc = WB_OK, err;
	char msg[WB__ERRMSG_MAX];

	if (!u)
		return WB_OK;
	pthread_mutex_lock(&u->mu);
	u->finishing = 1;
	u->final_seq = final_seq;
	u->deadline = deadline;
	u->kicked = 1;
	pthread_cond_signal(&u->cv);
	while (!u->exited && u->acked < final_seq)
		if (wb__cond_wait_until(&u->done_cv, &u->mu, deadline) == ETIMEDOUT)
			break;
	acked = u->acked;
	u->stop = 1;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	wb__http_abort(u->http);
	pthread_join(u->thread, NULL);

	err = u->error;
	snprintf(msg, sizeof msg, "%s", err ? u->errmsg : u->lasterr);
	if (acked >= final_seq)
		rc = WB_OK;
	else if (err)
		rc = wb__error_set(err, msg);
	else
		rc = wb__error(WB_ETIMEOUT, "the server acknowledged seq %llu of %llu before the finish timeout%s%s",
			       (unsigned long long)acked, (unsigned long long)final_seq, msg[0] ? "; last error: " : "",
			       msg);
	uploader_free(u);
	return rc;
}
